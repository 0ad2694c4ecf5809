package aimx_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
)

// hub is a running DB of n Latest records "hub.<i>.value", each holding a
// value of the given size, plus the family "fam.{id}.value" with no
// instance yet, served over TCP and a Unix socket.
type hub struct {
	db       *aimdb.DB
	srv      *aimx.Server
	tcp, uds string
}

var famValue = aimdb.NewFamily[string]("fam.{id}.value")

func startHub(t *testing.T, n, size int, opts *aimx.ServerOptions) *hub {
	t.Helper()
	db := aimdb.New(nil)
	value := strings.Repeat("x", size)
	for i := range n {
		rec, err := aimdb.Register(db, aimdb.NewKey[string](fmt.Sprintf("hub.%d.value", i)), aimdb.Latest())
		if err != nil {
			t.Fatal(err)
		}
		rec.RemoteAccess(codec.JSON[string]{})
		if err := rec.Produce(value); err != nil {
			t.Fatal(err)
		}
	}
	fam, err := aimdb.RegisterFamily(db, famValue, aimdb.Latest())
	if err != nil {
		t.Fatal(err)
	}
	fam.RemoteAccess(codec.JSON[string]{})
	stop := aimdbtest.Start(t, db)
	h := &hub{db: db, srv: aimx.NewServer(db, opts)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	ln, fr, err := aimx.Listen("tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.tcp = "tcp://" + ln.Addr().String()
	go func() { done <- h.srv.Serve(ctx, ln, fr) }()
	h.uds = "unix://" + filepath.Join(t.TempDir(), "aimx.sock")
	uln, ufr, err := aimx.Listen(h.uds)
	if err != nil {
		t.Fatal(err)
	}
	go func() { done <- h.srv.Serve(ctx, uln, ufr) }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		}
		if err := stop(); err != nil {
			t.Errorf("db: %v", err)
		}
	})
	return h
}

// TestWildcardGoroutines opens wildcard subscriptions over many records,
// and lets a family add as many again: the goroutines grow with the
// subscriptions, not with the records they serve.
func TestWildcardGoroutines(t *testing.T) {
	const subs, records = 8, 200
	h := startHub(t, records, 8, &aimx.ServerOptions{EventQueue: 1 << 16}) // no event dropped
	c := servedConn(t, h.uds)
	c.sync()
	before := runtime.NumGoroutine()
	for i := range subs {
		c.send(fmt.Sprintf(`{"t":"sub","id":%d,"topic":"#"}`, i+1))
	}
	c.send(`{"t":"ping"}`)
	for snaps, pong := 0, false; snaps < subs*records || !pong; {
		switch f := c.recv(); {
		case f == `{"t":"pong"}`:
			pong = true
		case strings.HasPrefix(f, `{"t":"snap"`):
			snaps++
		default:
			t.Fatalf("unexpected %s", f)
		}
	}
	afterSubs := runtime.NumGoroutine()
	for i := range records {
		if err := aimdb.Produce(h.db, famValue.Instance(fmt.Sprint(i)), "y"); err != nil {
			t.Fatal(err)
		}
	}
	events := 0
	for events < subs*records {
		if f := c.recv(); strings.HasPrefix(f, `{"t":"event"`) {
			events++
		}
	}
	afterGrowth := runtime.NumGoroutine()
	t.Logf("goroutines: %d before, %d with %d subscriptions over %d records, %d over %d records",
		before, afterSubs, subs, records, afterGrowth, 2*records)
	if limit := before + 2*subs + 8; afterSubs > limit || afterGrowth > limit {
		t.Errorf("goroutines: %d before, %d after %d subscriptions of %d records, %d after %d more records; want at most %d",
			before, afterSubs, subs, records, afterGrowth, records, limit)
	}
	for i := range subs {
		c.send(fmt.Sprintf(`{"t":"unsub","sub":"%d"}`, i+1))
	}
	c.sync()
	waitStats(t, h.srv, func(s aimx.ServerStats) bool { return s.Subscriptions == 0 })
}

