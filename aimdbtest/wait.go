package aimdbtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
)

// Register registers key in db with a buffer built from buf, as
// aimdb.Register does, and returns the record's handle. It fails the test
// on a mistake (an invalid key or buffer, a key registered with another
// type or buffer, a DB that already started).
func Register[T any](t testing.TB, db *aimdb.DB, key aimdb.Key[T], buf aimdb.Buffer) *aimdb.Record[T] {
	t.Helper()
	r, err := aimdb.Register(db, key, buf)
	if err != nil {
		t.Fatalf("aimdbtest: %v", err)
	}
	return r
}

// Subscribe returns a new subscription to the record named by key, as
// aimdb.Subscribe does, and closes it when the test ends. It fails the
// test if no record of that key and type is registered.
func Subscribe[T any](t testing.TB, db *aimdb.DB, key aimdb.Key[T]) *aimdb.Subscription[T] {
	t.Helper()
	s, err := aimdb.Subscribe(db, key)
	if err != nil {
		t.Fatalf("aimdbtest: subscribe: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// DefaultTimeout bounds WaitLinksConnected and Settle when the test's
// deadline is later or there is none.
const DefaultTimeout = 10 * time.Second

// pollInterval is how often WaitLinksConnected reads the links' states.
const pollInterval = 2 * time.Millisecond

// waitContext returns the context a wait ends with: the test's, ended at
// the test's deadline (less a second, for the failure to be reported)
// or after DefaultTimeout.
func waitContext(t testing.TB) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(DefaultTimeout)
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if td, ok := d.Deadline(); ok && td.Add(-time.Second).Before(deadline) {
			deadline = td.Add(-time.Second)
		}
	}
	return context.WithDeadline(t.Context(), deadline)
}

// WaitLinksConnected returns once every link of every record and family of db is
// in state connected (aimdb.LinkConnected). It fails the test, naming
// each link still down with its state and last error, if that takes
// longer than the test's deadline or DefaultTimeout. A DB without links
// returns at once; a DB that is not running has its links idle, so call
// it after Start.
func WaitLinksConnected(t testing.TB, db *aimdb.DB) {
	t.Helper()
	ctx, cancel := waitContext(t)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		down := linksDown(db)
		if len(down) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("aimdbtest: %d link(s) not connected: %s", len(down), strings.Join(down, "; "))
		case <-tick.C:
		}
	}
}

// linksDown describes every link of db that is not connected: the links
// of records and of families (whose inbound links are subscribed once
// connected, before any instance exists).
func linksDown(db *aimdb.DB) []string {
	var down []string
	add := func(key string, links []aimdb.LinkMetadata) {
		for _, l := range links {
			if l.State == aimdb.LinkConnected {
				continue
			}
			d := fmt.Sprintf("%s %s %s (%s", key, l.Direction, l.Address, l.State)
			if l.LastError != "" {
				d += ": " + l.LastError
			}
			down = append(down, d+")")
		}
	}
	for _, r := range db.Records() {
		add(r.RecordKey, r.Links)
	}
	for _, f := range db.Families() {
		add(f.Template, f.Links)
	}
	return down
}

// Settle returns once the pipeline of the running db has settled: every
// value produced so far has been taken by every stage subscription
// (taps, transforms, joins, outbound links) and each of those stages is
// waiting for its next value. It fails the test if that takes longer
// than the test's deadline or DefaultTimeout. See DB.WaitIdle.
func Settle(t testing.TB, db *aimdb.DB) {
	t.Helper()
	ctx, cancel := waitContext(t)
	defer cancel()
	if err := db.WaitIdle(ctx); err != nil {
		t.Fatalf("aimdbtest: the pipeline did not settle: %v", err)
	}
}
