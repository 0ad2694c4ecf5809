package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/mqtt/mqttbroker"
	"github.com/aimdb-go/aimdb/connector/websocket"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/dashboard"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
	"github.com/aimdb-go/aimdb/metrics"
	"github.com/aimdb-go/aimdb/persist"
)

func init() { extraCommands = append(extraCommands, newDemoCmd) }

// demoConfig is the demo's command line.
type demoConfig struct {
	stations   int
	interval   time.Duration
	mqttListen string   // the embedded broker's address, when broker is empty
	broker     string   // an external broker's URL
	aimx       []string // AimX endpoints
	http       string   // the dashboard's address
	allowHosts []string // Host names the dashboard answers on loopback, besides localhost and IPs
	data       string   // the directory of the hub's history; memory only when empty
	verbose    bool
	codec      string // the stations' payloads on MQTT: json or postcard
	mcu        bool   // also boot the station firmware in qemu and link it over its UART
	mcuELF     string // a built firmware to boot instead of building one
}

func newDemoCmd(a *app) *cobra.Command {
	cfg := demoConfig{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the weather mesh: stations, an MQTT broker, a hub and a live dashboard",
		Long: `demo runs the weather mesh in one process, with no external service:
an embedded MQTT broker, simulated weather stations (each its own DB)
publishing temperature and humidity to it, and the hub DB that subscribes,
migrates old payloads, rejects bad ones and joins each station's dew point.
The hub keeps the history of every reading: in memory, or with --data DIR
in DIR/aimdb.db (SQLite), or --data postgres://… in PostgreSQL, so that a
restart keeps it. The hub is served over AimX (for aimdb and its MCP server) and, with a
live dashboard, over HTTP and WebSocket. Ctrl-C stops it.

With --mcu a microcontroller joins: the station firmware
(examples/station-mcu/firmware) is built with TinyGo (once, into the user
cache; run from a checkout) and booted on an emulated TI LM3S6965 in
qemu-system-arm, serving station mcu1 over AimX on its UART, which the hub
links with serial://. Without TinyGo or qemu-system-arm one line says what
to install and the rest of the demo runs.`,
		Example: `  aimdb demo
  aimdb demo --stations 5 --interval 500ms
  aimdb demo --broker mqtt://127.0.0.1:1883 --aimx unix:///tmp/aimdb.sock
  aimdb demo --data ~/.local/share/aimdb-demo
  aimdb demo --mcu`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.check(); err != nil {
				return err
			}
			level := slog.LevelWarn
			if cfg.verbose {
				level = slog.LevelInfo
			}
			log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
			d, err := startDemo(cmd.Context(), cfg, log)
			if err != nil {
				return err
			}
			d.banner(a.stdout)
			return d.wait()
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.stations, "stations", 3, "number of simulated stations, in slots 1..n")
	f.DurationVar(&cfg.interval, "interval", time.Second, "time between a station's readings")
	f.StringVar(&cfg.mqttListen, "mqtt-listen", "127.0.0.1:1883", "address of the embedded MQTT broker")
	f.StringVar(&cfg.broker, "broker", "", "use the external MQTT broker at this URL instead of the embedded one")
	f.StringArrayVar(&cfg.aimx, "aimx", []string{DefaultEndpoint}, "AimX endpoint to serve the hub on (repeatable): tcp://host:port or unix:///path")
	f.StringVar(&cfg.http, "http", "127.0.0.1:8080", "address of the dashboard and the AimX WebSocket (/ws)")
	f.StringArrayVar(&cfg.allowHosts, "allow-host", nil, "on a loopback --http address, also answer requests for this host name (a pattern: *.lan; repeatable); localhost and IP addresses always work")
	f.StringVar(&cfg.data, "data", "", "keep the hub's history in DIR/aimdb.db (SQLite), or in PostgreSQL for a postgres:// URL; without it, history is in memory only")
	f.BoolVarP(&cfg.verbose, "verbose", "v", false, "log the hub's and stations' activity")
	f.StringVar(&cfg.codec, "codec", "json", "the stations' payloads on MQTT: json or postcard (upstream's binary contracts)")
	f.BoolVar(&cfg.mcu, "mcu", false, "also run station mcu1 as firmware on an emulated microcontroller (TinyGo, qemu-system-arm), linked by the hub over its UART")
	f.StringVar(&cfg.mcuELF, "mcu-firmware", "", "with --mcu, boot this firmware `file` (an ELF built from "+mcuFirmwareDir+") instead of building one")
	return cmd
}

