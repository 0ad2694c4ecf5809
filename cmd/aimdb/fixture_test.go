package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/loopback"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Temp is a temperature reading.
type Temp struct {
	Celsius   float64 `json:"celsius"`
	Timestamp int64   `json:"timestamp,omitempty"` // Unix ms
}

// Level is a configuration value.
type Level struct {
	Level int `json:"level"`
}

var (
	keyTemp     = aimdb.NewKey[Temp]("sensors.temp")
	keyHumidity = aimdb.NewKey[float64]("sensors.humidity")
	keySecret   = aimdb.NewKey[string]("sensors.secret")
	keyDouble   = aimdb.NewKey[Temp]("calc.double")
	keyComfort  = aimdb.NewKey[float64]("calc.comfort")
	keyCfg      = aimdb.NewKey[Level]("cfg")
	keyCmd      = aimdb.NewKey[string]("cmd.box")
	keyStation2 = aimdb.NewKey[Temp]("station.2.temperature")
	keyStation0 = aimdb.NewKey[Temp]("station.10.temperature")
	keyTick     = aimdb.NewKey[int]("tick")
)

// fixture is a running DB with an AimX server on TCP.
type fixture struct {
	db       *aimdb.DB
	broker   *loopback.Broker
	temp     *aimdb.Record[Temp]
	humidity *aimdb.Record[float64]
	cmd      *aimdb.Record[string]
	station2 *aimdb.Record[Temp]
	endpoint string
}

// history is what the fixture's record.query handler serves.
var history = []aimx.QueryRow{
	{Topic: "sensors.temp", Payload: []byte(`{"celsius":19.5}`), TS: 1754044800000},
	{Topic: "sensors.humidity", Payload: []byte(`38`), TS: 1754044830000},
	{Topic: "sensors.temp", Payload: []byte(`{"celsius":20}`), TS: 1754044860000},
	{Topic: "sensors.temp", Payload: []byte(`{"celsius":20.5}`), TS: 1754044920000},
}

