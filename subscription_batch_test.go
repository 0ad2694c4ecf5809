package aimdb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
)

// RecvBatch keeps Recv's contract: values in order, every value received
// or counted in exactly one *LagError, whatever the batch sizes.
func TestRecvBatchKeepsTheLagContract(t *testing.T) {
	for _, c := range []struct {
		name string
		buf  aimdb.Buffer
		cap  int
	}{{"ring4/batch1", aimdb.Ring(4), 1}, {"ring4/batch3", aimdb.Ring(4), 3}, {"ring64/batch16", aimdb.Ring(64), 16}, {"ring8/batch256", aimdb.Ring(8), 256}} {
		t.Run(c.name, func(t *testing.T) {
			db := aimdb.New(nil)
			rec := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, countKey, c.buf))
			sub := aimdbtest.Must[*aimdb.Subscription[int]](t)(rec.Subscribe())
			defer sub.Close()
			const n = 200_000
			go func() {
				for i := range n {
					_ = rec.Produce(i)
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			buf := make([]int, 0, c.cap)
			next, got, missed, batches := 0, 0, 0, 0
			for next < n {
				var err error
				buf, err = sub.RecvBatch(ctx, buf[:0])
				if lag, ok := errors.AsType[*aimdb.LagError](err); ok {
					if len(buf) != 0 {
						t.Fatalf("a *LagError came with %d values", len(buf))
					}
					missed += int(lag.Missed)
					next += int(lag.Missed)
					continue
				}
				if err != nil {
					t.Fatalf("RecvBatch: %v after %d values", err, next)
				}
				if len(buf) == 0 || len(buf) > max(c.cap, 1) {
					t.Fatalf("RecvBatch returned %d values; want 1..%d", len(buf), max(c.cap, 1))
				}
				batches++
				for _, v := range buf {
					if v != next {
						t.Fatalf("got %d, want %d (after %d received, %d missed)", v, next, got, missed)
					}
					next++
					got++
				}
			}
			if got+missed != n {
				t.Fatalf("received %d + missed %d = %d; want %d", got, missed, got+missed, n)
			}
			if m := db.Records()[0]; m.ConsumedCount != uint64(got) || m.DroppedCount != uint64(missed) {
				t.Fatalf("metadata: consumed %d, dropped %d; want %d, %d", m.ConsumedCount, m.DroppedCount, got, missed)
			}
			t.Logf("%d values in %d batches, %d missed", got, batches, missed)
		})
	}
}

// A full dst still receives one value, and RecvBatch allocates nothing
// when dst has room.
func TestRecvBatchCapacity(t *testing.T) {
	db := aimdb.New(nil)
	rec := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, countKey, aimdb.Ring(16)))
	sub := aimdbtest.Must[*aimdb.Subscription[int]](t)(rec.Subscribe())
	defer sub.Close()
	for i := range 5 {
		_ = rec.Produce(i)
	}
	ctx := context.Background()
	got, err := sub.RecvBatch(ctx, nil)
	if err != nil || len(got) != 1 || got[0] != 0 {
		t.Fatalf("RecvBatch(nil) = %v, %v; want [0]", got, err)
	}
	buf := make([]int, 0, 8)
	got, err = sub.RecvBatch(ctx, buf)
	if err != nil || len(got) != 4 || got[0] != 1 || got[3] != 4 {
		t.Fatalf("RecvBatch = %v, %v; want [1 2 3 4]", got, err)
	}
	if a := testing.AllocsPerRun(100, func() {
		_ = rec.Produce(9)
		_ = rec.Produce(9)
		if got, err := sub.RecvBatch(ctx, buf[:0]); err != nil || len(got) != 2 {
			t.Fatalf("RecvBatch = %v, %v", got, err)
		}
	}); a != 0 {
		t.Fatalf("RecvBatch allocates %v times per call", a)
	}
}