func (c demoConfig) check() error {
	switch {
	case c.stations < 0 || c.stations > min(contracts.MaxSlot, mesh.DefaultMaxStations):
		return usagef("--stations %d: want 0 to %d", c.stations, min(contracts.MaxSlot, mesh.DefaultMaxStations))
	case c.interval <= 0:
		return usagef("--interval %v: want a positive duration", c.interval)
	case len(c.aimx) == 0:
		return usagef("--aimx: give at least one endpoint")
	}
	if _, err := mesh.ParseWire(c.codec); err != nil {
		return usagef("--codec %q: want json or postcard", c.codec)
	}
	if c.mcuELF != "" && !c.mcu {
		return usagef("--mcu-firmware %s: give --mcu too", c.mcuELF)
	}
	for _, ep := range c.aimx {
		e, err := aimx.ParseEndpoint(ep)
		if err != nil {
			return &usageError{fmt.Errorf("--aimx: %w", err)}
		}
		if e.Scheme == "serial" {
			return usagef("--aimx %s: the demo serves tcp:// and unix:// endpoints", ep)
		}
	}
	return nil
}

// demo is a running weather mesh.
type demo struct {
	cfg       demoConfig
	brokerURL string   // what the DBs dial
	embedded  bool     // the broker runs in this process
	aimx      []string // the AimX endpoints, with the ports bound
	httpURL   string   // the dashboard
	hub       *aimdb.DB
	history   string // where the hub's history is kept, for the banner
	mcu       *mcu   // the booted firmware of --mcu, or nil
	noMCU     string // why --mcu started no firmware

	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []error
}

