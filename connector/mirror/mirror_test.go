// The tests listen on sockets, which js/wasm and wasip1 cannot.
//go:build !js && !wasip1

package mirror_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/mirror"
)

// raw is a record type that holds any JSON value as it came.
type raw = json.RawMessage

type rawCodec struct{}

func (rawCodec) Encode(v raw) ([]byte, error) { return v, nil }
func (rawCodec) Decode(b []byte) (raw, error) { return slices.Clone(b), nil }

// suiteTopics are the records the conformance suite links through the
// serving DB, one per test.
var suiteTopics = []string{"order", "drain", "decode", "bulk", "reconnect", "offline"}

// servingPeer is a DB serving AimX on a Unix socket or TCP, with one
// writable ring per conformance test; Stop ends the server (its
// connections close, dials fail) and Start serves again at the same
// address. The DB and its values live on across.
type servingPeer struct {
	endpoint string
	srv      *aimx.Server

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan error
}

func startServing(t *testing.T, network string, setup func(db *aimdb.DB) []string, opts *aimx.ServerOptions) *servingPeer {
	t.Helper()
	db := aimdb.New(nil)
	keys := setup(db)
	aimdbtest.Start(t, db)
	o := aimx.ServerOptions{}
	if opts != nil {
		o = *opts
	}
	o.Policy = aimx.ReadWrite(keys...)
	p := &servingPeer{srv: aimx.NewServer(db, &o)}
	switch network {
	case "unix":
		p.endpoint = "unix://" + filepath.Join(t.TempDir(), "aimx.sock")
	default:
		ln, _, err := aimx.Listen("tcp://127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p.endpoint = "tcp://" + ln.Addr().String()
		ln.Close()
	}
	p.Start(t)
	t.Cleanup(func() { p.Stop(t) })
	return p
}

func suiteRecords(db *aimdb.DB) []string {
	var keys []string
	for _, name := range suiteTopics {
		key := "ct." + name
		r, err := aimdb.Register(db, aimdb.NewKey[raw](key), aimdb.Ring(1<<13))
		if err != nil {
			panic(err)
		}
		r.RemoteAccess(rawCodec{})
		keys = append(keys, key)
	}
	return keys
}

func (p *servingPeer) Scheme() string { return "hub" }

func (p *servingPeer) Dialer(t testing.TB) connector.Dialer {
	d, err := mirror.NewDialer(p.endpoint, &mirror.Options{DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (p *servingPeer) Stop(t testing.TB) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cancel == nil {
		return
	}
	p.cancel()
	if err := <-p.done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	p.cancel = nil
}

func (p *servingPeer) Start(t testing.TB) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		ln, fr, lerr := aimx.Listen(p.endpoint)
		if err = lerr; err == nil {
			ctx, cancel := context.WithCancel(context.Background())
			p.cancel, p.done = cancel, make(chan error, 1)
			go func() { p.done <- p.srv.Serve(ctx, ln, fr) }()
			return
		}
	}
	t.Fatalf("listening again on %s: %v", p.endpoint, err)
}

// TestConformance runs the connector suite through a DB serving AimX,
// over a Unix socket and over TCP: values a DB sets on the serving DB
// (LinkTo) reach another DB subscribed to the same record (LinkFrom).
func TestConformance(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			// The serving DB queues events for a connection up to
			// EventQueue and drops (and the link counts as lost) what a
			// burst brings beyond: the suite's bulk burst must fit.
			p := startServing(t, network, suiteRecords, &aimx.ServerOptions{EventQueue: 1 << 13})
			connectortest.Run(t, p, connectortest.Features{
				Topic: func(name string) string {
					if !slices.Contains(suiteTopics, name) {
						t.Fatalf("the suite asks for topic %q, which the serving DB has no record for", name)
					}
					return "ct." + name
				},
				Sep: '.', One: "*", Multi: "#",
			})
		})
	}
}

// reading is a value the serving DB produces and the mirror follows.
type reading struct {
	Station string  `json:"station"`
	N       int     `json:"n"`
	Celsius float64 `json:"celsius"`
}

