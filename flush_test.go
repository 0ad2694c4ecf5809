//go:build !baremetal

// Flush is not available on bare metal (receipts_baremetal.go).

package aimdb_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector"
)

// peer is a connector whose publishes take a while to be accepted, one
// at a time (Publish) or several in flight acknowledged out of order
// (window > 1: a Pipeliner), and that refuses the payloads refuse names.
// While down it cannot be dialled.
type peer struct {
	delay  time.Duration
	window int
	refuse func(payload string) bool

	mu       sync.Mutex
	down     bool
	accepted []string // payloads, in the order they were accepted
	sessions []*peerSession
}

func newPeer(delay time.Duration, window int) *peer {
	return &peer{delay: delay, window: window}
}

func (p *peer) setDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
}

// cut ends every session and refuses dials until setDown(false).
func (p *peer) cut() {
	p.mu.Lock()
	p.down = true
	sessions := p.sessions
	p.sessions = nil
	p.mu.Unlock()
	for _, s := range sessions {
		s.once.Do(func() { close(s.done) })
	}
}

func (p *peer) got() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.accepted...)
}

func (p *peer) Dial(ctx context.Context) (connector.Session, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return nil, errors.New("peer: down")
	}
	s := &peerSession{p: p, done: make(chan struct{})}
	p.sessions = append(p.sessions, s)
	if p.window > 1 {
		return &pipelinedSession{s}, nil
	}
	return s, nil
}

type peerSession struct {
	p    *peer
	wg   sync.WaitGroup
	once sync.Once
	done chan struct{}
}

func (s *peerSession) accept(ctx context.Context, payload string) error {
	select {
	case <-time.After(s.p.delay):
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return connector.ErrNotConnected
	}
	if s.p.refuse != nil && s.p.refuse(payload) {
		return fmt.Errorf("peer: %s refused", payload)
	}
	s.p.mu.Lock()
	s.p.accepted = append(s.p.accepted, payload)
	s.p.mu.Unlock()
	return nil
}

func (s *peerSession) Publish(ctx context.Context, m *connector.Message) error {
	return s.accept(ctx, string(m.Payload))
}

func (s *peerSession) Subscribe(context.Context, *connector.Link, func(*connector.Message)) error {
	return nil
}
func (s *peerSession) Done() <-chan struct{} { return s.done }
func (s *peerSession) Close() error {
	s.once.Do(func() { close(s.done) })
	s.wg.Wait()
	return nil
}

type pipelinedSession struct{ *peerSession }

func (s *pipelinedSession) PublishWindow() int { return s.p.window }

func (s *pipelinedSession) PublishAsync(ctx context.Context, m *connector.Message, done func(*connector.Message, error)) (bool, error) {
	payload := string(m.Payload)
	jitter := time.Duration(rand.N(int64(s.p.delay) + 1)) // acknowledgements come out of order
	s.wg.Go(func() {
		time.Sleep(jitter)
		done(m, s.accept(context.WithoutCancel(ctx), payload))
	})
	return true, nil
}

