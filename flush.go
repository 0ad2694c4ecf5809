package aimdb

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"time"
)

// A flushMark is how far one outbound pump's reader got (through) and
// the buffer Version it must reach.
type flushMark struct {
	through *atomic.Uint64
	target  uint64
}

// A FlushError is what Flush reports when it could not confirm the
// delivery of every value it covers.
type FlushError struct {
	// Pending counts the values still on their way when the context
	// ended: queued, in flight, or not yet taken by their link (an upper
	// bound for a SingleLatest or Mailbox record, whose values collapse).
	Pending uint64
	// Failed counts the values that will not be delivered: dropped from
	// a full queue or at shutdown, refused by the peer, failed to encode,
	// or missed by a link that lagged behind its ring.
	Failed uint64
	// Err is the context's error, if it ended the wait.
	Err error
}

func (e *FlushError) Error() string {
	s := "aimdb: flush: "
	switch {
	case e.Err != nil && e.Failed > 0:
		s += strconv.FormatUint(e.Pending, 10) + " values still pending, " + strconv.FormatUint(e.Failed, 10) + " not delivered: " + e.Err.Error()
	case e.Err != nil:
		s += strconv.FormatUint(e.Pending, 10) + " values still pending: " + e.Err.Error()
	default:
		s += strconv.FormatUint(e.Failed, 10) + " values not delivered"
	}
	return s
}

// Unwrap returns the context's error, so errors.Is(err,
// context.DeadlineExceeded) holds when the deadline ended the wait.
func (e *FlushError) Unwrap() error { return e.Err }

// ErrFlushUnavailable is what Flush returns on a bare-metal target, where
// outbound pumps do not record their progress.
var ErrFlushUnavailable = errors.New("aimdb: Flush is not available on bare-metal targets")

// Flush returns once every value produced before the call has been
// accepted by the peer of every outbound link (LinkTo) of the running DB:
// the connector's Publish returned without error, which for MQTT is the
// broker's PUBACK (QoS 1) or PUBCOMP (QoS 2) and at QoS 0 the packet
// written to the connection. A link that is disconnected holds Flush up
// until it reconnects and delivers, or until ctx ends.
//
// It returns nil when every value was delivered. Otherwise it returns a
// *FlushError with the values still pending when ctx ended (its Err is
// ctx's error) and those that will never be delivered (dropped, refused,
// failed to encode). Each failure is reported by one Flush: the first
// that covers it and returns; a later Flush covers only values queued
// after that one. Flush does not stop producers; values produced after
// the call may be delivered before it returns, or not.
//
// Run's shutdown delivers what is queued within Options.ShutdownTimeout
// and logs, and counts as dropped in each link's metadata, what it could
// not.
func (db *DB) Flush(ctx context.Context) error {
	if !receipts {
		return ErrFlushUnavailable
	}
	rs := db.run.Load()
	if rs == nil {
		return ErrNotRunning
	}
	// Phase 1: every outbound pump has taken what its record held at the
	// call, and queued it (or failed it).
	var marks []flushMark
	for _, f := range rs.marks {
		marks = f(marks)
	}
	managers := make([]*linkManager, 0, len(rs.links))
	for _, m := range rs.links {
		managers = append(managers, m)
	}
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		behind := uint64(0)
		for _, mk := range marks {
			if at := mk.through.Load(); at < mk.target {
				behind += mk.target - at
			}
		}
		if behind == 0 {
			break
		}
		select {
		case <-ctx.Done():
			fe := &FlushError{Pending: behind, Err: ctx.Err()}
			for _, m := range managers {
				_, pending, failed := m.seal().settle()
				fe.Pending += pending
				fe.Failed += failed
			}
			return fe
		case <-t.C:
		}
	}
	// Phase 2: every message queued so far has its outcome.
	epochs := make([]*flushEpoch, len(managers))
	for i, m := range managers {
		epochs[i] = m.seal()
	}
	var failed uint64
	for {
		var pending uint64
		for i, e := range epochs {
			if e == nil {
				continue
			}
			settled, p, f := e.settle()
			if settled {
				failed += f
				epochs[i] = nil
			}
			pending += p
		}
		if pending == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return &FlushError{Pending: pending, Failed: failed, Err: ctx.Err()}
		case <-t.C:
		}
	}
	if failed > 0 {
		return &FlushError{Failed: failed}
	}
	return nil
}
