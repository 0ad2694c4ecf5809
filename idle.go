package aimdb

import (
	"context"
	"errors"
	"time"
)

// ErrNotRunning reports a call that needs a running DB.
var ErrNotRunning = errors.New("aimdb: db is not running")

// WaitIdle returns once the DB's pipeline has settled: every tap,
// transform, join and outbound link is waiting for its next value, no
// value is waiting for any of them, and no outbound message is queued or
// being published — observed twice, a millisecond apart, with no buffer
// counter moving in between. Sources are not waited for: a value a source
// produces later sets the pipeline going again. Tests use it after
// producing values, instead of sleeping (see aimdbtest.Settle).
//
// It fails with ErrNotRunning before Run has started every stage, and
// with ctx.Err() if ctx ends first.
func (db *DB) WaitIdle(ctx context.Context) error {
	rs := db.run.Load()
	if rs == nil {
		return ErrNotRunning
	}
	var last uint64
	stable := 0
	for {
		moved, quiet := rs.idleSnapshot()
		switch {
		case !quiet:
			stable = 0
		case stable > 0 && moved == last:
			stable++
		default:
			stable = 1
		}
		last = moved
		if stable >= 2 {
			return nil
		}
		t := time.NewTimer(time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// idleSnapshot returns the sum of every buffer's counters and whether the
// consumers are quiet: none at work, nothing pending for them, no
// outbound message in the links.
func (rs *runState) idleSnapshot() (moved uint64, quiet bool) {
	quiet = rs.busy.Load() == 0
	for _, p := range rs.pending {
		if p() {
			quiet = false
		}
	}
	for _, m := range rs.links {
		if m.queued() > 0 || m.publishing.Load() != 0 {
			quiet = false
		}
	}
	db := rs.db
	db.mu.Lock()
	records := append([]recordCore(nil), db.records...)
	db.mu.Unlock()
	for _, c := range records {
		if c != nil {
			s := c.stats()
			moved += s.Produced + s.Consumed + s.Dropped
		}
	}
	return moved, quiet
}
