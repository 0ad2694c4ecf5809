package aimdb

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"sync/atomic"

	"github.com/aimdb-go/aimdb/internal/buffer"
)

// A Subscription receives one record's values. Its receive methods must
// not be called concurrently with each other; Close may be called from any
// goroutine. Subscriptions handed to taps belong to the DB: Close on them
// does nothing.
type Subscription[T any] struct {
	rec   *Record[T]
	r     buffer.Reader[T]
	owned bool
	subProfile
	// lagged holds a lag found during a batch, reported by the next call.
	lagged uint64
	log    *slog.Logger
	busy   *atomic.Int64 // a stage's: the run's count of consumers at work (see DB.WaitIdle)
}

// Recv returns the next value, blocking until there is one.
//
// It returns a *LagError when a ring subscriber fell behind (not
// terminal: the next Recv returns the oldest value still retained),
// ErrClosed once the record was shut down and its remaining values were
// delivered or the subscription was closed, or ctx.Err() if ctx ended
// first, in which case nothing was consumed.
func (s *Subscription[T]) Recv(ctx context.Context) (T, error) {
	if s.prof != nil {
		s.profile()
	}
	if s.lagged != 0 {
		var zero T
		missed := s.lagged
		s.lagged = 0
		return s.result(zero, missed, buffer.ErrLagged)
	}
	// A stage's reader counts as idle while it waits (DB.WaitIdle); no
	// deferred call: it made every Recv of a stage 10 ns slower.
	if s.busy != nil {
		s.busy.Add(-1)
	}
	v, missed, err := s.r.Recv(ctx)
	if s.busy != nil {
		s.busy.Add(1)
	}
	if err == nil {
		if s.prof != nil && s.prof.count() {
			s.last = nanotime()
		}
		return v, nil
	}
	return s.result(v, missed, err)
}

// TryRecv returns the next value without blocking, or ErrEmpty. Its other
// errors are those of Recv.
func (s *Subscription[T]) TryRecv() (T, error) {
	if s.prof != nil {
		s.profile()
	}
	if s.lagged != 0 {
		var zero T
		missed := s.lagged
		s.lagged = 0
		return s.result(zero, missed, buffer.ErrLagged)
	}
	v, missed, err := s.r.TryRecv()
	if err == nil {
		if s.prof != nil && s.prof.count() {
			s.last = nanotime()
		}
		return v, nil
	}
	return s.result(v, missed, err)
}

// tryRecvArm is TryRecv that arms the reader's notify function when it
// finds nothing (see RemoteSubscription.Notify).
func (s *Subscription[T]) tryRecvArm() (T, error) {
	v, missed, err := s.r.TryRecvArm()
	if err == nil {
		return v, nil
	}
	return s.result(v, missed, err)
}

// RecvBatch appends to dst the values available now, blocking only until
// there is one, and returns the extended slice. It appends at most
// cap(dst)-len(dst) values (at least one when dst has no spare
// capacity), so a reader that reuses dst[:0] receives without
// allocating. A batch is what Recv would have returned value by value,
// with one wake-up for all of it.
//
// Its errors are those of Recv, returned only with nothing appended: a
// reader that fell behind during a batch gets the values up to the gap
// with a nil error and the *LagError from the next call.
func (s *Subscription[T]) RecvBatch(ctx context.Context, dst []T) ([]T, error) {
	end := len(dst) + max(cap(dst)-len(dst), 1)
	v, err := s.Recv(ctx)
	if err != nil {
		return dst, err
	}
	dst = append(dst, v)
	n := int64(1)
	for len(dst) < end {
		v, missed, err := s.r.TryRecv()
		if err != nil {
			if err == buffer.ErrLagged {
				s.lagged = missed // reported by the next call
			}
			break
		}
		dst = append(dst, v)
		n++
	}
	if s.prof != nil && n > 1 {
		s.prof.calls.Add(uint64(n - 1))
		s.lastN = n // the next sample is the batch's time, per value
	}
	return dst, nil
}

// All returns an iterator over received values. It yields each value with
// a nil error, and a *LagError (after which it continues) when a ring
// subscriber fell behind. It stops without yielding when the subscription
// ends (ErrClosed); if ctx ends first, it yields ctx.Err() and stops.
func (s *Subscription[T]) All(ctx context.Context) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			v, err := s.Recv(ctx)
			switch {
			case err == nil:
				if !yield(v, nil) {
					return
				}
			case errors.Is(err, ErrClosed):
				return
			default:
				_, lag := err.(*LagError)
				if !yield(v, err) || !lag {
					return
				}
			}
		}
	}
}

// Close ends the subscription and releases a Recv blocked on it. It is
// safe to call more than once.
func (s *Subscription[T]) Close() {
	if !s.owned {
		s.r.Close()
	}
}

// Key returns the record's key.
func (s *Subscription[T]) Key() Key[T] { return s.rec.Key() }

// Clock returns the DB's clock.
func (s *Subscription[T]) Clock() Clock { return s.rec.db.opts.Clock }

// Logger returns the DB's logger, annotated with the record key.
func (s *Subscription[T]) Logger() *slog.Logger {
	if s.log == nil {
		s.log = s.rec.logger()
	}
	return s.log
}

// profile records, for a tap, the time spent on the previous value.
// subProfile times a stage's work between receives. It has no type
// parameter so that its code exists once, not once per record type.
type subProfile struct {
	prof  *stage
	last  int64 // nanotime the previous value was handed out, for profiling
	lastN int64 // values handed out then (RecvBatch: more than one)
}

func (s *subProfile) profile() {
	if s.last != 0 {
		d := nanotime() - s.last
		if s.lastN > 1 {
			d /= s.lastN
		}
		s.prof.observe(d)
		s.last = 0
	}
	s.lastN = 0
}

func (s *Subscription[T]) result(v T, missed uint64, err error) (T, error) {
	return v, recvError(s.rec.key, missed, err)
}

// recvError turns a buffer's receive error into the package's.
func recvError(key string, missed uint64, err error) error {
	switch err {
	case buffer.ErrLagged:
		return &LagError{Key: key, Missed: missed}
	case buffer.ErrClosed:
		return fmt.Errorf("record %q: %w", key, ErrClosed)
	case buffer.ErrEmpty:
		return ErrEmpty
	}
	return err
}
