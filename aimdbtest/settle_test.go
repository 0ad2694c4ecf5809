//go:build !tinygo

package aimdbtest_test

// Not on TinyGo: under TinyGo's wasip1 scheduler the blocked tap of
// TestSettleFails leaves no event source and the runtime reports a
// deadlock; the gc targets (js and wasip1 included) run both tests.

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
)

// TestSettle produces into a transform and a tap and checks, with no
// sleep or retry, that everything arrived once Settle returns.
func TestSettle(t *testing.T) {
	db := aimdb.New(nil)
	src := aimdbtest.Register(t, db, aimdb.NewKey[int]("test.src"), aimdb.Ring(64))
	dst := aimdbtest.Register(t, db, aimdb.NewKey[int]("test.dst"), aimdb.Ring(64))
	aimdb.Transform(dst, src.Key(), func(v int) (int, bool) { return v * 2, true })
	var (
		mu  sync.Mutex
		got []int
	)
	dst.Tap(func(ctx context.Context, s *aimdb.Subscription[int]) error {
		for v := range s.All(ctx) {
			mu.Lock()
			got = append(got, v)
			mu.Unlock()
		}
		return nil
	})
	aimdbtest.Start(t, db)
	var want []int
	for i := range 50 {
		_ = src.Produce(i)
		want = append(want, 2*i)
	}
	aimdbtest.Settle(t, db)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Fatalf("after Settle the tap saw %v; want %v", got, want)
	}
	if md := db.Records()[1]; md.RecordKey != "test.dst" || md.ProducedCount != 50 {
		t.Errorf("test.dst metadata %+v; want 50 produced", md)
	}
}

// TestSettleFails reports a pipeline that never settles.
func TestSettleFails(t *testing.T) {
	db := aimdb.New(nil)
	rec := aimdbtest.Register(t, db, aimdb.NewKey[int]("test.stuck"), aimdb.Ring(4))
	release := make(chan struct{})
	rec.Tap(func(ctx context.Context, s *aimdb.Subscription[int]) error {
		for range s.All(ctx) {
			<-release // busy until the test ends
		}
		return nil
	})
	aimdbtest.Start(t, db)
	t.Cleanup(func() { close(release) })
	_ = rec.Produce(1)
	if got := failure(t, 1200*time.Millisecond, func(t testing.TB) { aimdbtest.Settle(t, db) }); !strings.Contains(got, "the pipeline did not settle") {
		t.Errorf("failure = %q; want the pipeline did not settle", got)
	}
}