// TestMaxSubscribedRecords checks the cap on the records one
// connection's subscriptions serve: a sub over it is denied, and a
// growing subscription stops adding records at it; both are counted.
func TestMaxSubscribedRecords(t *testing.T) {
	h := startHub(t, 4, 8, &aimx.ServerOptions{MaxSubscribedRecords: 10})
	c := servedConn(t, h.tcp)
	c.send(`{"t":"sub","id":1,"topic":"hub.#"}`) // 4
	c.send(`{"t":"sub","id":2,"topic":"hub.*.value"}`)
	c.send(`{"t":"sub","id":3,"topic":"#"}`) // 4 more: 12 > 10
	c.send(`{"t":"sub","id":4,"topic":"hub.0.value"}`)
	var denied []string
	for _, f := range c.sync() {
		if strings.HasPrefix(f, `{"t":"reply"`) {
			denied = append(denied, f)
		}
	}
	if want := []string{`{"t":"reply","id":3,"err":"denied"}`}; fmt.Sprint(denied) != fmt.Sprint(want) {
		t.Errorf("replies %q, want %q", denied, want)
	}
	if got := h.srv.Stats().RecordsOverCap; got != 4 {
		t.Errorf("RecordsOverCap %d, want 4", got)
	}
	// Nine served; "fam.#" grows by one instance, then refuses more.
	c.send(`{"t":"sub","id":5,"topic":"fam.#"}`)
	c.sync()
	for i := range 3 {
		if err := aimdb.Produce(h.db, famValue.Instance(fmt.Sprint(i)), "v"); err != nil {
			t.Fatal(err)
		}
	}
	// Events come when they come: sub 4's (its record's current value)
	// at any time, fam.0's after its Produce.
	for {
		f := c.recv()
		if strings.Contains(f, `"sub":"4"`) {
			continue
		}
		if want := `{"t":"event","seq":1,"topic":"fam.0.value","sub":"5","data":"v"}`; f != want {
			t.Errorf("fam.#: %s, want %s", f, want)
		}
		break
	}
	if got := h.srv.Stats().RecordsOverCap; got != 6 {
		t.Errorf("RecordsOverCap %d, want 6", got)
	}
	// Records are released with their subscription.
	c.send(`{"t":"unsub","sub":"1"}`)
	c.send(`{"t":"sub","id":6,"topic":"hub.#"}`)
	var snaps []string
	for _, f := range c.sync() {
		if strings.Contains(f, `"sub":"6"`) {
			snaps = append(snaps, f)
		}
	}
	if len(snaps) != 4 || !strings.Contains(snaps[3], `"last":true`) {
		t.Errorf("sub after unsub: %q, want 4 snapshots", snaps)
	}
}

