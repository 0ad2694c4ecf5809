// Package aimdbtest helps test programs built on aimdb. Its functions take
// the test's testing.TB, fail the test on an error instead of returning
// it, and infer the value type from the key, so a test spells no type
// twice and never polls:
//
//	rec := aimdbtest.Register(t, db, IndoorTemp, aimdb.Ring(8))
//	sub := aimdbtest.Subscribe(t, db, IndoorTemp) // closed when the test ends
//	aimdbtest.Start(t, db)                        // runs db until the test ends
//	aimdbtest.WaitLinksConnected(t, db)           // every link is up
//	rec.Produce(Temperature{21.5})
//	got := aimdbtest.Collect(t, sub, 1)
//	aimdbtest.Settle(t, db)                       // every stage took every value
//
// The waits end at the test's deadline (go test -timeout) or after
// DefaultTimeout, whichever comes first, and fail the test naming what
// they waited for.
package aimdbtest

import (
	"context"
	"sync"
	"testing"

	"github.com/aimdb-go/aimdb"
)

// Start runs db in the background until the test ends, and returns once
// every stage has started (see DB.Started). It returns a stop function
// that shuts the DB down gracefully and returns Run's error; stop is
// idempotent and is also called when the test ends, failing the test if
// Run returned an error that stop's caller did not collect.
func Start(t testing.TB, db *aimdb.DB) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- db.Run(ctx) }()
	var (
		once      sync.Once
		err       error
		collected bool
	)
	stop = func() error {
		once.Do(func() { cancel(); err = <-errc })
		collected = true
		return err
	}
	t.Cleanup(func() {
		wasCollected := collected
		if err := stop(); err != nil && !wasCollected {
			t.Errorf("aimdb: Run() = %v", err)
		}
	})
	select {
	case <-db.Started():
	case err := <-errc:
		errc <- err
		t.Fatalf("aimdb: Run() = %v before starting", err)
	}
	return stop
}

// Collect receives n values from s and returns them. It fails the test on
// any error, including a lag, or if the test's context ends first.
func Collect[T any](t testing.TB, s *aimdb.Subscription[T], n int) []T {
	t.Helper()
	got := make([]T, 0, n)
	for len(got) < n {
		v, err := s.Recv(t.Context())
		if err != nil {
			t.Fatalf("aimdb: %s: Recv after %d of %d values: %v", s.Key(), len(got), n, err)
		}
		got = append(got, v)
	}
	return got
}

// Must returns a function that returns v, or fails the test if err is not
// nil. It shortens set-up code:
//
//	rec := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, key, aimdb.Latest()))
func Must[T any](t testing.TB) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
