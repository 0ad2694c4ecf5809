//go:build !js && !wasip1

package sqlite_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/loopback"
	"github.com/aimdb-go/aimdb/persist"
	"github.com/aimdb-go/aimdb/persist/sqlite"
)

// gateway is one run of a program whose record "up" links to the
// broker through a durable outbox in the SQLite file at path.
type gateway struct {
	b    *sqlite.Backend
	db   *aimdb.DB
	rec  *aimdb.Record[int]
	stop func()
}

func startGateway(t *testing.T, path string, br *loopback.Broker, queue int) *gateway {
	t.Helper()
	b, err := sqlite.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ob, err := persist.NewOutbox(b, "gateway.up")
	if err != nil {
		t.Fatal(err)
	}
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"loop": br.Dialer()},
		LinkQueueSize: queue, ReconnectBackoff: time.Millisecond, MaxReconnectBackoff: 10 * time.Millisecond,
		ShutdownTimeout: 200 * time.Millisecond})
	rec, err := aimdb.Register(db, aimdb.NewKey[int]("up"), aimdb.Ring(256))
	if err != nil {
		t.Fatal(err)
	}
	rec.LinkTo("loop://up", seqCodec{}, aimdb.DurableOutbox(ob))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- db.Run(ctx) }()
	select {
	case <-db.Started():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	g := &gateway{b: b, db: db, rec: rec}
	var once sync.Once
	g.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			b.Close()
		})
	}
	t.Cleanup(g.stop)
	return g
}

// outboxLen is how many messages the outbox holds.
func outboxLen(t *testing.T, b *sqlite.Backend) int {
	t.Helper()
	msgs, err := b.OutboxLoad(t.Context(), "gateway.up")
	if err != nil {
		t.Fatal(err)
	}
	return len(msgs)
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// subscriber collects what the broker delivers on "up".
type subscriber struct {
	mu  sync.Mutex
	got []int
}

func subscribe(t *testing.T, br *loopback.Broker) *subscriber {
	t.Helper()
	s := &subscriber{}
	sess, err := br.Dialer().Dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	err = sess.Subscribe(t.Context(), &connector.Link{Topic: "up", Inbound: true}, func(m *connector.Message) {
		v, err := strconv.Atoi(string(m.Payload))
		if err != nil {
			t.Errorf("payload %q", m.Payload)
		}
		s.mu.Lock()
		s.got = append(s.got, v)
		s.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *subscriber) values() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.got...)
}

// wantSeq fails unless got is from, from+1, …, to-1.
func wantSeq(t *testing.T, got []int, from, to int) {
	t.Helper()
	if len(got) != to-from {
		t.Fatalf("received %d values %v; want %d to %d", len(got), got, from, to-1)
	}
	for i, v := range got {
		if v != from+i {
			t.Fatalf("value %d is %d; want %d (received %v)", i, v, from+i, got)
		}
	}
}

// TestOutboxSurvivesRestart: values produced while the broker is down
// survive a restart of the program and are published after it, in
// order, ahead of new values; delivered messages leave the outbox.
func TestOutboxSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gw.db")
	br := loopback.New()
	br.Stop()
	g := startGateway(t, path, br, 1024)
	for i := range 50 {
		if err := g.rec.Produce(i); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "50 messages in the outbox", func() bool { return outboxLen(t, g.b) == 50 })
	g.stop()

	br.Start()
	sub := subscribe(t, br)
	g = startGateway(t, path, br, 1024)
	if err := g.db.Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	wantSeq(t, sub.values(), 0, 50)
	for i := 50; i < 60; i++ {
		if err := g.rec.Produce(i); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.db.Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	wantSeq(t, sub.values(), 0, 60)
	if n := outboxLen(t, g.b); n != 0 {
		t.Fatalf("%d messages left in the outbox after delivery", n)
	}
}

// TestOutboxBounded: the outbox holds at most the link's queue; the
// oldest values beyond it are dropped, counted, and not published after
// the restart.
func TestOutboxBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gw.db")
	br := loopback.New()
	br.Stop()
	g := startGateway(t, path, br, 20)
	for i := range 50 {
		if err := g.rec.Produce(i); err != nil {
			t.Fatal(err)
		}
	}
	dropped := func() uint64 { return g.db.Records()[0].Links[0].Dropped }
	waitFor(t, "30 values dropped", func() bool { return dropped() == 30 })
	if n := outboxLen(t, g.b); n != 20 {
		t.Fatalf("the outbox holds %d messages; want the queue's 20", n)
	}
	g.stop()

	br.Start()
	sub := subscribe(t, br)
	g = startGateway(t, path, br, 20)
	if err := g.db.Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	wantSeq(t, sub.values(), 30, 50)
}

