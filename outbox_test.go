//go:build !baremetal

// Outboxes are not available on bare metal (persistence is off there).

package aimdb_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector"
)

// mapOutbox is an Outbox in a map; addErr makes Add fail.
type mapOutbox struct {
	mu     sync.Mutex
	next   uint64
	msgs   map[uint64]aimdb.OutboxMessage
	adds   int
	addErr error
}

func newMapOutbox(payloads ...string) *mapOutbox {
	o := &mapOutbox{msgs: map[uint64]aimdb.OutboxMessage{}}
	for _, p := range payloads {
		o.next++
		o.msgs[o.next] = aimdb.OutboxMessage{ID: o.next, Topic: "t", Payload: []byte(p)}
	}
	return o
}

func (o *mapOutbox) Load(context.Context) ([]aimdb.OutboxMessage, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []aimdb.OutboxMessage
	for _, m := range o.msgs {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b aimdb.OutboxMessage) int { return int(a.ID) - int(b.ID) })
	return out, nil
}

func (o *mapOutbox) Add(_ context.Context, topic string, payload []byte) (uint64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.adds++
	if o.addErr != nil {
		return 0, o.addErr
	}
	o.next++
	o.msgs[o.next] = aimdb.OutboxMessage{ID: o.next, Topic: topic, Payload: slices.Clone(payload)}
	return o.next, nil
}

func (o *mapOutbox) Done(_ context.Context, id uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.msgs, id)
	return nil
}

// held returns the payloads the outbox holds, oldest first.
func (o *mapOutbox) held() []string {
	msgs, _ := o.Load(context.Background())
	var out []string
	for _, m := range msgs {
		out = append(out, string(m.Payload))
	}
	return out
}

// outboxDB runs a DB whose ring "t" links to p through ob; stop ends Run.
func outboxDB(t *testing.T, p *peer, ob aimdb.Outbox, logs *syncBuffer) (db *aimdb.DB, rec *aimdb.Record[int], stop func()) {
	t.Helper()
	opts := &aimdb.Options{Connectors: map[string]connector.Dialer{"peer": p},
		ReconnectBackoff: time.Millisecond, MaxReconnectBackoff: 5 * time.Millisecond,
		LinkQueueSize: 1024, ShutdownTimeout: 50 * time.Millisecond}
	if logs != nil {
		opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	db = aimdb.New(opts)
	rec, err := aimdb.Register(db, aimdb.NewKey[int]("t"), aimdb.Ring(1024))
	if err != nil {
		t.Fatal(err)
	}
	rec.LinkTo("peer://t", intCodec{}, aimdb.DurableOutbox(ob))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- db.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case <-db.Started():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	return db, rec, stop
}

func nums(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, strconv.Itoa(i))
	}
	return out
}

// TestDurableOutboxLoadsFirst: what the outbox kept from the last run is
// published first, in its order, then the new values; every delivered
// message leaves the outbox, and refused ones too.
func TestDurableOutboxLoadsFirst(t *testing.T) {
	for _, window := range []int{1, 16} {
		t.Run("window="+strconv.Itoa(window), func(t *testing.T) {
			p := newPeer(50*time.Microsecond, window)
			p.refuse = func(s string) bool { return s == "7" }
			ob := newMapOutbox(nums(100, 105)...)
			db, rec, _ := outboxDB(t, p, ob, nil)
			for i := range 20 {
				if err := rec.Produce(i); err != nil {
					t.Fatal(err)
				}
			}
			var fe *aimdb.FlushError
			if err := db.Flush(context.Background()); !errors.As(err, &fe) || fe.Failed != 1 {
				t.Fatalf("Flush = %v; want one value failed (the refused 7)", err)
			}
			got := p.got()
			want := append(nums(100, 105), slices.DeleteFunc(nums(0, 20), func(s string) bool { return s == "7" })...)
			if window == 1 && !slices.Equal(got, want) {
				t.Fatalf("the peer accepted %v; want %v", got, want)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("the peer accepted %v; want %v in any order", got, want)
			}
			if held := ob.held(); len(held) != 0 {
				t.Fatalf("the outbox still holds %v after every message was delivered or refused", held)
			}
			if ob.adds != 20 {
				t.Fatalf("%d values added to the outbox; want 20 (the loaded ones are not added again)", ob.adds)
			}
		})
	}
}

