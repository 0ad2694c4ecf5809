//go:build !race && !tinygo

// The race detector allocates on its own, so allocation gates run only in
// builds without it; .ci/run runs them separately. The gates pin what the
// gc compiler's escape analysis achieves; TinyGo has its own escape
// analysis and allocator, so they do not apply to TinyGo builds.

package aimdb_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/contract"
)

// telemetry is the 24-byte payload of AimDB's benchmarks.
type telemetry struct {
	SensorID uint32
	Value    float64
	Sequence uint64
}

func TestAllocsProduceRecv(t *testing.T) {
	for _, buf := range []aimdb.Buffer{aimdb.Ring(1024), aimdb.Latest(), aimdb.Mailbox()} {
		for _, subs := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/subs=%d", buf, subs), func(t *testing.T) {
				db := aimdb.New(nil)
				key := aimdb.NewKey[telemetry]("bench.telemetry.x")
				rec := aimdbtest.Must[*aimdb.Record[telemetry]](t)(aimdb.Register(db, key, buf))
				var ss []*aimdb.Subscription[telemetry]
				for range subs {
					s := aimdbtest.Must[*aimdb.Subscription[telemetry]](t)(rec.Subscribe())
					defer s.Close()
					ss = append(ss, s)
				}
				ctx := context.Background()
				var i uint64
				allocs := testing.AllocsPerRun(1000, func() {
					i++
					if err := aimdb.Produce(db, key, telemetry{1, float64(i), i}); err != nil {
						t.Fatal(err)
					}
					for j, s := range ss {
						if buf.Type() == "mailbox" && j > 0 {
							break // one shared slot: only one reader gets it
						}
						if _, err := s.Recv(ctx); err != nil {
							t.Fatal(err)
						}
					}
				})
				if allocs != 0 {
					t.Errorf("%v allocs per produce→recv; want 0", allocs)
				}
			})
		}
	}
}

// pipelineMallocs runs n messages through source → transform → tap in
// lockstep and returns the heap allocations per message.
func pipelineMallocs(t *testing.T, n int, f func(telemetry) (telemetry, bool)) float64 {
	db := aimdb.New(nil)
	in := aimdbtest.Must[*aimdb.Record[telemetry]](t)(aimdb.Register(db, aimdb.NewKey[telemetry]("pipe.in.x"), aimdb.Ring(1024)))
	out := aimdbtest.Must[*aimdb.Record[telemetry]](t)(aimdb.Register(db, aimdb.NewKey[telemetry]("pipe.out.x"), aimdb.Ring(1024)))
	aimdb.Transform(out, in.Key(), f)
	ack := make(chan struct{})
	start := make(chan struct{})
	in.Source(func(ctx context.Context, p *aimdb.Producer[telemetry]) error {
		<-start
		for i := range uint64(2 * n) { // first half warms up
			_ = p.Produce(telemetry{7, float64(i), i})
			select {
			case <-ack:
			case <-ctx.Done():
				return nil
			}
		}
		<-ctx.Done()
		return nil
	})
	var before, after runtime.MemStats
	done := make(chan struct{})
	out.Tap(func(ctx context.Context, s *aimdb.Subscription[telemetry]) error {
		for i := 0; i < 2*n; i++ {
			if _, err := s.Recv(ctx); err != nil {
				return err
			}
			if i == n-1 {
				runtime.ReadMemStats(&before)
			}
			ack <- struct{}{}
		}
		runtime.ReadMemStats(&after)
		close(done)
		return nil
	})
	aimdbtest.Start(t, db)
	close(start)
	<-done
	return float64(after.Mallocs-before.Mallocs) / float64(n)
}

func TestAllocsPipeline(t *testing.T) {
	const n = 50_000
	per := pipelineMallocs(t, n, func(v telemetry) (telemetry, bool) { v.Value *= 2; return v, true })
	// A handful of runtime allocations (timers, GC workers) over 50,000
	// messages is noise; one per message is a regression.
	if per > 0.001 {
		t.Errorf("source→transform→tap: %.4f allocs per message; want 0", per)
	}
}

var sink *telemetry

func TestAllocsPipelineControl(t *testing.T) {
	// The gate must see an allocation when there is one.
	per := pipelineMallocs(t, 5_000, func(v telemetry) (telemetry, bool) {
		sink = &telemetry{v.SensorID, v.Value, v.Sequence}
		return v, true
	})
	if per < 1 {
		t.Errorf("control: %.4f allocs per message; want at least 1", per)
	}
}

func TestAllocsFamilyProduce(t *testing.T) {
	db := aimdb.New(nil)
	fam := aimdbtest.Must[*aimdb.Family[telemetry]](t)(aimdb.RegisterFamily(db,
		aimdb.NewFamily[telemetry]("alloc.{id}.t"), aimdb.Latest()))
	aimdbtest.Start(t, db)
	key := fam.Key().Instance("1")

	// Positive control: a Produce that creates an instance allocates.
	// AllocsPerRun calls the function once more than runs, to warm up.
	const runs = 10
	fresh := []aimdb.Key[telemetry]{key}
	for n := range runs {
		fresh = append(fresh, fam.Key().Instance(fmt.Sprint("new", n)))
	}
	created := testing.AllocsPerRun(runs, func() {
		if err := aimdb.Produce(db, fresh[0], telemetry{}); err != nil {
			t.Fatal(err)
		}
		fresh = fresh[1:]
	})
	if created == 0 {
		t.Errorf("creating an instance: 0 allocs; want > 0 (is the gate wired up?)")
	}

	rec := aimdbtest.Must[*aimdb.Record[telemetry]](t)(fam.Instance("1"))
	var i uint64
	for _, tc := range []struct {
		name    string
		produce func(telemetry) error
	}{
		{"key", func(v telemetry) error { return aimdb.Produce(db, key, v) }},
		{"handle", rec.Produce},
	} {
		allocs := testing.AllocsPerRun(1000, func() {
			i++
			if err := tc.produce(telemetry{1, float64(i), i}); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("Produce on an existing instance by %s: %v allocs; want 0", tc.name, allocs)
		}
	}
}

// observed is an Observable telemetry: its record keeps a gauge.
type observed telemetry

func (observed) Schema() contract.Schema { return contract.Schema{Name: "observed", Version: 1} }
func (o observed) Signal() float64       { return o.Value }

// TestAllocsObservable checks that an Observable record's gauge costs
// no allocation per value.
func TestAllocsObservable(t *testing.T) {
	db := aimdb.New(nil)
	key := aimdb.NewKey[observed]("bench.observed.x")
	rec := aimdbtest.Must[*aimdb.Record[observed]](t)(aimdb.Register(db, key, aimdb.Latest()))
	aimdb.Observe(rec)
	p := rec.Producer()
	var i uint64
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		if err := p.Produce(observed{1, float64(i), i}); err != nil {
			t.Fatal(err)
		}
		if err := aimdb.Produce(db, key, observed{1, float64(i), i}); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocs per observed produce; want 0", allocs)
	}
	if st := db.Records()[0].SignalStats; len(st) != 1 || st[0].Count != 2002 {
		t.Errorf("signal stats %+v; want one gauge of 2002 values", st)
	}
}