// TestGrowingEviction: a growing subscription goes on serving a key
// whose family instance was evicted and created again, in one seq.
func TestGrowingEviction(t *testing.T) {
	db := aimdb.New(nil)
	fam, err := aimdb.RegisterFamily(db, famValue, aimdb.Latest(), aimdb.IdleEviction(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	fam.RemoteAccess(codec.JSON[string]{})
	stop := aimdbtest.Start(t, db)
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	a, b := net.Pipe()
	srv := aimx.NewServer(db, &aimx.ServerOptions{Unlisted: true})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.ServeStream(ctx, a, aimx.Lines) }()
	defer func() {
		b.Close()
		cancel()
		<-served
	}()
	r := aimx.NewFrameReader(b, aimx.Lines, 0)
	send := func(s string) {
		t.Helper()
		if _, err := b.Write([]byte(s + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	recv := func() string {
		t.Helper()
		b.SetReadDeadline(time.Now().Add(10 * time.Second))
		f, err := r.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		return string(f)
	}
	send(`{"t":"sub","id":1,"topic":"fam.*.value"}`)
	send(`{"t":"ping"}`)
	if f := recv(); f != `{"t":"pong"}` {
		t.Fatalf("got %s, want pong", f)
	}
	key := famValue.Instance("a")
	for i := 1; i <= 3; i++ {
		if err := aimdb.Produce(db, key, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf(`{"t":"event","seq":%d,"topic":"fam.a.value","sub":"1","data":"%d"}`, i, i)
		if f := recv(); f != want {
			t.Fatalf("got %s, want %s", f, want)
		}
		// Wait for the eviction, then write again: a new instance.
		waitFor(t, 10*time.Second, "eviction", func() bool {
			return !slices.Contains(db.Keys(), key.Name())
		})
	}
	if s := srv.Stats(); s.Subscriptions != 1 {
		t.Errorf("stats %+v, want the subscription alive", s)
	}
}

// TestSlowReaders: clients that ask for big replies and never read pin
// at most their queue's budget, are disconnected after the write timeout
// and counted, while another client is served all along.
func TestSlowReaders(t *testing.T) {
	const slow = 6
	h := startHub(t, 2000, 100, &aimx.ServerOptions{WriteTimeout: 5 * time.Second, MaxQueuedBytes: 256 << 10})
	ctx := testCtx(t)
	good := dial(t, h.tcp, nil)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	conns := make([]*raw, slow)
	for i := range conns {
		conns[i] = dialRaw(t, h.tcp)
		for id := range 40 {
			conns[i].send(fmt.Sprintf(`{"t":"req","id":%d,"method":"record.list","params":{"detail":true}}`, id))
		}
	}
	// Wait until the server stops taking their requests: it cannot write.
	var last uint64
	for stable := 0; stable < 8; {
		time.Sleep(50 * time.Millisecond)
		if n := h.srv.Stats().Requests; n == last {
			stable++
		} else {
			last, stable = n, 0
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	pinned := int64(ms.HeapAlloc) - int64(base)
	t.Logf("%d clients that do not read pin %d KiB (%d requests taken)", slow, pinned>>10, last)
	if _, err := good.Get(ctx, "hub.1.value"); err != nil {
		t.Errorf("record.get of the good client: %v", err)
	}
	if pinned > 40<<20 {
		t.Errorf("%d clients that do not read pin %d MiB", slow, pinned>>20)
	}
	waitFor(t, 20*time.Second, "the slow clients disconnected", func() bool {
		s := h.srv.Stats()
		return s.Open == 1 && s.SlowClosed == slow
	})
	if _, err := good.Get(testCtx(t), "hub.1.value"); err != nil {
		t.Errorf("record.get of the good client after: %v", err)
	}
}

// TestHalfClose: a client that sends its requests and shuts its writing
// side down (as nc -N does) receives every reply before the server
// closes the connection.
func TestHalfClose(t *testing.T) {
	f := startFixture(t, nil)
	for _, ep := range []string{f.uds, f.tcp} {
		t.Run(strings.SplitN(ep, ":", 2)[0], func(t *testing.T) {
			c := dialRaw(t, ep)
			const n = 50
			for id := 1; id <= n; id++ {
				c.send(fmt.Sprintf(`{"t":"req","id":%d,"method":"record.get","params":{"name":"tick"}}`, id))
			}
			if err := c.conn.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			got := 0
			for {
				b, err := c.r.ReadFrame()
				if err != nil {
					if !errors.Is(err, io.EOF) {
						t.Errorf("after %d replies: %v", got, err)
					}
					break
				}
				if want := fmt.Sprintf(`{"t":"reply","id":%d,"ok":1}`, got+1); string(b) != want {
					t.Fatalf("got %s, want %s", b, want)
				}
				got++
			}
			if got != n {
				t.Errorf("%d replies of %d", got, n)
			}
		})
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBigReplies: replies larger than a write chunk, between small
// frames, arrive whole over both framings.
func TestBigReplies(t *testing.T) {
	h := startHub(t, 1000, 100, nil)
	for _, ep := range []string{h.uds, h.tcp} {
		t.Run(strings.SplitN(ep, ":", 2)[0], func(t *testing.T) {
			c := dialRaw(t, ep)
			for id := 1; id <= 6; id++ {
				params := `{"name":"hub.1.value"}`
				method := "record.get"
				if id%2 == 0 {
					method, params = "record.list", `{"detail":true}`
				}
				c.send(fmt.Sprintf(`{"t":"req","id":%d,"method":%q,"params":%s}`, id, method, params))
			}
			for id := 1; id <= 6; id++ {
				f, err := aimx.ParseFrame([]byte(c.recv()))
				if err != nil || f.ID != uint64(id) || f.Err != "" {
					t.Fatalf("reply %d: %+v, %v", id, f, err)
				}
				if id%2 == 0 {
					var rows []aimx.RecordInfo
					if err := json.Unmarshal(f.OK, &rows); err != nil || len(rows) != 1000 || len(f.OK) < 64<<10 {
						t.Errorf("record.list: %d rows in %d bytes, %v", len(rows), len(f.OK), err)
					}
				}
			}
		})
	}
}

// TestReplyAmidFlood: a reply larger than the queue's budget reaches a
// client that reads while a flood of events keeps its queue busy.
func TestReplyAmidFlood(t *testing.T) {
	h := startHub(t, 1000, 100, &aimx.ServerOptions{MaxQueuedBytes: 16 << 10, WriteTimeout: 5 * time.Second})
	c := dialRaw(t, h.tcp)
	c.send(`{"t":"sub","id":1,"topic":"fam.#"}`)
	c.sync()
	stop := make(chan struct{})
	flooded := make(chan struct{})
	go func() {
		defer close(flooded)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			aimdb.Produce(h.db, famValue.Instance(fmt.Sprint(i%50)), strings.Repeat("y", 200))
		}
	}()
	defer func() { close(stop); <-flooded }()
	for id := 2; id <= 6; id++ {
		c.send(fmt.Sprintf(`{"t":"req","id":%d,"method":"record.list","params":{"detail":true}}`, id))
		for {
			f := c.recv()
			if strings.HasPrefix(f, `{"t":"event"`) {
				continue
			}
			if want := fmt.Sprintf(`{"t":"reply","id":%d,"ok":[`, id); !strings.HasPrefix(f, want) {
				t.Fatalf("got %.80s, want %s…", f, want)
			}
			break
		}
	}
	if s := h.srv.Stats(); s.SlowClosed != 0 || s.Events == 0 {
		t.Errorf("stats %+v, want events and no slow close", s)
	}
}

// TestHangUpIsNotAnError: a peer that hangs up while its events are
// being written ends ServeStream without an error, whichever of the
// reader and the writer notices first.
func TestHangUpIsNotAnError(t *testing.T) {
	f := startFixture(t, nil)
	for range 20 {
		a, b := net.Pipe()
		srv := aimx.NewServer(f.db, &aimx.ServerOptions{Unlisted: true})
		served := make(chan error, 1)
		go func() { served <- srv.ServeStream(context.Background(), a, aimx.Lines) }()
		if _, err := b.Write([]byte(`{"t":"sub","id":1,"topic":"sensors.temp"}` + "\n")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the subscription", func() bool { return srv.Stats().Subscriptions == 1 })
		for i := range 50 {
			f.temp.Produce(Temp{float64(i)})
		}
		waitFor(t, 10*time.Second, "an event in the writer", func() bool { return srv.Stats().Events > 0 })
		b.Close()
		select {
		case err := <-served:
			if err != nil {
				t.Fatalf("ServeStream after the peer hung up: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("ServeStream did not return after the peer hung up")
		}
	}
}
