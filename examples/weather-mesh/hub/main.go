// Command hub is the weather mesh hub: it subscribes to every station's
// readings on an MQTT broker, stores them per slot and derives each
// slot's dew point, logging every dew point it computes. It serves its
// records read-only over AimX (default tcp://127.0.0.1:7433) and the
// live dashboard with the AimX WebSocket on http://127.0.0.1:8080/.
//
//	go run ./examples/weather-mesh/hub --broker mqtt://127.0.0.1:1883 [--slots 64] [--aimx unix:///tmp/hub.sock] [--http :8080]
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
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/websocket"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/dashboard"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
)

// endpoints is a repeatable flag.
type endpoints []string

func (e *endpoints) String() string     { return strings.Join(*e, ",") }
func (e *endpoints) Set(v string) error { *e = append(*e, v); return nil }

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
	var aimxEndpoints endpoints
	fs.Var(&aimxEndpoints, "aimx", "serve AimX on this `endpoint`, tcp://host:port or unix:///path (repeatable; default tcp://127.0.0.1:7433; \"off\" serves none)")
	httpAddr := fs.String("http", "127.0.0.1:8080", "serve the dashboard and the AimX WebSocket (/ws) on this `address`; empty serves none")
	verbose := fs.Bool("v", false, "log debug messages")
	usage := func() {
		fmt.Fprintln(stderr, "usage: hub [--broker URL] [--slots n] [--aimx endpoint]... [--http address] [-v]")
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

	// Remote access: AimX for the aimdb CLI and MCP server, and the
	// dashboard with the AimX WebSocket. Every hub record was opened with
	// RemoteAccess; the servers are read-only.
	if len(aimxEndpoints) == 0 {
		aimxEndpoints = endpoints{"tcp://127.0.0.1:7433"}
	}
	if len(aimxEndpoints) == 1 && aimxEndpoints[0] == "off" {
		aimxEndpoints = nil
	}
	// Browsers (over /ws) and AimX clients share the server's connections.
	srv := aimx.NewServer(db, &aimx.ServerOptions{MaxConnections: 64})
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	failed := make(chan error, len(aimxEndpoints)+1)
	for _, ep := range aimxEndpoints {
		ln, f, err := aimx.Listen(ep)
		if err != nil {
			return usageError{fmt.Errorf("--aimx: %w", err)}
		}
		wg.Go(func() { failed <- srv.Serve(ctx, ln, f) })
		log.Info("serving AimX", "endpoint", ep)
	}
	if *httpAddr != "" {
		ln, err := net.Listen("tcp", *httpAddr)
		if err != nil {
			return usageError{fmt.Errorf("--http: %w", err)}
		}
		ws := websocket.NewHandler(srv, &websocket.HandlerOptions{MaxConnections: 48})
		mux := ws.Mux()
		mux.Handle("/", dashboard.Handler())
		hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		wg.Go(func() {
			errc := make(chan error, 1)
			go func() { errc <- hs.Serve(ln) }()
			select {
			case err := <-errc:
				failed <- fmt.Errorf("--http: %w", err)
			case <-ctx.Done():
			}
			ws.Close()
			sctx, stop := context.WithTimeout(context.Background(), time.Second)
			defer stop()
			_ = hs.Shutdown(sctx)
		})
		log.Info("serving the dashboard", "url", "http://"+ln.Addr().String()+"/")
	}
	go func() {
		select {
		case err := <-failed:
			if err != nil {
				log.Error("remote access failed; stopping", "err", err)
				cancel()
			}
		case <-ctx.Done():
		}
	}()

	log.Info("weather hub running", "broker", d.String(), "client_id", d.ClientID(), "slots", *slots)
	return db.Run(ctx)
}
