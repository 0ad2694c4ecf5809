//go:build !tinygo

package aimdb_test

// TinyGo has no testing/synctest: the tests in this file run in a synctest
// bubble, on virtual time, so they run on the gc targets only.

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
)

func TestSourceTransformTap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := aimdb.New(nil)
		// Registered output first: order never matters.
		even := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, evenKey, aimdb.Ring(16)))
		raw := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, rawKey, aimdb.Ring(16)))
		aimdb.Transform(even, rawKey, func(v int) (int, bool) { return v * 10, v%2 == 0 })
		raw.Source(func(ctx context.Context, p *aimdb.Producer[int]) error {
			for i := range 10 {
				if err := p.Produce(i); err != nil {
					return err
				}
			}
			return nil
		})
		var got []int
		done := make(chan struct{})
		even.Tap(func(ctx context.Context, s *aimdb.Subscription[int]) error {
			defer close(done)
			for v, err := range s.All(ctx) {
				if err != nil {
					return err
				}
				got = append(got, v)
			}
			return nil
		})
		stop := aimdbtest.Start(t, db)
		synctest.Wait()
		if err := stop(); err != nil {
			t.Fatalf("Run() = %v", err)
		}
		<-done
		if want := []int{0, 20, 40, 60, 80}; !slices.Equal(got, want) {
			t.Fatalf("tap got %v; want %v", got, want)
		}
	})
}

func TestJoin2(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := aimdb.New(nil)
		aKey, bKey := aimdb.NewKey[int]("join.in.a"), aimdb.NewKey[int]("join.in.b")
		sumKey := aimdb.NewKey[int]("join.out.sum")
		sum := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, sumKey, aimdb.Ring(16)))
		aimdb.Join2(sum, aKey, bKey, func(a, b int) (int, bool) { return a + b, true })
		aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, aKey, aimdb.Latest()))
		aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, bKey, aimdb.Latest()))
		sub := aimdbtest.Must[*aimdb.Subscription[int]](t)(aimdb.Subscribe(db, sumKey))
		defer sub.Close()
		stop := aimdbtest.Start(t, db)
		step := func(k aimdb.Key[int], v, want int) {
			t.Helper()
			if err := aimdb.Produce(db, k, v); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			got, err := sub.TryRecv()
			if err != nil || got != want {
				t.Fatalf("after %s=%d: sum = %d, %v; want %d", k, v, got, err, want)
			}
		}
		if err := aimdb.Produce(db, aKey, 1); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if v, err := sub.TryRecv(); !errors.Is(err, aimdb.ErrEmpty) {
			t.Fatalf("join fired with one input: %d, %v", v, err)
		}
		step(bKey, 10, 11)
		step(aKey, 2, 12)
		step(bKey, 20, 22)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestJoin3(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := aimdb.New(nil)
		tk := aimdb.NewKey[float64]("room.temp.x")
		hk := aimdb.NewKey[float64]("room.humidity.x")
		lk := aimdb.NewKey[string]("room.label.x")
		ok := aimdb.NewKey[string]("room.summary.x")
		out := aimdbtest.Must[*aimdb.Record[string]](t)(aimdb.Register(db, ok, aimdb.Latest()))
		aimdb.Join3(out, tk, hk, lk, func(t, h float64, l string) (string, bool) {
			return l + ":" + strconvF(t) + "/" + strconvF(h), true
		})
		for _, k := range []aimdb.Key[float64]{tk, hk} {
			aimdbtest.Must[*aimdb.Record[float64]](t)(aimdb.Register(db, k, aimdb.Mailbox()))
		}
		aimdbtest.Must[*aimdb.Record[string]](t)(aimdb.Register(db, lk, aimdb.Latest()))
		_ = aimdb.Produce(db, lk, "kitchen") // before Run: Latest replays it
		aimdbtest.Start(t, db)
		_ = aimdb.Produce(db, tk, 21)
		_ = aimdb.Produce(db, hk, 40)
		synctest.Wait()
		rec := aimdbtest.Must[*aimdb.Record[string]](t)(aimdb.Lookup(db, ok))
		if v, _ := rec.Peek(); v != "kitchen:21/40" {
			t.Fatalf("summary = %q; want kitchen:21/40", v)
		}
		_ = aimdb.Produce(db, hk, 45)
		synctest.Wait()
		if v, _ := rec.Peek(); v != "kitchen:21/45" {
			t.Fatalf("summary = %q; want kitchen:21/45", v)
		}
	})
}

func strconvF(f float64) string { return string(rune('0'+int(f)/10)) + string(rune('0'+int(f)%10)) }
