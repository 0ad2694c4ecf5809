// Package cmdline is the command-line plumbing the weather mesh's
// programs share: exit statuses, one-line errors, flag parsing with a
// -help that prints the usage, and the log.
package cmdline

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// A UsageError is a mistake on the command line: exit status 2.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Usage marks err as a command-line mistake.
func Usage(err error) error { return UsageError{err} }

// Main runs run with the program's arguments and a context that ends on
// Ctrl-C or SIGTERM, prints its error as one line prefixed with name, and
// exits: 0 for success and -help, 2 for a UsageError, 1 otherwise.
func Main(name string, run func(ctx context.Context, args []string, stderr io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(ExitCode(name, err, os.Stderr))
}

// ExitCode prints err to w as one line prefixed with name, unless it is
// nil or flag.ErrHelp, and returns the exit status Main exits with.
func ExitCode(name string, err error, w io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(UsageError)):
		fmt.Fprintln(w, name+":", err)
		return 2
	default:
		fmt.Fprintln(w, name+":", err)
		return 1
	}
}

// Parse parses args with fs. -help prints synopsis and the flags to
// stderr and returns flag.ErrHelp; a bad flag or a positional argument is
// a UsageError, reported once by Main (Parse prints nothing for it).
func Parse(fs *flag.FlagSet, args []string, synopsis string, stderr io.Writer) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // flag calls it on every error; only -help shows it
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "usage:", synopsis)
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return err
		}
		return Usage(err)
	}
	if fs.NArg() > 0 {
		return Usage(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	return nil
}

// Logger returns a text logger writing to w at Info, or Debug when
// verbose.
func Logger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