// mirrorDB runs a DB whose links go through a mirror Dialer to p.
func mirrorDB(t *testing.T, endpoint string, setup func(db *aimdb.DB)) *aimdb.DB {
	t.Helper()
	d, err := mirror.NewDialer(endpoint, nil)
	if err != nil {
		t.Fatal(err)
	}
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"hub": d},
		ReconnectBackoff: 10 * time.Millisecond, MaxReconnectBackoff: 50 * time.Millisecond})
	setup(db)
	aimdbtest.Start(t, db)
	return db
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestFamilyMirror: a family link with a capture mirrors every station
// record of the serving DB, those that exist at the subscription and
// those created after it, each into its own instance.
func TestFamilyMirror(t *testing.T) {
	var src *aimdb.Family[reading]
	p := startServing(t, "unix", func(db *aimdb.DB) []string {
		var err error
		src, err = aimdb.RegisterFamily(db, aimdb.NewFamily[reading]("station.{id}.temperature"), aimdb.Ring(64), aimdb.MaxInstances(16))
		if err != nil {
			t.Fatal(err)
		}
		src.RemoteAccess(codec.JSON[reading]{})
		return nil
	}, nil)
	produce := func(id string, n int) {
		t.Helper()
		in, err := src.Instance(id)
		if err != nil {
			t.Fatal(err)
		}
		if err := in.Produce(reading{Station: id, N: n, Celsius: 20 + float64(n)/10}); err != nil {
			t.Fatal(err)
		}
	}
	produce("1", 0) // before the mirror subscribes: its snapshot

	var fam *aimdb.Family[reading]
	db := mirrorDB(t, p.endpoint, func(db *aimdb.DB) {
		var err error
		fam, err = aimdb.RegisterFamily(db, aimdb.NewFamily[reading]("mirror.{id}.temperature"), aimdb.Latest(), aimdb.MaxInstances(16))
		if err != nil {
			t.Fatal(err)
		}
		fam.LinkFrom("hub://station.{id}.temperature", codec.JSON[reading]{})
	})
	waitFor(t, "the family link connected", func() bool {
		f := db.Families()
		return len(f) == 1 && len(f[0].Links) == 1 && f[0].Links[0].Connected
	})
	for n := 1; n <= 5; n++ {
		produce("1", n)
		produce("7", n) // a station created after the subscription
	}
	latest := func(id string) reading {
		r, err := fam.Instance(id) // the mirror created it, or it is empty
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := r.Peek(); ok {
			return v
		}
		return reading{N: -1}
	}
	waitFor(t, "both stations mirrored up to reading 5", func() bool { return latest("1").N == 5 && latest("7").N == 5 })
	if got := latest("7"); got.Station != "7" || got.Celsius != 20.5 {
		t.Fatalf("mirror.7.temperature = %+v; want station 7's reading 5", got)
	}
}

// TestGapsCounted: a serving DB that produces faster than the connection
// carries drops values for it; the mirror link counts them in "lost",
// exactly: every value produced is either received or counted lost.
func TestGapsCounted(t *testing.T) {
	var src *aimdb.Record[int]
	p := startServing(t, "unix", func(db *aimdb.DB) []string {
		var err error
		src, err = aimdb.Register(db, aimdb.NewKey[int]("burst"), aimdb.Ring(8))
		if err != nil {
			t.Fatal(err)
		}
		src.RemoteAccess(codec.JSON[int]{})
		return nil
	}, &aimx.ServerOptions{EventQueue: 4})
	var mu sync.Mutex
	var got []int
	db := mirrorDB(t, p.endpoint, func(db *aimdb.DB) {
		r, err := aimdb.Register(db, aimdb.NewKey[int]("burst"), aimdb.Ring(1<<16))
		if err != nil {
			t.Fatal(err)
		}
		r.LinkFrom("hub://burst", codec.JSON[int]{})
		r.Tap(func(ctx context.Context, s *aimdb.Subscription[int]) error {
			for {
				v, err := s.Recv(ctx)
				if err != nil {
					return nil
				}
				mu.Lock()
				got = append(got, v)
				mu.Unlock()
			}
		})
	})
	connectortest.WaitLink(t, db, "burst", 0, 10*time.Second, "connected", func(md aimdb.LinkMetadata) bool { return md.Connected })
	const n = 50000
	for i := range n {
		if err := src.Produce(i); err != nil {
			t.Fatal(err)
		}
	}
	// A gap is seen when the next value arrives: once the burst settled,
	// one more value shows what the end of the burst lost.
	var md aimdb.LinkMetadata
	for prev, stable := uint64(0), 0; stable < 20; time.Sleep(10 * time.Millisecond) {
		md = connectortest.LinkStats(t, db, "burst", 0)
		if stable++; md.Received+md.Lost != prev {
			prev, stable = md.Received+md.Lost, 0
		}
	}
	if err := src.Produce(n); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every value received or counted lost", func() bool {
		md = connectortest.LinkStats(t, db, "burst", 0)
		mu.Lock()
		defer mu.Unlock()
		return len(got) > 0 && got[len(got)-1] == n && md.Received+md.Lost == n+1
	})
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("value %d after %d: out of order or twice", got[i], got[i-1])
		}
	}
	if md.Lost == 0 {
		t.Fatalf("nothing lost (%+v); the test wants the burst to overflow the serving DB's queues", md)
	}
	if uint64(len(got)) != md.Received {
		t.Fatalf("the record got %d values; the link received %d", len(got), md.Received)
	}
	t.Logf("burst of %d: %d received, %d lost and counted", n, md.Received, md.Lost)
}

