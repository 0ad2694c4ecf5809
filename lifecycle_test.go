//go:build !tinygo

// TinyGo has no testing/synctest: every test in this file runs in a
// synctest bubble, on virtual time, so they run on the gc targets only.

package aimdb_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
)

func TestShutdownDrainsTaps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := aimdb.New(nil)
		rec := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, countKey, aimdb.Ring(128)))
		rec.Source(func(ctx context.Context, p *aimdb.Producer[int]) error {
			for i := range 100 {
				_ = p.Produce(i)
			}
			<-ctx.Done()
			return ctx.Err()
		})
		var got atomic.Int64
		var tapDone atomic.Bool
		rec.Tap(func(ctx context.Context, s *aimdb.Subscription[int]) error {
			defer tapDone.Store(true)
			for _, err := range s.All(ctx) {
				if err != nil {
					return err
				}
				time.Sleep(time.Millisecond) // a slow consumer
				got.Add(1)
			}
			return nil
		})
		stop := aimdbtest.Start(t, db)
		start := time.Now()
		if err := stop(); err != nil {
			t.Fatalf("Run() = %v", err)
		}
		if !tapDone.Load() {
			t.Fatal("Run returned before the tap returned")
		}
		if n := got.Load(); n != 100 {
			t.Fatalf("tap drained %d values; want 100", n)
		}
		if d := time.Since(start); d != 100*time.Millisecond {
			t.Errorf("shutdown took %v; want the 100ms the tap needed", d)
		}
		if err := rec.Produce(1); !errors.Is(err, aimdb.ErrClosed) {
			t.Errorf("Produce after shutdown = %v; want ErrClosed", err)
		}
	})
}

func TestShutdownTimeoutCancelsStuckStage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := aimdb.New(&aimdb.Options{ShutdownTimeout: 2 * time.Second})
		rec := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, countKey, aimdb.Latest()))
		rec.Tap(func(ctx context.Context, s *aimdb.Subscription[int]) error {
			<-ctx.Done() // ignores the subscription ending
			return ctx.Err()
		})
		stop := aimdbtest.Start(t, db)
		start := time.Now()
		if err := stop(); err != nil {
			t.Fatalf("Run() = %v", err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("shutdown took %v; want the 2s timeout", d)
		}
	})
}

func TestExternalSubscriptionDrainsThenCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := aimdb.New(nil)
		rec := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, countKey, aimdb.Ring(8)))
		sub := aimdbtest.Must[*aimdb.Subscription[int]](t)(rec.Subscribe())
		defer sub.Close()
		stop := aimdbtest.Start(t, db)
		_ = rec.Produce(1)
		_ = rec.Produce(2)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		for _, want := range []int{1, 2} {
			if v, err := sub.Recv(t.Context()); err != nil || v != want {
				t.Fatalf("Recv() = %d, %v; want %d", v, err, want)
			}
		}
		if _, err := sub.Recv(t.Context()); !errors.Is(err, aimdb.ErrClosed) || !strings.Contains(err.Error(), countKey.Name()) {
			t.Fatalf("Recv() after drain = %v; want ErrClosed naming the record", err)
		}
	})
}

func TestRestartWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := aimdb.New(&aimdb.Options{RestartBackoff: 100 * time.Millisecond, MaxRestartBackoff: 300 * time.Millisecond})
		rec := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, countKey, aimdb.Latest()))
		var starts []time.Duration
		t0 := time.Now()
		rec.Source(func(ctx context.Context, p *aimdb.Producer[int]) error {
			starts = append(starts, time.Since(t0))
			if len(starts) <= 4 {
				return errors.New("sensor not ready")
			}
			<-ctx.Done()
			return nil
		}, aimdb.Named("sensor"))
		aimdbtest.Start(t, db)
		time.Sleep(time.Second)
		synctest.Wait()
		want := []time.Duration{0, 100 * time.Millisecond, 300 * time.Millisecond, 600 * time.Millisecond, 900 * time.Millisecond}
		if len(starts) != len(want) {
			t.Fatalf("source started at %v; want %v", starts, want)
		}
		for i := range want {
			if starts[i] != want[i] {
				t.Fatalf("source started at %v; want %v", starts, want)
			}
		}
		p := db.Records()[0].StageProfiling[0]
		if p.Name != "sensor" || p.ErrorCount != 4 || p.RestartCount != 4 || p.LastError != "sensor not ready" || !p.Running {
			t.Errorf("stage profile = %+v; want 4 errors and restarts, last error, running", p)
		}
	})
}

