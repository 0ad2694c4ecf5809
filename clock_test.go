package aimdb_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestVirtualClockWakesInDeadlineOrder(t *testing.T) {
	c := aimdb.NewVirtualClock(t0)
	var (
		mu    sync.Mutex
		woken []time.Duration
		wg    sync.WaitGroup
	)
	for _, d := range []time.Duration{3 * time.Second, time.Second, 2 * time.Second} {
		wg.Go(func() {
			if err := c.Sleep(context.Background(), d); err != nil {
				t.Errorf("Sleep(%v) = %v", d, err)
			}
			mu.Lock()
			woken = append(woken, c.Now().Sub(t0))
			mu.Unlock()
		})
	}
	if err := c.WaitSleepers(t.Context(), 3); err != nil {
		t.Fatal(err)
	}
	for i, want := range []time.Duration{time.Second, time.Second, time.Second} {
		d, ok := c.AdvanceToNext()
		if !ok || d != want {
			t.Fatalf("AdvanceToNext #%d = %v, %v; want %v", i, d, ok, want)
		}
		if err := c.WaitSleepers(t.Context(), 2-i); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if _, ok := c.AdvanceToNext(); ok {
		t.Fatal("AdvanceToNext with no sleepers reported true")
	}
	if got := c.Now().Sub(t0); got != 3*time.Second {
		t.Fatalf("clock at %v; want 3s", got)
	}
}

func TestVirtualClockSleepHonorsContext(t *testing.T) {
	c := aimdb.NewVirtualClock(t0)
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error)
	go func() { errc <- c.Sleep(ctx, time.Hour) }()
	if err := c.WaitSleepers(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep() = %v; want context.Canceled", err)
	}
	if n := c.Sleepers(); n != 0 {
		t.Fatalf("Sleepers() = %d after cancel; want 0", n)
	}
}

// TestVirtualClockFastForward runs a sensor that samples once a minute
// for a simulated day, in well under a second of real time.
func TestVirtualClockFastForward(t *testing.T) {
	clock := aimdb.NewVirtualClock(t0)
	db := aimdb.New(&aimdb.Options{Clock: clock})
	type sample struct {
		At    time.Time
		Value int
	}
	key := aimdb.NewKey[sample]("sim.sensor.minute")
	rec := aimdbtest.Must[*aimdb.Record[sample]](t)(aimdb.Register(db, key, aimdb.Ring(2000)))
	rec.Source(func(ctx context.Context, p *aimdb.Producer[sample]) error {
		for i := 0; ; i++ {
			if err := p.Clock().Sleep(ctx, time.Minute); err != nil {
				return nil
			}
			_ = p.Produce(sample{At: p.Clock().Now(), Value: i})
		}
	})
	sub := aimdbtest.Must[*aimdb.Subscription[sample]](t)(rec.Subscribe())
	defer sub.Close()
	aimdbtest.Start(t, db)
	for range 24 * 60 {
		if err := clock.WaitSleepers(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		clock.AdvanceToNext()
	}
	got := aimdbtest.Collect(t, sub, 24*60)
	for i, s := range got {
		if s.Value != i || !s.At.Equal(t0.Add(time.Duration(i+1)*time.Minute)) {
			t.Fatalf("sample %d = %+v; want value %d at %v", i, s, i, t0.Add(time.Duration(i+1)*time.Minute))
		}
	}
}
