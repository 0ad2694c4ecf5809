//go:build !(tinygo && lm3s6965)

package main

import (
	"io"
	"os"

	"github.com/aimdb-go/aimdb"
)

// uart is standard input and output on a computer: the firmware can be
// run and linked without a chip (for example under socat to a pty).
func uart() io.ReadWriter {
	return struct {
		io.Reader
		io.Writer
	}{os.Stdin, os.Stdout}
}

func clock() aimdb.Clock { return aimdb.SystemClock{} }

// logf prints a line on standard error.
func logf(line string) { println(line) }
