//go:build !tinygo

package aimdb_test

// TinyGo has no testing/synctest: the tests in this file run in a synctest
// bubble, on virtual time, so they run on the gc targets only.

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
)

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
