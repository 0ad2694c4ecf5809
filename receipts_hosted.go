//go:build !baremetal

package aimdb

import "sync/atomic"

// receipts says whether outbound pumps and link managers keep the
// accounts DB.Flush reads.
const receipts = true

// A flushEpoch counts the messages queued between two calls of DB.Flush
// that are not done yet, and those of them that were not delivered.
type flushEpoch struct {
	pending atomic.Int64
	failed  atomic.Uint64
	prev    atomic.Pointer[flushEpoch] // the epoch before; nil once it and those before it settled
}

// queued accounts for one more message of e.
func (e *flushEpoch) queued() { e.pending.Add(1) }

// fail counts n values of e that were not delivered and never queued.
func (e *flushEpoch) fail(n uint64) { e.failed.Add(n) }

// follow makes e the epoch after prev.
func (e *flushEpoch) follow(prev *flushEpoch) { e.prev.Store(prev) }

// finish accounts for one message of e that is done: delivered or not.
func (e *flushEpoch) finish(delivered bool) {
	if e == nil {
		return
	}
	if !delivered {
		e.failed.Add(1)
	}
	e.pending.Add(-1)
}

// settle reports whether e and every epoch before it have no message
// pending. If so it takes (and zeroes) their failures and cuts the chain.
// Otherwise pending is the number still pending.
func (e *flushEpoch) settle() (settled bool, pending, failed uint64) {
	for x := e; x != nil; x = x.prev.Load() {
		if n := x.pending.Load(); n > 0 {
			pending += uint64(n)
		}
	}
	if pending > 0 {
		return false, pending, 0
	}
	for x := e; x != nil; x = x.prev.Load() {
		failed += x.failed.Swap(0)
	}
	e.prev.Store(nil)
	return true, 0, failed
}
