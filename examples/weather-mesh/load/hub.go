package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/kafka"
	"github.com/aimdb-go/aimdb/connector/nats"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
	"github.com/nats-io/nats.go/jetstream"
)

// histMax is the last bucket of the latency histogram, in milliseconds:
// bucket i counts latencies of i ms, the last one everything slower.
const histMax = 10_000

// A plan is what the load offers: stations × kinds × readings, reading k
// of a station sent at start + k·period + offset(station). A reading's
// timestamp is its send time, so a hub recovers k from it.
type plan struct {
	Stations int   `json:"stations"`
	Kinds    int   `json:"kinds"` // 1: temperature; 2: and humidity
	Readings int   `json:"readings"`
	StartMs  int64 `json:"start_ms"`
	PeriodMs int64 `json:"period_ms"`
}

// index returns the slot of a reading in the counts, or -1 if it is not
// one of the plan's.
func (p plan) index(station, kind int, ts uint64) int {
	if station < 0 || station >= p.Stations || int64(ts) < p.StartMs {
		return -1
	}
	k := (int64(ts) - p.StartMs) / p.PeriodMs
	if k >= int64(p.Readings) {
		return -1
	}
	return (station*p.Kinds+kind)*p.Readings + int(k)
}

func (p plan) size() int { return p.Stations * p.Kinds * p.Readings }

// offset is how far into each period a station sends: the stations are
// spread evenly over the period.
func (p plan) offset(station int) int64 { return int64(station) * p.PeriodMs / int64(p.Stations) }

// hubReport is what one hub stored, by reading.
type hubReport struct {
	Counts  []byte   `json:"counts"`  // times each reading of the plan was stored (saturating at 255)
	Hist    []uint64 `json:"hist"`    // end-to-end latency, send to stored, by ms
	Foreign uint64   `json:"foreign"` // readings stored that are not the plan's
	// MemLimit is the hub process's Go memory limit (math.MaxInt64: none).
	MemLimit int64 `json:"mem_limit"`
}

// tracker counts the readings a hub stored.
type tracker struct {
	p       plan
	mu      sync.Mutex
	counts  []byte
	hist    []uint64
	foreign uint64
}

func newTracker(p plan) *tracker {
	return &tracker{p: p, counts: make([]byte, p.size()), hist: make([]uint64, histMax+1)}
}

func (t *tracker) stored(id string, kind int, ts uint64, now int64) {
	station, err := strconv.Atoi(id)
	i := -1
	if err == nil {
		i = t.p.index(station, kind, ts)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if i < 0 {
		t.foreign++
		return
	}
	if t.counts[i] < 255 {
		t.counts[i]++
	}
	lat := max(now-int64(ts), 0)
	t.hist[min(lat, histMax)]++
}

func (t *tracker) report() hubReport {
	t.mu.Lock()
	defer t.mu.Unlock()
	return hubReport{Counts: append([]byte(nil), t.counts...), Hist: append([]uint64(nil), t.hist...), Foreign: t.foreign}
}

// storedKey is the record where a load hub shows what it stored.
var storedKey = aimdb.NewKey[storedCount]("load.stored")

// storedCount is the value of load.stored.
type storedCount struct {
	Produced uint64 `json:"produced"` // Σ produced_count of the station temperature and humidity records
	Stations int    `json:"stations"` // station temperature records
}

// hubConfig configures one hub of the load.
type hubConfig struct {
	Broker string
	Group  string
	AimX   string // the AimX endpoint it serves
	Plan   plan
	Log    *slog.Logger
	Cut    *cutter // if set, the hub's NATS connections go through it, so that the load can kill the hub
}

// cutter opens a hub's connections and cuts them when the hub is
// killed: the hub then stops answering the server at once, as a dead
// process does, with unacknowledged messages in hand; it dials no more.
type cutter struct {
	mu    sync.Mutex
	conns []net.Conn
	dead  bool
}

func (c *cutter) Dial(network, address string) (net.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return nil, errors.New("load: this hub was killed")
	}
	conn, err := net.Dial(network, address)
	if err == nil {
		c.conns = append(c.conns, conn)
	}
	return conn, err
}

