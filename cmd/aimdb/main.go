// Command aimdb operates a running AimDB data plane over AimX: it lists,
// reads, writes and drains records, watches live updates, draws the
// dependency graph, and serves all of it to AI assistants as an MCP
// server.
//
//	aimdb --connect tcp://127.0.0.1:7433 record list
//	aimdb watch 'station.*.temperature'
//	aimdb graph --format mermaid
//	aimdb mcp --allow-write
//	aimdb instance list
//
// The endpoint comes from --connect, else the AIMDB_CONNECT environment
// variable, else tcp://127.0.0.1:7433. Errors are one line on stderr;
// the exit status is 1 for a failed operation and 2 for a usage mistake.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/aimdb-go/aimdb/aimx"
)

// DefaultEndpoint is the endpoint used when neither --connect nor
// AIMDB_CONNECT names one.
const DefaultEndpoint = "tcp://127.0.0.1:7433"

// extraCommands are constructors of further subcommands, appended to by
// other files of this package in their init functions (demo.go).
var extraCommands []func(a *app) *cobra.Command

// app is the state every command shares: the global flags and the
// process's streams and environment.
type app struct {
	stdout, stderr io.Writer
	env            func(string) string
	now            func() time.Time
	// terminal reports whether stdout is an interactive terminal, and its
	// size when it is.
	terminal func() (ok bool, width, height int)

	connect string
	token   string
	timeout time.Duration
	output  string
}

// json reports whether -o json was asked for.
func (a *app) json() bool { return a.output == "json" }

// A usageError is a mistake on the command line: exit status 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit status. Errors
// are printed to stderr as one line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) string) int {
	root := newRootCmd(stdout, stderr, env)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "aimdb: "+errorLine(err, root.PersistentFlags().Lookup("connect").Value.String()))
	if _, ok := errors.AsType[*usageError](err); ok {
		return 2
	}
	return 1
}

// newRootCmd returns the aimdb command tree writing to stdout and stderr
// and reading the environment through env.
func newRootCmd(stdout, stderr io.Writer, env func(string) string) *cobra.Command {
	a := &app{stdout: stdout, stderr: stderr, env: env, now: time.Now, terminal: fileTerminal(stdout)}
	root := &cobra.Command{
		Use:   "aimdb",
		Short: "Operate a running AimDB data plane over AimX",
		Long: `aimdb operates a running AimDB data plane over AimX: it lists, reads, writes
and drains records, watches live updates, draws the dependency graph and
serves all of it to AI assistants as an MCP server.

The endpoint is unix:///path (or a bare path), tcp://host:port or
serial:///dev/tty…?baud=N.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q (see aimdb --help)", args[0])
			}
			return cmd.Help()
		},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if a.output != "table" && a.output != "json" {
				return usagef("--output %q: want table or json", a.output)
			}
			if a.timeout <= 0 {
				return usagef("--timeout %v: want a positive duration", a.timeout)
			}
			if _, err := aimx.ParseEndpoint(a.connect); err != nil {
				return &usageError{fmt.Errorf("--connect: %w", err)}
			}
			return nil
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usagef("%v (see %s --help)", err, c.CommandPath())
	})
	connect := env("AIMDB_CONNECT")
	if connect == "" {
		connect = DefaultEndpoint
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.connect, "connect", connect, "AimX endpoint: unix:///path, tcp://host:port or serial:///dev/tty…; $AIMDB_CONNECT sets the default")
	pf.StringVar(&a.token, "token", "", "auth token sent in hello (default $AIMDB_TOKEN)")
	pf.DurationVar(&a.timeout, "timeout", 5*time.Second, "time limit for connecting and for each request")
	pf.StringVarP(&a.output, "output", "o", "table", "output format: table or json")
	root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))

	root.AddCommand(newRecordCmd(a), newWatchCmd(a), newGraphCmd(a), newSchemaCmd(a), newMCPCmd(a), newInstanceCmd(a), newVersionCmd(a))
	for _, f := range extraCommands {
		root.AddCommand(f(a))
	}
	return root
}

// dial connects to the endpoint. The client reconnects after a loss, so
// that a watch survives a restart of the server; every call is bounded by
// --timeout.
func (a *app) dial(ctx context.Context) (*aimx.Client, error) {
	return a.dialTo(ctx, a.connect)
}

// dialTo connects to endpoint as dial does.
func (a *app) dialTo(ctx context.Context, endpoint string) (*aimx.Client, error) {
	token := a.token
	if token == "" {
		token = a.env("AIMDB_TOKEN") // not the flag's default: --help would print it
	}
	c, err := aimx.Dial(ctx, endpoint, &aimx.ClientOptions{
		Token:       token,
		Name:        "aimdb-cli",
		DialTimeout: a.timeout,
	})
	if errors.Is(err, aimx.ErrDenied) {
		return nil, fmt.Errorf("cannot connect to %s: the server refused the token (denied); pass --token or set AIMDB_TOKEN", endpoint)
	}
	return c, err
}

// withClient runs f with a connected client and a context bounded by
// --timeout, then closes the client.
func (a *app) withClient(cmd *cobra.Command, f func(ctx context.Context, c *aimx.Client) error) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), a.timeout)
	defer cancel()
	c, err := a.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return f(ctx, c)
}

// args returns a validator for exactly the named positional arguments.
func args(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return usagef("%s: want %d argument(s) %v, got %d (see %s --help)", cmd.CommandPath(), len(names), names, len(args), cmd.CommandPath())
		}
		return nil
	}
}