// flushDB runs a DB whose record "t" (a ring) and family "f.{id}" link to
// the peer; it returns them and stops the DB at the end of the test.
func flushDB(t *testing.T, p *peer) (*aimdb.DB, *aimdb.Record[int], *aimdb.Family[int]) {
	t.Helper()
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"peer": p},
		ReconnectBackoff: time.Millisecond, MaxReconnectBackoff: 5 * time.Millisecond, LinkQueueSize: 1024})
	rec, err := aimdb.Register(db, aimdb.NewKey[int]("t"), aimdb.Ring(1024))
	if err != nil {
		t.Fatal(err)
	}
	rec.LinkTo("peer://t", intCodec{})
	fam, err := aimdb.RegisterFamily(db, aimdb.NewFamily[int]("f.{id}"), aimdb.Ring(1024), aimdb.MaxInstances(8))
	if err != nil {
		t.Fatal(err)
	}
	fam.LinkTo("peer://f/{id}", intCodec{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- db.Run(ctx) }()
	t.Cleanup(func() {
		p.setDown(false) // let shutdown drain
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-db.Started():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	return db, rec, fam
}

// produce writes n values to the record and n to the family's instances
// (f.0 … f.3), numbered from base.
func produce(t *testing.T, rec *aimdb.Record[int], fam *aimdb.Family[int], base, n int) {
	t.Helper()
	for i := range n {
		if err := rec.Produce(base + i); err != nil {
			t.Fatal(err)
		}
		in, err := fam.Instance(strconv.Itoa(i % 4))
		if err != nil {
			t.Fatal(err)
		}
		if err := in.Produce(-(base + i) - 1); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFlushDelivers: Flush returns only once every value produced before
// it was accepted by the peer, through a slow serial session and a
// pipelined one whose acknowledgements come out of order.
func TestFlushDelivers(t *testing.T) {
	for _, window := range []int{1, 16} {
		t.Run("window="+strconv.Itoa(window), func(t *testing.T) {
			p := newPeer(200*time.Microsecond, window)
			db, rec, fam := flushDB(t, p)
			const n = 200
			produce(t, rec, fam, 0, n)
			if err := db.Flush(context.Background()); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			got := map[string]bool{}
			for _, v := range p.got() {
				got[v] = true
			}
			for i := range n {
				for _, v := range []int{i, -i - 1} {
					if !got[strconv.Itoa(v)] {
						t.Fatalf("Flush returned before value %d was accepted (%d of %d accepted)", v, len(got), 2*n)
					}
				}
			}
			// A second Flush, with nothing new, returns at once.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := db.Flush(ctx); err != nil {
				t.Fatalf("second Flush: %v", err)
			}
		})
	}
}

// TestFlushPeerDown: while the peer cannot be reached Flush waits, and
// its context's end reports exactly the values still pending; once the
// peer is back, a Flush delivers them.
func TestFlushPeerDown(t *testing.T) {
	p := newPeer(0, 1)
	db, rec, fam := flushDB(t, p)
	p.cut()
	const n = 10
	produce(t, rec, fam, 0, n)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := db.Flush(ctx)
	var fe *aimdb.FlushError
	if !errors.As(err, &fe) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush = %v; want a *FlushError wrapping context.DeadlineExceeded", err)
	}
	if fe.Pending != 2*n || fe.Failed != 0 {
		t.Errorf("Flush = %+v; want Pending %d, Failed 0", fe, 2*n)
	}
	if got := p.got(); len(got) != 0 {
		t.Fatalf("the peer accepted %v while down", got)
	}
	p.setDown(false)
	if err := db.Flush(context.Background()); err != nil {
		t.Fatalf("Flush after the peer came back: %v", err)
	}
	if got := p.got(); len(got) != 2*n {
		t.Fatalf("the peer accepted %d values; want %d", len(got), 2*n)
	}
}

// TestFlushReportsFailures: values the peer refuses are counted, once,
// by the Flush that covers them.
func TestFlushReportsFailures(t *testing.T) {
	for _, window := range []int{1, 16} {
		t.Run("window="+strconv.Itoa(window), func(t *testing.T) {
			p := newPeer(0, window)
			p.refuse = func(v string) bool { return v == "3" || v == "-6" || v == "7" }
			db, rec, fam := flushDB(t, p)
			produce(t, rec, fam, 0, 10)
			err := db.Flush(context.Background())
			var fe *aimdb.FlushError
			if !errors.As(err, &fe) || fe.Failed != 3 || fe.Pending != 0 || fe.Err != nil {
				t.Fatalf("Flush = %#v; want a *FlushError with Failed 3", err)
			}
			if len(p.got()) != 17 {
				t.Errorf("the peer accepted %d values; want 17", len(p.got()))
			}
			produce(t, rec, fam, 100, 10)
			if err := db.Flush(context.Background()); err != nil {
				t.Fatalf("the next Flush = %v; want nil: the failures were reported", err)
			}
		})
	}
}

func TestFlushNotRunning(t *testing.T) {
	db := aimdb.New(nil)
	if err := db.Flush(context.Background()); !errors.Is(err, aimdb.ErrNotRunning) {
		t.Fatalf("Flush = %v; want ErrNotRunning", err)
	}
}

// TestFlushLatest: for a SingleLatest record, values collapse while the
// link is busy; Flush returns once the newest one was accepted.
func TestFlushLatest(t *testing.T) {
	p := newPeer(time.Millisecond, 1)
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"peer": p}})
	rec, err := aimdb.Register(db, aimdb.NewKey[int]("l"), aimdb.Latest())
	if err != nil {
		t.Fatal(err)
	}
	rec.LinkTo("peer://l", intCodec{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- db.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	<-db.Started()
	for round := range 3 {
		for i := range 50 {
			if err := rec.Produce(100*round + i); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Flush(context.Background()); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		got := p.got()
		if last, want := got[len(got)-1], strconv.Itoa(100*round+49); last != want {
			t.Fatalf("round %d: the peer's last value is %s when Flush returned; want %s", round, last, want)
		}
	}
}

// TestShutdownReportsUndelivered: values the peer refused since the last
// Flush are named in one warning at shutdown.
func TestShutdownReportsUndelivered(t *testing.T) {
	p := newPeer(0, 1)
	p.refuse = func(v string) bool { v0, _ := strconv.Atoi(v); return v0 >= 10 && v0%2 == 0 }
	var logs syncBuffer
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"peer": p},
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	rec, err := aimdb.Register(db, aimdb.NewKey[int]("t"), aimdb.Ring(64))
	if err != nil {
		t.Fatal(err)
	}
	rec.LinkTo("peer://t", intCodec{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- db.Run(ctx) }()
	<-db.Started()
	for i := range 10 { // 0 … 9: delivered
		_ = rec.Produce(i)
	}
	if err := db.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 10; i < 20; i++ { // 10, 12, … 18 refused
		_ = rec.Produce(i)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "values not delivered since the last Flush") || !strings.Contains(out, "count=5") {
		t.Fatalf("shutdown log does not report 5 undelivered values:\n%s", out)
	}
	if n := len(p.got()); n != 15 {
		t.Errorf("the peer accepted %d values; want 15", n)
	}
}