// startDemo binds every listener first, so that an address in use fails
// before anything runs, with an error naming the flag to change. Then it
// starts the broker, the hub, its servers and the stations.
func startDemo(ctx context.Context, cfg demoConfig, log *slog.Logger) (*demo, error) {
	d := &demo{cfg: cfg, brokerURL: cfg.broker}
	var closers []io.Closer
	fail := func(err error) (*demo, error) {
		for _, c := range closers {
			c.Close()
		}
		return nil, err
	}
	inUse := func(flag, addr string, err error) error {
		if errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use") {
			return &usageError{fmt.Errorf("%s %s: the address is in use (another demo or broker running?); choose another with %s", flag, addr, flag)}
		}
		return &usageError{fmt.Errorf("%s %s: %w", flag, addr, err)}
	}

	var mqttLn net.Listener
	if cfg.broker == "" {
		ln, err := net.Listen("tcp", cfg.mqttListen)
		if err != nil {
			return fail(inUse("--mqtt-listen", cfg.mqttListen, err))
		}
		closers = append(closers, ln)
		mqttLn = ln
		d.embedded = true
		d.brokerURL = "mqtt://" + ln.Addr().String()
	}
	type aimxLn struct {
		ln net.Listener
		f  aimx.Framing
	}
	var aimxLns []aimxLn
	for _, ep := range cfg.aimx {
		ln, f, err := aimx.Listen(ep)
		if err != nil {
			return fail(inUse("--aimx", ep, err))
		}
		closers = append(closers, ln)
		aimxLns = append(aimxLns, aimxLn{ln, f})
		if f == aimx.LengthPrefixed {
			d.aimx = append(d.aimx, "tcp://"+ln.Addr().String())
		} else {
			d.aimx = append(d.aimx, ep)
		}
	}
	httpLn, err := net.Listen("tcp", cfg.http)
	if err != nil {
		return fail(inUse("--http", cfg.http, err))
	}
	closers = append(closers, httpLn)
	d.httpURL = "http://" + httpLn.Addr().String() + "/"

	// The hub, and the microcontroller it links over its UART.
	hubDialer, err := mesh.HubDialer(d.brokerURL)
	if err != nil {
		return fail(&usageError{fmt.Errorf("--broker: %w", err)})
	}
	connectors := map[string]connector.Dialer{"mqtt": hubDialer}
	var mirrors []string
	if cfg.mcu {
		m, err := startMCU(ctx, cfg.mcuELF, log)
		var no *errNoMCU
		switch {
		case errors.As(err, &no):
			d.noMCU = no.reason
			log.Warn("demo --mcu: the microcontroller does not run: " + no.reason + "; the rest of the demo runs")
		case err != nil:
			return fail(err)
		default:
			closers = append(closers, m)
			scheme, md, err := mesh.MirrorConnector(m.endpoint, 1)
			if err != nil {
				return fail(err)
			}
			connectors[scheme], mirrors, d.mcu = md, []string{scheme}, m
		}
	}
	hub := aimdb.New(&aimdb.Options{
		Connectors:      connectors,
		Logger:          log.With("db", "hub"),
		ShutdownTimeout: time.Second,
	})
	wire, err := mesh.ParseWire(cfg.codec)
	if err != nil {
		return fail(&usageError{fmt.Errorf("--codec: %w", err)})
	}
	fams, err := mesh.Hub(hub, &mesh.HubOptions{Wire: wire, Mirrors: mirrors})
	if err != nil {
		return fail(err)
	}
	d.hub = hub
	backend, history, err := openHistory(cfg.data)
	if err != nil {
		return fail(err)
	}
	closers = append(closers, backend)
	d.history = history
	persistHub(fams, persist.NewStore(backend, &persist.StoreOptions{Logger: log.With("component", "history")}))
	var stations []*aimdb.DB
	for n := 1; n <= cfg.stations; n++ {
		sd, err := mesh.StationDialer(d.brokerURL, n)
		if err != nil {
			return fail(&usageError{fmt.Errorf("--broker: %w", err)})
		}
		db := aimdb.New(&aimdb.Options{
			Connectors:      map[string]connector.Dialer{"mqtt": sd},
			Logger:          log.With("db", fmt.Sprintf("station-%d", n)),
			ShutdownTimeout: time.Second,
		})
		if err := mesh.StationWith(db, n, mesh.StationOptions{Interval: cfg.interval, Wire: wire}); err != nil {
			return fail(err)
		}
		stations = append(stations, db)
	}

	ctx, d.cancel = context.WithCancel(ctx)
	// The DBs stop first, so that they leave the broker cleanly; then the
	// broker closes.
	var dbs sync.WaitGroup
	runDB := func(db *aimdb.DB) {
		dbs.Add(1)
		d.run(func() error {
			defer dbs.Done()
			return db.Run(ctx)
		})
	}
	if mqttLn != nil {
		blog := log.With("component", "mqtt-broker")
		if !cfg.verbose {
			blog = slog.New(slog.DiscardHandler) // it logs every client disconnect as a warning
		}
		// The stations, the hub and a few outside clients.
		broker, err := mqttbroker.New(mqttLn, &mqttbroker.Options{Logger: blog, MaxClients: max(mqttbroker.DefaultMaxClients, cfg.stations+64)})
		if err != nil {
			return fail(err)
		}
		d.wg.Go(func() {
			<-ctx.Done()
			dbs.Wait()
			broker.Close(500 * time.Millisecond) // the DBs have left it
		})
	}

	// Browsers (over /ws) and AimX clients share the server's connections.
	// The server and the handler add their own "component" to the log.
	srv := aimx.NewServer(hub, &aimx.ServerOptions{Name: "aimdb demo", Logger: log, MaxConnections: 64,
		Contracts: contracts.All, Query: aimx.History(backend)})
	d.wg.Go(func() {
		<-ctx.Done()
		dbs.Wait()
		backend.Close() // after the hub's writer committed what it held
		d.mcu.stop()
	})
	for _, l := range aimxLns {
		d.run(func() error { return srv.Serve(ctx, l.ln, l.f) })
	}
	// Serve adds the HTTP timeouts and, on loopback, refuses foreign
	// Host names (DNS rebinding) on every route.
	ws := websocket.NewHandler(srv, &websocket.HandlerOptions{
		Logger:         log,
		MaxConnections: 48,
		AllowedHosts:   cfg.allowHosts,
	})
	mux := ws.Mux()
	mux.Handle("/", dashboard.Handler())
	mux.Handle("GET /metrics", metrics.Handler(hub, &metrics.Options{Server: srv}))
	d.run(func() error {
		if err := ws.Serve(ctx, httpLn); err != nil {
			return fmt.Errorf("--http %s: %w", cfg.http, err)
		}
		return nil
	})
	runDB(hub)
	// The hub restores its history before it starts: once started, it
	// answers reads of every station it remembers.
	select {
	case <-hub.Started():
	case <-hub.Done():
	}
	for _, db := range stations {
		runDB(db)
	}
	return d, nil
}

