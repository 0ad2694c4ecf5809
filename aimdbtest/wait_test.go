//go:build !tinygo

// Not on TinyGo: the failure-path tests stop a recorder with
// runtime.Goexit, which TinyGo's wasip1 scheduler reports as a deadlock.
// The gc targets (js and wasip1 included) run every test here.

package aimdbtest_test

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/loopback"
)

// recorder is the testing.TB of a test that must fail: it records the
// failure and ends the calling goroutine, as t.Fatal does, and passes
// everything else to the real test.
type recorder struct {
	testing.TB
	deadline time.Time
	failure  string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatal(args ...any) { r.failure = fmt.Sprint(args...); runtime.Goexit() }

func (r *recorder) Fatalf(format string, args ...any) {
	r.failure = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Deadline() (time.Time, bool) { return r.deadline, !r.deadline.IsZero() }

// failure runs f with a recorder in its own goroutine, as the testing
// package runs a test, and returns the failure f reported ("" if none).
func failure(t *testing.T, deadline time.Duration, f func(t testing.TB)) string {
	r := &recorder{TB: t}
	if deadline > 0 {
		r.deadline = time.Now().Add(deadline)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r.failure
}

type intCodec struct{}

func (intCodec) Encode(v int) ([]byte, error) { return strconv.AppendInt(nil, int64(v), 10), nil }
func (intCodec) Decode(b []byte) (int, error) { return strconv.Atoi(string(b)) }

func TestRegisterSubscribe(t *testing.T) {
	db := aimdb.New(nil)
	key := aimdb.NewKey[int]("test.count.value")
	rec := aimdbtest.Register(t, db, key, aimdb.Ring(8))
	if again := aimdbtest.Register(t, db, key, aimdb.Ring(8)); again != rec {
		t.Errorf("Register of the same key and buffer returned another handle")
	}
	var sub *aimdb.Subscription[int]
	t.Run("subscribed", func(t *testing.T) {
		sub = aimdbtest.Subscribe(t, db, key)
		aimdbtest.Start(t, db)
		for i := range 3 {
			if err := rec.Produce(i); err != nil {
				t.Fatal(err)
			}
		}
		if got := aimdbtest.Collect(t, sub, 3); !slices.Equal(got, []int{0, 1, 2}) {
			t.Errorf("Collect = %v; want [0 1 2]", got)
		}
	})
	if _, err := sub.TryRecv(); !errors.Is(err, aimdb.ErrClosed) {
		t.Errorf("after the test that subscribed ended: TryRecv() error = %v; want ErrClosed", err)
	}
}

func TestRegisterSubscribeFail(t *testing.T) {
	tests := []struct {
		name string
		f    func(t testing.TB)
		want string
	}{
		{"invalid key", func(t testing.TB) {
			aimdbtest.Register(t, aimdb.New(nil), aimdb.NewKey[int]("bad key"), aimdb.Latest())
		}, `aimdbtest: record "bad key": invalid key`},
		{"another type", func(t testing.TB) {
			db := aimdb.New(nil)
			aimdbtest.Register(t, db, aimdb.NewKey[int]("a.b"), aimdb.Latest())
			aimdbtest.Register(t, db, aimdb.NewKey[string]("a.b"), aimdb.Latest())
		}, "different type"},
		{"unknown key", func(t testing.TB) {
			aimdbtest.Subscribe(t, aimdb.New(nil), aimdb.NewKey[int]("a.b"))
		}, `aimdbtest: subscribe: aimdb: unknown record key "a.b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := failure(t, 0, tt.f); !strings.Contains(got, tt.want) {
				t.Errorf("failure = %q; want one containing %q", got, tt.want)
			}
		})
	}
}

// linkedDB returns a DB with an outbound and an inbound link on broker.
func linkedDB(t *testing.T, broker *loopback.Broker) *aimdb.DB {
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"loop": broker.Dialer()}})
	aimdbtest.Register(t, db, aimdb.NewKey[int]("test.out"), aimdb.Ring(8)).LinkTo("loop://t/out", intCodec{})
	aimdbtest.Register(t, db, aimdb.NewKey[int]("test.in"), aimdb.Latest()).LinkFrom("loop://t/in", intCodec{})
	return db
}

func TestWaitLinksConnected(t *testing.T) {
	db := linkedDB(t, loopback.New())
	aimdbtest.Start(t, db)
	aimdbtest.WaitLinksConnected(t, db)
	n := 0
	for _, r := range db.Records() {
		for _, l := range r.Links {
			n++
			if l.State != aimdb.LinkConnected {
				t.Errorf("%s %s: state %s after WaitLinksConnected; want connected", r.RecordKey, l.Address, l.State)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d links; want 2", n)
	}
	aimdbtest.WaitLinksConnected(t, aimdb.New(nil)) // no links: returns at once
}

func TestWaitLinksConnectedFails(t *testing.T) {
	broker := loopback.New()
	broker.Stop()
	db := linkedDB(t, broker)
	aimdbtest.Start(t, db)
	start := time.Now()
	got := failure(t, 1200*time.Millisecond, func(t testing.TB) { aimdbtest.WaitLinksConnected(t, db) })
	for _, want := range []string{"2 link(s) not connected", "test.out out loop://t/out (", "test.in in loop://t/in ("} {
		if !strings.Contains(got, want) {
			t.Errorf("failure = %q; want one containing %q", got, want)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("WaitLinksConnected failed after %v; want it to end a second before the test's deadline", d)
	}
}