// TestServingDBRestarted: the serving DB stops and a new one serves at
// the same address; the mirror link reconnects, subscribes again and
// follows the new DB's values, and its writes reach the new DB.
func TestServingDBRestarted(t *testing.T) {
	sock := "unix://" + filepath.Join(t.TempDir(), "hub.sock")
	serve := func() (*aimdb.Record[reading], *aimdb.Record[int], func()) {
		db := aimdb.New(nil)
		temp, err := aimdb.Register(db, aimdb.NewKey[reading]("station.1.temperature"), aimdb.Ring(64))
		if err != nil {
			t.Fatal(err)
		}
		temp.RemoteAccess(codec.JSON[reading]{})
		set, err := aimdb.Register(db, aimdb.NewKey[int]("config.1.setpoint"), aimdb.Latest())
		if err != nil {
			t.Fatal(err)
		}
		set.RemoteAccess(codec.JSON[int]{})
		stopDB := aimdbtest.Start(t, db)
		srv := aimx.NewServer(db, &aimx.ServerOptions{Policy: aimx.ReadWrite("config.1.setpoint")})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		waitFor(t, "the socket free", func() bool {
			go func() { done <- srv.ListenAndServe(ctx, sock) }()
			select {
			case <-done:
				return false // the old server still holds the socket
			case <-time.After(50 * time.Millisecond):
				return true
			}
		})
		var once sync.Once
		stop := func() {
			once.Do(func() {
				cancel()
				<-done
				stopDB()
			})
		}
		t.Cleanup(stop)
		return temp, set, stop
	}
	temp, set, stop := serve()
	var in *aimdb.Record[reading]
	var out *aimdb.Record[int]
	db := mirrorDB(t, sock, func(db *aimdb.DB) {
		var err error
		in, err = aimdb.Register(db, aimdb.NewKey[reading]("temperature"), aimdb.Latest())
		if err != nil {
			t.Fatal(err)
		}
		in.LinkFrom("hub://station.1.temperature", codec.JSON[reading]{})
		out, err = aimdb.Register(db, aimdb.NewKey[int]("setpoint"), aimdb.Latest())
		if err != nil {
			t.Fatal(err)
		}
		out.LinkTo("hub://config.1.setpoint", codec.JSON[int]{})
	})
	connectortest.WaitLink(t, db, "temperature", 0, 10*time.Second, "connected", func(md aimdb.LinkMetadata) bool { return md.Connected })
	latestN := func() int {
		if v, ok := in.Peek(); ok {
			return v.N
		}
		return -1
	}
	for run := range 2 {
		for n := 1; n <= 3; n++ {
			if err := temp.Produce(reading{Station: "1", N: 10*run + n}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, fmt.Sprintf("run %d's readings mirrored", run), func() bool { return latestN() == 10*run+3 })
		if err := out.Produce(100 + run); err != nil {
			t.Fatal(err)
		}
		if err := db.Flush(t.Context()); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		if v, ok := set.Peek(); !ok || v != 100+run {
			t.Fatalf("run %d: the serving DB's setpoint is %d, %v after Flush; want %d", run, v, ok, 100+run)
		}
		if run == 0 {
			stop()
			connectortest.WaitLink(t, db, "temperature", 0, 10*time.Second, "disconnected", func(md aimdb.LinkMetadata) bool { return !md.Connected })
			temp, set, stop = serve()
			connectortest.WaitLink(t, db, "temperature", 0, 10*time.Second, "reconnected", func(md aimdb.LinkMetadata) bool { return md.Connected && md.Reconnects >= 1 })
		}
	}
	md := connectortest.LinkStats(t, db, "temperature", 0)
	if md.Received != 6 || md.Lost != 0 {
		t.Fatalf("link metadata %+v; want 6 received, 0 lost", md)
	}
}

// TestRefusals: a value the serving DB refuses (a record it has no
// write policy for) is a publish error, not retried; a subscription to a
// record it does not have is reported with the AimX error code.
func TestRefusals(t *testing.T) {
	p := startServing(t, "unix", func(db *aimdb.DB) []string {
		r, err := aimdb.Register(db, aimdb.NewKey[int]("ro"), aimdb.Latest())
		if err != nil {
			t.Fatal(err)
		}
		r.RemoteAccess(codec.JSON[int]{})
		return nil
	}, nil)
	db := mirrorDB(t, p.endpoint, func(db *aimdb.DB) {
		r, err := aimdb.Register(db, aimdb.NewKey[int]("w"), aimdb.Ring(8))
		if err != nil {
			t.Fatal(err)
		}
		r.LinkTo("hub://ro", codec.JSON[int]{})
	})
	if err := aimdb.Produce(db, aimdb.NewKey[int]("w"), 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var fe *aimdb.FlushError
	if err := db.Flush(ctx); !errors.As(err, &fe) || fe.Failed != 1 || fe.Pending != 0 {
		t.Fatalf("Flush = %v; want the refused value failed", err)
	}
	md := connectortest.LinkStats(t, db, "w", 0)
	if md.PublishErrs != 1 || md.Published != 0 {
		t.Fatalf("metadata %+v; want 1 publish error", md)
	}

	// A subscription to a record the serving DB does not have keeps the
	// connection down, retried, with the AimX error as the last error.
	db2 := mirrorDB(t, p.endpoint, func(db *aimdb.DB) {
		in, err := aimdb.Register(db, aimdb.NewKey[int]("missing"), aimdb.Latest())
		if err != nil {
			t.Fatal(err)
		}
		in.LinkFrom("hub://no.such.record", codec.JSON[int]{})
	})
	waitFor(t, "the refused subscription reported", func() bool {
		md := connectortest.LinkStats(t, db2, "missing", 0)
		return !md.Connected && strings.Contains(md.LastError, "not_found") && strings.Contains(md.LastError, "hub://no.such.record")
	})
}

// TestNewDialerErrors: a bad endpoint is refused, named.
func TestNewDialerErrors(t *testing.T) {
	for _, ep := range []string{"", "http://x", "tcp://host", "tcp://host:99999", "serial://", "serial:///dev/x?baud=fast"} {
		_, err := mirror.NewDialer(ep, nil)
		if err == nil || !strings.Contains(err.Error(), strconv.Quote(ep)) {
			t.Errorf("NewDialer(%q) = %v; want an error naming it", ep, err)
		}
	}
}

// TestValidateLink: outbound wildcards and parameters are configuration
// errors that name the link.
func TestValidateLink(t *testing.T) {
	d, err := mirror.NewDialer("unix:///nonexistent.sock", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ url, want string }{
		{"hub://station.*.temperature", "wildcard"},
		{"hub://a.b?qos=1", `unknown parameter "qos"`},
	} {
		db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"hub": d}})
		r, err := aimdb.Register(db, aimdb.NewKey[int]("x"), aimdb.Latest())
		if err != nil {
			t.Fatal(err)
		}
		r.LinkTo(c.url, codec.JSON[int]{})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = db.Run(ctx)
		cancel()
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.url) {
			t.Errorf("Run with %s = %v; want an error naming it and %q", c.url, err, c.want)
		}
	}
}