// run runs f until the demo stops; an error from f stops the demo.
func (d *demo) run(f func() error) {
	d.wg.Go(func() {
		if err := f(); err != nil {
			d.mu.Lock()
			d.errs = append(d.errs, err)
			d.mu.Unlock()
			d.cancel()
		}
	})
}

// stop stops the demo and waits for every part to finish.
func (d *demo) stop() error {
	d.cancel()
	return d.wait()
}

// wait waits until the demo stopped (its context ended or a part failed)
// and returns the first failure.
func (d *demo) wait() error {
	d.wg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	return errors.Join(d.errs...)
}

func (d *demo) banner(w io.Writer) {
	broker := d.brokerURL + " (embedded)"
	if !d.embedded {
		broker = d.brokerURL
	}
	ws := "ws://" + strings.TrimPrefix(strings.TrimSuffix(d.httpURL, "/"), "http://") + "/ws"
	fmt.Fprintf(w, `AimDB weather mesh demo

  MQTT broker     %s
  stations        %d, in slots 1..%d, a reading every %v, %s payloads
%s  hub             families station.{id}.{temperature,humidity,dew_point}: 3 records per station,
                  created on its first reading (any id 0..%d, up to %d stations)
  history         %s
  AimX            %s (read-only)
  dashboard       %s
  AimX WebSocket  %s
  metrics         %smetrics (Prometheus)

Next:
  open %s
  aimdb%s record list
  aimdb%s watch 'station.*.dew_point'
  aimdb%s record query station.1.dew_point --since 10m --limit 100
  (from a checkout: go run ./cmd/aimdb …)

Ctrl-C stops the demo.
`, broker, d.cfg.stations, d.cfg.stations, d.cfg.interval, wireName(d.cfg.codec), d.mcuLine(), contracts.MaxSlot, mesh.DefaultMaxStations,
		d.history, strings.Join(d.aimx, ", "), d.httpURL, ws, d.httpURL, d.httpURL, d.connectFlag(), d.connectFlag(), d.connectFlag())
}

// mcuLine is the banner's line about --mcu, or nothing without it.
func (d *demo) mcuLine() string {
	switch {
	case !d.cfg.mcu:
		return ""
	case d.mcu == nil:
		return "  microcontroller not running: " + d.noMCU + "\n"
	}
	how := "reused"
	if d.mcu.built {
		how = "built now"
	}
	if d.cfg.mcuELF != "" {
		how = "given"
	}
	return fmt.Sprintf("  microcontroller station mcu1: firmware on an emulated TI LM3S6965 (qemu-system-arm), UART0 at %s,\n"+
		"                  linked by the hub over serial://; firmware %s (%s)\n", strings.TrimPrefix(strings.TrimSuffix(d.mcu.endpoint, "?baud=115200"), "serial://"), d.mcu.elf, how)
}

// connectFlag is the --connect the next commands need, or nothing when
// the default endpoint is served.
func (d *demo) connectFlag() string {
	if slices.Contains(d.aimx, DefaultEndpoint) {
		return ""
	}
	return " --connect " + d.aimx[0]
}

// wireName names the payload encoding of the --codec flag for the banner.
func wireName(codec string) string {
	if w, _ := mesh.ParseWire(codec); w == mesh.Postcard {
		return "Postcard"
	}
	return "JSON"
}