func TestPanickingTapIsRestartedAndKeepsItsPlace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := aimdb.New(nil)
		rec := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, countKey, aimdb.Ring(8)))
		var got []int
		rec.Tap(func(ctx context.Context, s *aimdb.Subscription[int]) error {
			for v, err := range s.All(ctx) {
				if err != nil {
					return err
				}
				if v == 2 {
					panic("bad value")
				}
				got = append(got, v)
			}
			return nil
		})
		aimdbtest.Start(t, db)
		for i := 1; i <= 4; i++ {
			_ = rec.Produce(i)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if want := []int{1, 3, 4}; len(got) != 3 || got[0] != 1 || got[1] != 3 || got[2] != 4 {
			t.Fatalf("tap got %v; want %v", got, want)
		}
		p := db.Records()[0].StageProfiling[0]
		if p.ErrorCount != 1 || !strings.Contains(p.LastError, "panic: bad value") {
			t.Errorf("stage profile = %+v; want one panic recorded", p)
		}
	})
}

func TestPanickingTransformIsRestarted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := aimdb.New(nil)
		in := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, rawKey, aimdb.Ring(8)))
		out := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, evenKey, aimdb.Ring(8)))
		aimdb.Transform(out, rawKey, func(v int) (int, bool) { return 100 / v, true })
		sub := aimdbtest.Must[*aimdb.Subscription[int]](t)(out.Subscribe())
		defer sub.Close()
		aimdbtest.Start(t, db)
		for _, v := range []int{1, 0, 2} {
			_ = in.Produce(v)
		}
		if got := aimdbtest.Collect(t, sub, 2); got[0] != 100 || got[1] != 50 {
			t.Fatalf("transform produced %v; want [100 50]", got)
		}
	})
}

func TestStopDBPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := aimdb.New(&aimdb.Options{OnStageError: aimdb.StopDB})
		rec := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, countKey, aimdb.Latest()))
		boom := errors.New("boom")
		rec.Source(func(ctx context.Context, p *aimdb.Producer[int]) error {
			time.Sleep(time.Second)
			return boom
		})
		err := db.Run(t.Context())
		se, ok := errors.AsType[*aimdb.StageError](err)
		if !ok || !errors.Is(err, boom) || se.Key != countKey.Name() || se.Stage != "source[0]" {
			t.Fatalf("Run() = %v; want *StageError for source[0] of %s wrapping boom", err, countKey)
		}
	})
}

func TestRunOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs syncBuffer
		db := aimdb.New(&aimdb.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		rec := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, countKey, aimdb.Latest()))
		fam := aimdbtest.Must[*aimdb.Family[int]](t)(aimdb.RegisterFamily(db, aimdb.NewFamily[int]("late.{id}.x"), aimdb.Latest()))
		stop := aimdbtest.Start(t, db)
		if err := db.Run(t.Context()); !errors.Is(err, aimdb.ErrStarted) {
			t.Errorf("second Run() = %v; want ErrStarted", err)
		}
		if _, err := aimdb.Register(db, aimdb.NewKey[int]("late.key.x"), aimdb.Latest()); !errors.Is(err, aimdb.ErrStarted) {
			t.Errorf("Register after Run = %v; want ErrStarted", err)
		}
		if _, err := aimdb.RegisterFamily(db, aimdb.NewFamily[int]("late.{id}.y"), aimdb.Latest()); !errors.Is(err, aimdb.ErrStarted) {
			t.Errorf("RegisterFamily after Run = %v; want ErrStarted", err)
		}
		// Configuration methods without a result neither panic nor take
		// effect after Run: each logs ErrStarted, naming the call.
		calls := map[string]func(){
			".Source()":       func() { rec.Source(nil) },
			".Tap()":          func() { rec.Tap(nil) },
			".LinkTo()":       func() { rec.LinkTo("x://y", nil) },
			".LinkFrom()":     func() { rec.LinkFrom("x://y", nil) },
			".RemoteAccess()": func() { rec.RemoteAccess(nil) },
			".Transform()":    func() { aimdb.Transform(rec, countKey, func(v int) (int, bool) { return v, true }) },
			"family .Tap()":   func() { fam.Tap(nil) },
		}
		for name, call := range calls {
			call()
			if !strings.Contains(logs.String(), "aimdb: db already started") {
				t.Errorf("%s after Run logged no ErrStarted; logs:\n%s", name, logs.String())
			}
			logs.Reset()
		}
		if md := db.Records()[0]; md.ProducerCount != 0 || md.ConsumerCount != 0 || len(md.Links) != 0 {
			t.Errorf("configuration after Run took effect: %+v", md)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if err := db.Run(t.Context()); !errors.Is(err, aimdb.ErrStarted) {
			t.Errorf("Run() after stop = %v; want ErrStarted", err)
		}
	})
}
