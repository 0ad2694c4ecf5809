// Command hub is the weather mesh hub: it subscribes to every station's
// readings on an MQTT broker, stores them per station (a record family
// instance created on the station's first reading) and derives each
// station's dew point, logging every dew point it computes. It serves its
// records read-only over AimX (default tcp://127.0.0.1:7433), and the
// live dashboard with the AimX WebSocket and Prometheus metrics
// (/metrics) on http://127.0.0.1:8080/.
//
//	go run ./examples/weather-mesh/hub --broker mqtt://127.0.0.1:1883 [--max-stations 20000] [--aimx unix:///tmp/hub.sock] [--http :8080]
//	go run ./examples/weather-mesh/hub --broker nats://127.0.0.1:4222 --group hubs --aimx tcp://127.0.0.1:7434 --http ""
//	go run ./examples/weather-mesh/hub --mcu 'serial:///dev/ttyACM0?baud=115200'
//
// With --mcu the hub also links the stations a device serves over AimX
// itself, such as the station firmware on a UART
// (examples/station-mcu/firmware): their records join the families
// (station.mcu1.temperature, …), their dew points are derived, and on
// MQTT their readings are published to station/<id>/<kind> for the
// mesh's other subscribers. The dashboard marks a station that arrives
// over a UART.
//
// On NATS the hub reads the JetStream stream WEATHER (subjects
// station.<n>.temperature and station.<n>.humidity, created if missing);
// hubs started with the same --group share its messages, each stored by
// one hub and acknowledged once stored.
//
// Ctrl-C shuts it down gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"strings"
	"sync"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/websocket"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/dashboard"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/internal/cmdline"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
	"github.com/aimdb-go/aimdb/metrics"
)

// endpoints is a repeatable flag.
type endpoints []string

func (e *endpoints) String() string     { return strings.Join(*e, ",") }
func (e *endpoints) Set(v string) error { *e = append(*e, v); return nil }

func main() { cmdline.Main("hub", run) }

// run parses args, wires the hub and runs it until ctx ends. Logs go to
// stderr.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("hub", flag.ContinueOnError)
	broker := fs.String("broker", "mqtt://127.0.0.1:1883", "broker `URL`: mqtt[s]://[user[:password]@]host[:port], nats://host[:port] (NATS JetStream) or kafka://host[:port][,host[:port]…]")
	group := fs.String("group", "", "share the stations with every hub of this group `name` (NATS, Kafka)")
	maxStations := fs.Int("max-stations", mesh.DefaultMaxStations, "hold at most `n` stations; readings of more are dropped and counted")
	var aimxEndpoints endpoints
	fs.Var(&aimxEndpoints, "aimx", "serve AimX on this `endpoint`, tcp://host:port or unix:///path (repeatable; default tcp://127.0.0.1:7433; \"off\" serves none)")
	httpAddr := fs.String("http", "127.0.0.1:8080", "serve the dashboard, the AimX WebSocket (/ws) and Prometheus metrics (/metrics) on this `address`; empty serves none")
	var allowHosts endpoints
	fs.Var(&allowHosts, "allow-host", "on a loopback --http address, also answer requests for this host `name` (a pattern: *.lan; repeatable); localhost and IP addresses always work")
	verbose := fs.Bool("v", false, "log debug messages")
	codecName := fs.String("codec", "json", "the stations' payloads: `json` or postcard")
	var mcus endpoints
	fs.Var(&mcus, "mcu", "link the station records a device serves over AimX at this `endpoint`: serial:///dev/ttyX?baud=115200 (the station firmware on a UART), tcp://host:port or unix:///path (repeatable)")
	if err := cmdline.Parse(fs, args, "hub [--broker URL] [--group name] [--max-stations n] [--aimx endpoint]... [--http address] [--allow-host name]... [--codec json|postcard] [--mcu endpoint]... [-v]", stderr); err != nil {
		return err
	}
	wire, err := mesh.ParseWire(*codecName)
	if err != nil {
		return cmdline.Usage(fmt.Errorf("--codec: %w", err))
	}
	engine, d, err := mesh.HubConnector(*broker, *group)
	if err != nil {
		return cmdline.Usage(fmt.Errorf("--broker: %w", err))
	}
	if *group != "" && engine == mesh.MQTT {
		return cmdline.Usage(fmt.Errorf("--group %s: needs a nats:// or kafka:// broker", *group))
	}
	if *maxStations < 1 {
		return cmdline.Usage(fmt.Errorf("--max-stations %d: want at least 1", *maxStations))
	}
	log := cmdline.Logger(stderr, *verbose)

	connectors := map[string]connector.Dialer{string(engine): d}
	var mirrors []string
	for i, ep := range mcus {
		scheme, md, err := mesh.MirrorConnector(ep, i+1)
		if err != nil {
			return cmdline.Usage(fmt.Errorf("--mcu: %w", err))
		}
		connectors[scheme] = md
		mirrors = append(mirrors, scheme)
		log.Info("linking a device's stations", "endpoint", ep, "scheme", scheme)
	}
	db := aimdb.New(&aimdb.Options{Connectors: connectors, Logger: log})
	hub, err := mesh.Hub(db, &mesh.HubOptions{MaxStations: *maxStations, Wire: wire, Engine: engine, Mirrors: mirrors})
	if err != nil {
		return err
	}
	hub.DewPoint.Tap(func(ctx context.Context, s *aimdb.FamilySubscription[contracts.DewPoint]) error {
		for {
			inst, v, err := s.Recv(ctx)
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, aimdb.ErrClosed) {
					return nil
				}
				continue
			}
			log.Info("dew point", "station", inst.Captures["id"], "celsius", math.Round(float64(v.Celsius)*100)/100, "timestamp", v.Timestamp)
		}
	}, aimdb.Named("log"))

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
	srv := aimx.NewServer(db, &aimx.ServerOptions{Name: "weather-hub", MaxConnections: 64, Contracts: contracts.All})
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
			return cmdline.Usage(fmt.Errorf("--aimx: %w", err))
		}
		wg.Go(func() { failed <- srv.Serve(ctx, ln, f) })
		log.Info("serving AimX", "endpoint", ep)
	}
	if *httpAddr != "" {
		ln, err := net.Listen("tcp", *httpAddr)
		if err != nil {
			return cmdline.Usage(fmt.Errorf("--http: %w", err))
		}
		// Serve adds the HTTP timeouts and, on loopback, refuses
		// foreign Host names (DNS rebinding) on every route.
		ws := websocket.NewHandler(srv, &websocket.HandlerOptions{MaxConnections: 48, AllowedHosts: allowHosts})
		mux := ws.Mux()
		mux.Handle("/", dashboard.Handler())
		mux.Handle("GET /metrics", metrics.Handler(db, &metrics.Options{Server: srv}))
		wg.Go(func() {
			if err := ws.Serve(ctx, ln); err != nil {
				failed <- fmt.Errorf("--http: %w", err)
			}
		})
		log.Info("serving the dashboard", "url", "http://"+ln.Addr().String()+"/", "metrics", "http://"+ln.Addr().String()+"/metrics")
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

	log.Info("weather hub running", "broker", fmt.Sprint(d), "client_id", mesh.ClientName(d), "group", *group, "max_stations", *maxStations)
	return db.Run(ctx)
}
