package aimdb_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
)

// TestWaitIdle produces into a transform → tap pipeline and a family, and
// checks that after WaitIdle every value has arrived, with no sleep.
func TestWaitIdle(t *testing.T) {
	for range 20 {
		db := aimdb.New(nil)
		if err := db.WaitIdle(t.Context()); !errors.Is(err, aimdb.ErrNotRunning) {
			t.Fatalf("WaitIdle before Run = %v; want ErrNotRunning", err)
		}
		src := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, aimdb.NewKey[int]("idle.src"), aimdb.Ring(128)))
		dst := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, aimdb.NewKey[int]("idle.dst"), aimdb.Ring(128)))
		aimdb.Transform(dst, src.Key(), func(v int) (int, bool) { return 2 * v, true })
		fam := mustFamily(t, db, aimdb.NewFamily[int]("idle.{id}.v"), aimdb.Ring(128))
		var (
			mu        sync.Mutex
			got, fgot []int
		)
		dst.Tap(func(ctx context.Context, s *aimdb.Subscription[int]) error {
			for v := range s.All(ctx) {
				mu.Lock()
				got = append(got, v)
				mu.Unlock()
			}
			return nil
		})
		fam.Tap(func(ctx context.Context, s *aimdb.FamilySubscription[int]) error {
			for {
				_, v, err := s.Recv(ctx)
				if err != nil {
					return nil
				}
				mu.Lock()
				fgot = append(fgot, v)
				mu.Unlock()
			}
		})
		stop := aimdbtest.Start(t, db)
		var want []int
		for i := range 100 {
			_ = src.Produce(i)
			_ = aimdb.Produce(db, aimdb.NewFamily[int]("idle.{id}.v").Instance("a"), i)
			want = append(want, 2*i)
		}
		if err := db.WaitIdle(t.Context()); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		ok := slices.Equal(got, want) && len(fgot) == 100
		mu.Unlock()
		if !ok {
			t.Fatalf("after WaitIdle the tap saw %d of 100 values, the family tap %d", len(got), len(fgot))
		}
		_ = stop()
	}
}

// TestWatchRecords sees every instance created, before its first value.
func TestWatchRecords(t *testing.T) {
	db := aimdb.New(nil)
	k := aimdb.NewFamily[int]("w.{id}.v")
	mustFamily(t, db, k, aimdb.Latest())
	aimdbtest.Start(t, db)
	var (
		mu   sync.Mutex
		keys []string
	)
	cancel := db.WatchRecords(func(key string) {
		mu.Lock()
		keys = append(keys, key)
		mu.Unlock()
		if rec, err := aimdb.Lookup(db, aimdb.NewKey[int](key)); err != nil {
			t.Errorf("watched key %q not registered: %v", key, err)
		} else if _, ok := rec.Peek(); ok {
			t.Errorf("watched key %q already holds a value", key)
		}
	})
	_ = aimdb.Produce(db, k.Instance("1"), 1)
	_ = aimdb.Produce(db, k.Instance("1"), 2) // exists: no call
	_ = aimdb.Produce(db, k.Instance("2"), 1)
	cancel()
	_ = aimdb.Produce(db, k.Instance("3"), 1)
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"w.1.v", "w.2.v"}; !slices.Equal(keys, want) {
		t.Errorf("watched %v; want %v", keys, want)
	}
}