const outboxCrashEnv = "AIMDB_OUTBOX_CRASH_CHILD"

// TestOutboxCrashChild is the process TestOutboxCrash kills: with the
// environment variable set, it produces 1 000 values/s into a link
// whose broker is down. Without the variable it does nothing.
func TestOutboxCrashChild(t *testing.T) {
	path := os.Getenv(outboxCrashEnv)
	if path == "" {
		return
	}
	br := loopback.New()
	br.Stop()
	g := startGateway(t, path, br, 100000)
	fmt.Println("started")
	tick := time.NewTicker(time.Millisecond)
	for i := 0; ; i++ {
		if err := g.rec.Produce(i); err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		<-tick.C
	}
}

// TestOutboxCrash kills a gateway with SIGKILL while its broker is down
// and values stream into the outbox: after the restart every value the
// outbox held is published, in order, from the first with no gap.
func TestOutboxCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gw.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestOutboxCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), outboxCrashEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	defer func() {
		if !waited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	// Once the child created the database, read it beside the child (WAL
	// allows it).
	line, err := bufio.NewReader(out).ReadString('\n')
	if line != "started\n" {
		t.Fatalf("the child said %q, %v; want started", line, err)
	}
	peek, err := sqlite.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "300 messages in the outbox", func() bool {
		msgs, err := peek.OutboxLoad(t.Context(), "gateway.up")
		return err == nil && len(msgs) >= 300
	})
	peek.Close()
	cmd.Process.Kill()
	err = cmd.Wait()
	waited = true
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("the child ended with %v; want killed", err)
	}

	b, err := sqlite.Open(path, nil)
	if err != nil {
		t.Fatalf("reopening after the kill: %v", err)
	}
	var check string
	if err := b.DB().QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	stored, err := b.OutboxLoad(t.Context(), "gateway.up")
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	kept := len(stored)
	if kept < 300 {
		t.Fatalf("the outbox holds %d messages after the kill; it held 300 before", kept)
	}
	// The pump keeps up with 1 000 values/s, so the outbox holds every
	// value from the first: 0, 1, 2, … in the order they were produced.
	for i, m := range stored {
		if v, err := strconv.Atoi(string(m.Payload)); err != nil || v != i {
			t.Fatalf("outbox message %d holds %q; want %d", i, m.Payload, i)
		}
	}

	br := loopback.New()
	sub := subscribe(t, br)
	g := startGateway(t, path, br, 100000)
	if err := g.db.Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	wantSeq(t, sub.values(), 0, kept)
	t.Logf("killed with %d messages in the outbox; all published after the restart, in order", kept)
}

// BenchmarkOutboxAddDone is the store's cost of one value through a
// durable outbox: one Add and one Done, each its own transaction.
func BenchmarkOutboxAddDone(b *testing.B) {
	be, err := sqlite.Open(filepath.Join(b.TempDir(), "ob.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	ob, err := persist.NewOutbox(be, "bench")
	if err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"temp_c":21.5,"station":"st-0007"}`)
	ctx := context.Background()
	for b.Loop() {
		id, err := ob.Add(ctx, "site/7/readings", payload)
		if err != nil {
			b.Fatal(err)
		}
		if err := ob.Done(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}
