// Command hub is the weather mesh hub: it subscribes to every station's
// readings on an MQTT broker, stores them per slot and derives each
// slot's dew point, logging every dew point it computes.
//
//	go run ./examples/weather-mesh/hub --broker mqtt://127.0.0.1:1883 [--slots 64]
//
// Ctrl-C shuts it down gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"syscall"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(exitCode(run(ctx, os.Args[1:], os.Stderr)))
}

// usageError is a bad command line.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }

// exitCode prints err in one line and returns the process's exit code:
// 0 for success and -help, 2 for a bad command line, 1 otherwise.
func exitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintln(os.Stderr, "hub:", err)
		return 2
	default:
		fmt.Fprintln(os.Stderr, "hub:", err)
		return 1
	}
}

// run parses args, wires the hub and runs it until ctx ends. Logs go to
// stderr.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("hub", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by exitCode
	broker := fs.String("broker", "mqtt://127.0.0.1:1883", "MQTT broker `URL`: mqtt[s]://[user[:password]@]host[:port]")
	slots := fs.Int("slots", mesh.DefaultSlots, "size of the slot pool: records for slots 0..`n`-1")
	verbose := fs.Bool("v", false, "log debug messages")
	usage := func() {
		fmt.Fprintln(stderr, "usage: hub [--broker URL] [--slots n] [-v]")
		fs.SetOutput(stderr)
		fs.PrintDefaults()
	}
	fs.Usage = func() {} // Parse calls it on every error; only -help shows it
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	d, err := mesh.HubDialer(*broker)
	if err != nil {
		return usageError{fmt.Errorf("--broker: %w", err)}
	}
	if *slots < 1 || *slots > contracts.MaxSlot+1 {
		return usageError{fmt.Errorf("--slots %d: want 1 to %d", *slots, contracts.MaxSlot+1)}
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	db := aimdb.New(&aimdb.Options{
		Connectors: map[string]connector.Dialer{"mqtt": d},
		Logger:     log,
	})
	if err := mesh.Hub(db, *slots); err != nil {
		return err
	}
	for n := range *slots {
		dew, err := aimdb.Lookup(db, contracts.DewPointKey(n))
		if err != nil {
			return err
		}
		dew.Tap(func(ctx context.Context, s *aimdb.Subscription[contracts.DewPoint]) error {
			for v, err := range s.All(ctx) {
				if err == nil {
					log.Info("dew point", "slot", n, "celsius", math.Round(v.Celsius*100)/100, "timestamp", v.Timestamp)
				}
			}
			return nil
		}, aimdb.Named("log"))
	}

	// ─── Remote access ───────────────────────────────────────────────
	// Remote access servers (AimX over TCP 127.0.0.1:7433 and a Unix
	// socket, the dashboard's WebSocket at /ws) attach here, before Run:
	// every hub record was opened with RemoteAccess, so a server built on
	// db serves them all, read-only. Package aimx is not ready yet.
	// ─────────────────────────────────────────────────────────────────

	log.Info("weather hub running", "broker", d.String(), "client_id", d.ClientID(), "slots", *slots)
	return db.Run(ctx)
}