// DialContext is Dial for dialers that pass a context (Kafka's).
func (c *cutter) DialContext(_ context.Context, network, address string) (net.Conn, error) {
	return c.Dial(network, address)
}

func (c *cutter) kill() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dead = true
	for _, conn := range c.conns {
		_ = conn.Close()
	}
}

// runHub runs a weather hub (mesh.Hub on the broker's engine, in the
// group) with a tap on each measurement that tracks the plan's readings,
// serving AimX, until ctx ends; then it returns what it stored.
func runHub(ctx context.Context, c hubConfig) (hubReport, error) {
	engine, d, err := mesh.HubConnector(c.Broker, c.Group)
	if err != nil {
		return hubReport{}, err
	}
	switch {
	case c.Cut != nil && engine == mesh.NATS:
		d, err = nats.NewDialer(c.Broker, nats.Options{Name: mesh.ClientName(d), Group: c.Group,
			Streams: []jetstream.StreamConfig{mesh.NATSStream}, NetDialer: c.Cut})
	case c.Cut != nil && engine == mesh.Kafka:
		d, err = kafka.NewDialer(c.Broker, kafka.Options{ClientID: mesh.ClientName(d), Group: c.Group,
			AutoCreate: true, NetDialer: c.Cut.DialContext})
	}
	if err != nil {
		return hubReport{}, err
	}
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{string(engine): d}, Logger: log})
	hub, err := mesh.Hub(db, &mesh.HubOptions{MaxStations: max(c.Plan.Stations, 1), Engine: engine})
	if err != nil {
		return hubReport{}, err
	}
	tr := newTracker(c.Plan)
	hub.Temperature.Tap(func(ctx context.Context, s *aimdb.FamilySubscription[contracts.Temperature]) error {
		for {
			inst, v, err := s.Recv(ctx)
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, aimdb.ErrClosed) {
					return nil
				}
				continue
			}
			tr.stored(inst.Captures["id"], 0, v.Timestamp, time.Now().UnixMilli())
		}
	}, aimdb.Named("load"))
	if c.Plan.Kinds > 1 {
		hub.Humidity.Tap(func(ctx context.Context, s *aimdb.FamilySubscription[contracts.Humidity]) error {
			for {
				inst, v, err := s.Recv(ctx)
				if err != nil {
					if ctx.Err() != nil || errors.Is(err, aimdb.ErrClosed) {
						return nil
					}
					continue
				}
				tr.stored(inst.Captures["id"], 1, v.Timestamp, time.Now().UnixMilli())
			}
		}, aimdb.Named("load"))
	}
	// load.stored: the sum of the produced_count of the hub's station
	// records (the counters AimX's record.list shows), every second; a
	// hub of 10 000 stations has too many records to list them all in one
	// reply. Each sum reads the metadata of every record (about 10 MB of
	// garbage at 30 000 records), so it runs no more often than the load
	// needs: polled faster, it made most of a hub's allocations.
	stored, err := aimdb.Register(db, storedKey, aimdb.Latest())
	if err != nil {
		return hubReport{}, err
	}
	stored.Source(func(ctx context.Context, p *aimdb.Producer[storedCount]) error {
		for {
			var c storedCount
			for _, md := range db.Records() {
				switch md.Family {
				case contracts.TemperatureFamily.String():
					c.Stations++
					c.Produced += md.ProducedCount
				case contracts.HumidityFamily.String():
					c.Produced += md.ProducedCount
				}
			}
			_ = p.Produce(c)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
		}
	})
	stored.RemoteAccess(codec.JSON[storedCount]{})
	srv := aimx.NewServer(db, &aimx.ServerOptions{Name: "load-hub"})
	ln, f, err := aimx.Listen(c.AimX)
	if err != nil {
		return hubReport{}, fmt.Errorf("aimx: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(ctx, ln, f) })
	err = db.Run(ctx)
	cancel()
	wg.Wait()
	return tr.report(), err
}
