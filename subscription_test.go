package aimdb_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
)

func TestLagErrorCarriesKeyAndExactCount(t *testing.T) {
	db := aimdb.New(nil)
	rec := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, countKey, aimdb.Ring(3)))
	sub := aimdbtest.Must[*aimdb.Subscription[int]](t)(rec.Subscribe())
	defer sub.Close()
	for i := range 10 {
		_ = rec.Produce(i)
	}
	_, err := sub.TryRecv()
	lag, ok := errors.AsType[*aimdb.LagError](err)
	if !ok || lag.Missed != 7 || lag.Key != countKey.Name() {
		t.Fatalf("TryRecv() = %v; want *LagError{Key: %q, Missed: 7}", err, countKey)
	}
	if v, err := sub.TryRecv(); v != 7 || err != nil {
		t.Fatalf("TryRecv() after lag = %d, %v; want 7", v, err)
	}
	m := db.Records()[0]
	if m.ProducedCount != 10 || m.ConsumedCount != 1 || m.DroppedCount != 7 || m.Occupancy != [2]int{3, 3} {
		t.Fatalf("metadata counters = %d/%d/%d %v; want 10/1/7 [3 3]", m.ProducedCount, m.ConsumedCount, m.DroppedCount, m.Occupancy)
	}
}

func TestAllYieldsLagAndContinues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := aimdb.New(nil)
		rec := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, countKey, aimdb.Ring(2)))
		sub := aimdbtest.Must[*aimdb.Subscription[int]](t)(rec.Subscribe())
		stop := aimdbtest.Start(t, db)
		for i := range 5 {
			_ = rec.Produce(i)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		var vals []int
		var lags []uint64
		for v, err := range sub.All(t.Context()) {
			if lag, ok := errors.AsType[*aimdb.LagError](err); ok {
				lags = append(lags, lag.Missed)
				continue
			}
			if err != nil {
				t.Fatalf("All yielded %v", err)
			}
			vals = append(vals, v)
		}
		if len(lags) != 1 || lags[0] != 3 || len(vals) != 2 || vals[0] != 3 || vals[1] != 4 {
			t.Fatalf("All gave lags %v values %v; want [3] and [3 4], then stopped at close", lags, vals)
		}
	})
}

func TestAllStopsWithCtxError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := aimdb.New(nil)
		rec := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, countKey, aimdb.Latest()))
		sub := aimdbtest.Must[*aimdb.Subscription[int]](t)(rec.Subscribe())
		defer sub.Close()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		_ = rec.Produce(1)
		var errs []error
		for v, err := range sub.All(ctx) {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if v == 1 {
				cancel()
			}
		}
		if len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
			t.Fatalf("All errors = %v; want one context.Canceled", errs)
		}
		// Nothing was consumed by the cancelled receive.
		_ = rec.Produce(2)
		if v, err := sub.TryRecv(); v != 2 || err != nil {
			t.Fatalf("TryRecv() = %d, %v; want 2", v, err)
		}
	})
}

func TestCloseReleasesRecv(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := aimdb.New(nil)
		rec := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, countKey, aimdb.Mailbox()))
		sub := aimdbtest.Must[*aimdb.Subscription[int]](t)(rec.Subscribe())
		errc := make(chan error)
		go func() {
			_, err := sub.Recv(context.Background())
			errc <- err
		}()
		synctest.Wait()
		sub.Close()
		sub.Close()
		if err := <-errc; !errors.Is(err, aimdb.ErrClosed) {
			t.Fatalf("Recv() after Close = %v; want ErrClosed", err)
		}
		if _, err := sub.TryRecv(); !errors.Is(err, aimdb.ErrClosed) {
			t.Fatalf("TryRecv() after Close = %v; want ErrClosed", err)
		}
	})
}

func TestBufferSemanticsThroughTheDB(t *testing.T) {
	db := aimdb.New(nil)
	latest := aimdbtest.Must[*aimdb.Record[string]](t)(aimdb.Register(db, aimdb.NewKey[string]("cfg.app.mode"), aimdb.Latest()))
	box := aimdbtest.Must[*aimdb.Record[string]](t)(aimdb.Register(db, aimdb.NewKey[string]("cmd.app.mode"), aimdb.Mailbox()))
	ring := aimdbtest.Must[*aimdb.Record[string]](t)(aimdb.Register(db, aimdb.NewKey[string]("log.app.mode"), aimdb.Ring(4)))
	for _, r := range []*aimdb.Record[string]{latest, box, ring} {
		_ = r.Produce("before")
	}
	// Latest: a new subscriber gets the current value once.
	s := aimdbtest.Must[*aimdb.Subscription[string]](t)(latest.Subscribe())
	if v, err := s.TryRecv(); v != "before" || err != nil {
		t.Errorf("Latest fresh subscriber: %q, %v; want before", v, err)
	}
	// Mailbox: a value pushed before subscribing is delivered, once.
	s1 := aimdbtest.Must[*aimdb.Subscription[string]](t)(box.Subscribe())
	s2 := aimdbtest.Must[*aimdb.Subscription[string]](t)(box.Subscribe())
	if v, err := s2.TryRecv(); v != "before" || err != nil {
		t.Errorf("Mailbox: %q, %v; want before", v, err)
	}
	if _, err := s1.TryRecv(); !errors.Is(err, aimdb.ErrEmpty) {
		t.Errorf("Mailbox second reader: %v; want ErrEmpty", err)
	}
	// Ring: no backfill.
	s3 := aimdbtest.Must[*aimdb.Subscription[string]](t)(ring.Subscribe())
	if _, err := s3.TryRecv(); !errors.Is(err, aimdb.ErrEmpty) {
		t.Errorf("Ring new subscriber: %v; want ErrEmpty", err)
	}
	if _, ok := ring.Peek(); ok {
		t.Error("Ring Peek reported a value")
	}
	if v, ok := box.Peek(); ok {
		t.Errorf("Mailbox Peek after take = %q; want none", v)
	}
	for _, s := range []*aimdb.Subscription[string]{s, s1, s2, s3} {
		s.Close()
	}
}
