// Package doccheck holds no code: its test keeps the commands the
// repository's Markdown files show in step with the programs. It reads
// every shell code block (and every "$ " line and inline `aimdb …` or
// `go run ./…` span), checks that each program, script and package path
// named exists and that each flag given to one of the repository's
// programs is in that program's --help, and runs the commands that need
// no network, daemon or terminal (--help, aimdb version and completion,
// the hello-* examples).
package doccheck