// query answers record.query from history: rows of the matching
// records within the bounds, the newest limit of each record.
func query(ctx context.Context, q aimx.QueryParams) ([]aimx.QueryRow, error) {
	var rows []aimx.QueryRow
	for _, r := range slices.Backward(history) {
		if !aimx.MatchTopic(q.Pattern, r.Topic) || q.Start != nil && r.TS < *q.Start || q.End != nil && r.TS > *q.End {
			continue
		}
		if q.Limit != nil && uint64(countTopic(rows, r.Topic)) >= *q.Limit {
			continue
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func countTopic(rows []aimx.QueryRow, topic string) int {
	n := 0
	for _, r := range rows {
		if r.Topic == topic {
			n++
		}
	}
	return n
}

// startFixture runs a DB with these records, settled into a known
// state, and an AimX server with opts (nil: cfg and cmd.box writable,
// history served):
//
//	sensors.temp            Ring(8), passive, one tap; 20, 21, 22 °C
//	sensors.humidity        Latest, passive; 40
//	sensors.secret          Latest, no remote access
//	calc.double             Latest, transform of sensors.temp, linked out to loop://calc/double
//	calc.comfort            Latest, join of sensors.temp and sensors.humidity
//	cfg                     Latest, passive, writable; {"level":1}
//	cmd.box                 Mailbox, passive, writable
//	station.2.temperature   Latest, linked in from loop://station/2/temperature
//	station.10.temperature  Latest, linked in from loop://station/10/temperature
//	tick                    Latest, a source that produces 1 once
func startFixture(t *testing.T, opts *aimx.ServerOptions) *fixture {
	t.Helper()
	broker := loopback.New()
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"loop": broker.Dialer()}})
	f := &fixture{db: db, broker: broker}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	f.temp, err = aimdb.Register(db, keyTemp, aimdb.Ring(8))
	must(err)
	f.temp.RemoteAccess(codec.JSON[Temp]{})
	f.temp.Tap(func(ctx context.Context, s *aimdb.Subscription[Temp]) error {
		for range s.All(ctx) {
		}
		return nil
	})
	f.humidity, err = aimdb.Register(db, keyHumidity, aimdb.Latest())
	must(err)
	f.humidity.RemoteAccess(codec.JSON[float64]{})
	secret, err := aimdb.Register(db, keySecret, aimdb.Latest())
	must(err)
	must(secret.Produce("hunter2"))
	double, err := aimdb.Register(db, keyDouble, aimdb.Latest())
	must(err)
	aimdb.Transform(double, keyTemp, func(in Temp) (Temp, bool) { return Temp{Celsius: in.Celsius * 2}, true })
	double.RemoteAccess(codec.JSON[Temp]{})
	double.LinkTo("loop://calc/double", codec.JSON[Temp]{})
	comfort, err := aimdb.Register(db, keyComfort, aimdb.Latest())
	must(err)
	aimdb.Join2(comfort, keyTemp, keyHumidity, func(t Temp, h float64) (float64, bool) { return t.Celsius - h/10, true })
	comfort.RemoteAccess(codec.JSON[float64]{})
	cfg, err := aimdb.Register(db, keyCfg, aimdb.Latest())
	must(err)
	cfg.RemoteAccess(codec.JSON[Level]{})
	must(cfg.Produce(Level{1}))
	cmd, err := aimdb.Register(db, keyCmd, aimdb.Mailbox())
	must(err)
	cmd.RemoteAccess(codec.JSON[string]{})
	f.cmd = cmd
	for _, k := range []aimdb.Key[Temp]{keyStation2, keyStation0} {
		r, err := aimdb.Register(db, k, aimdb.Latest())
		must(err)
		r.LinkFrom("loop://"+strings.ReplaceAll(k.Name(), ".", "/"), codec.JSON[Temp]{})
		r.RemoteAccess(codec.JSON[Temp]{})
		if k == keyStation2 {
			f.station2 = r
		}
	}
	tick, err := aimdb.Register(db, keyTick, aimdb.Latest())
	must(err)
	tick.Source(func(ctx context.Context, p *aimdb.Producer[int]) error { return p.Produce(1) })
	tick.RemoteAccess(codec.JSON[int]{})

	stop := aimdbtest.Start(t, db)
	if opts == nil {
		opts = &aimx.ServerOptions{Policy: aimx.ReadWrite("cfg", "cmd.box", "calc.double"), Query: query}
	}
	srv := aimx.NewServer(db, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ln, fr, err := aimx.Listen("tcp://127.0.0.1:0")
	must(err)
	f.endpoint = "tcp://" + ln.Addr().String()
	go func() { done <- srv.Serve(ctx, ln, fr) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if err := stop(); err != nil {
			t.Errorf("db: %v", err)
		}
	})

	// Settle: links up, then each value through the pipeline in turn.
	f.settle(t, "links connected and tick produced", func(m map[string]aimdb.RecordMetadata) bool {
		for _, k := range []string{"calc.double", "station.2.temperature", "station.10.temperature"} {
			for _, l := range m[k].Links {
				if !l.Connected {
					return false
				}
			}
		}
		return m["tick"].ProducedCount == 1 && !m["tick"].StageProfiling[0].Running
	})
	must(f.humidity.Produce(40))
	for i, c := range []float64{20, 21, 22} {
		must(f.temp.Produce(Temp{Celsius: c}))
		n := uint64(i + 1)
		f.settle(t, "temperature through the pipeline", func(m map[string]aimdb.RecordMetadata) bool {
			return m["calc.double"].ProducedCount == n && m["calc.comfort"].ProducedCount == n &&
				m["sensors.temp"].ConsumedCount == 3*n && m["calc.double"].Links[0].Published == n
		})
	}
	return f
}

// settle waits until cond holds for the DB's metadata.
func (f *fixture) settle(t *testing.T, what string, cond func(map[string]aimdb.RecordMetadata) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := map[string]aimdb.RecordMetadata{}
		for _, r := range f.db.Records() {
			m[r.RecordKey] = r
		}
		if cond(m) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("fixture: waiting for %s: timed out; metadata %+v", what, m)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// result is what one command line printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs the command line in-process with AIMDB_CONNECT set to
// endpoint.
func runCLI(t *testing.T, endpoint string, args ...string) result {
	t.Helper()
	return runCLIContext(t.Context(), endpoint, args...)
}

func runCLIContext(ctx context.Context, endpoint string, args ...string) result {
	var stdout, stderr bytes.Buffer
	env := func(k string) string {
		if k == "AIMDB_CONNECT" {
			return endpoint
		}
		return ""
	}
	code := run(ctx, args, &stdout, &stderr, env)
	return result{stdout.String(), stderr.String(), code}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

var (
	timeRE   = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	timingRE = regexp.MustCompile(`"(total_time_ns|avg_time_ns|min_time_ns|max_time_ns|call_count)": \d+`)
)

// mask replaces what changes from run to run: the endpoint and stage
// timings.
func mask(s, endpoint string) string {
	s = strings.ReplaceAll(s, endpoint, "ENDPOINT")
	s = strings.ReplaceAll(s, strings.TrimPrefix(endpoint, "tcp://"), "ADDR")
	return timingRE.ReplaceAllString(s, `"$1": N`)
}

// maskTimes replaces RFC 3339 times.
func maskTimes(s string) string { return timeRE.ReplaceAllString(s, "TIME") }

// syncBuffer is a bytes.Buffer safe for a writer and a reader in other
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds or the time runs out.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