// TestDurableOutboxKeepsAtShutdown: values that could not be delivered
// before Run ended stay in the outbox, in order, for the next run.
func TestDurableOutboxKeepsAtShutdown(t *testing.T) {
	p := newPeer(0, 1)
	p.setDown(true)
	ob := newMapOutbox()
	_, rec, stop := outboxDB(t, p, ob, nil)
	for i := range 30 {
		if err := rec.Produce(i); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); len(ob.held()) < 30; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the outbox holds %d messages; want 30", len(ob.held()))
		}
	}
	stop()
	if held := ob.held(); !slices.Equal(held, nums(0, 30)) {
		t.Fatalf("after shutdown the outbox holds %v; want 0 to 29", held)
	}
	// The next run publishes them.
	p.setDown(false)
	db, _, _ := outboxDB(t, p, ob, nil)
	if err := db.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := p.got(); !slices.Equal(got, nums(0, 30)) {
		t.Fatalf("the next run published %v; want 0 to 29", got)
	}
	if held := ob.held(); len(held) != 0 {
		t.Fatalf("the outbox still holds %v", held)
	}
}

// TestDurableOutboxAddFails: a value the outbox could not store is still
// published, from memory, with a warning.
func TestDurableOutboxAddFails(t *testing.T) {
	p := newPeer(0, 1)
	ob := newMapOutbox()
	ob.addErr = errors.New("disk full")
	var logs syncBuffer
	db, rec, _ := outboxDB(t, p, ob, &logs)
	for i := range 5 {
		if err := rec.Produce(i); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := p.got(); !slices.Equal(got, nums(0, 5)) {
		t.Fatalf("the peer accepted %v; want 0 to 4", got)
	}
	if s := logs.String(); !strings.Contains(s, "queued in memory only") || !strings.Contains(s, "disk full") {
		t.Fatalf("no warning naming the failure; log:\n%s", s)
	}
}

// TestDurableOutboxConfigErrors: an outbox where none can apply fails
// Run, naming the link.
func TestDurableOutboxConfigErrors(t *testing.T) {
	ob := newMapOutbox()
	cases := []struct {
		name string
		add  func(db *aimdb.DB) error
		want string
	}{
		{"inbound", func(db *aimdb.DB) error {
			r, err := aimdb.Register(db, aimdb.NewKey[int]("in"), aimdb.Latest())
			if err == nil {
				r.LinkFrom("peer://in", intCodec{}, aimdb.DurableOutbox(ob))
			}
			return err
		}, "DurableOutbox applies to .LinkTo() only"},
		{"family", func(db *aimdb.DB) error {
			f, err := aimdb.RegisterFamily(db, aimdb.NewFamily[int]("f.{id}"), aimdb.Latest(), aimdb.MaxInstances(2))
			if err == nil {
				f.LinkTo("peer://f/{id}", intCodec{}, aimdb.DurableOutbox(ob))
			}
			return err
		}, "DurableOutbox applies to a record's .LinkTo(), not a family's"},
		{"nil", func(db *aimdb.DB) error {
			r, err := aimdb.Register(db, aimdb.NewKey[int]("out"), aimdb.Latest())
			if err == nil {
				r.LinkTo("peer://out", intCodec{}, aimdb.DurableOutbox(nil))
			}
			return err
		}, "DurableOutbox given a nil Outbox"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"peer": newPeer(0, 1)}})
			if err := c.add(db); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := db.Run(ctx)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "peer://") {
				t.Fatalf("Run = %v; want an error naming the link and %q", err, c.want)
			}
		})
	}
}
