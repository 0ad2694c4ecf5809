// Package buffer implements the three record buffers of AimDB: the SPMC
// ring, SingleLatest and Mailbox.
//
// Every buffer is safe for concurrent use. Push is synchronous, never
// blocks and never allocates. Each reader belongs to one goroutine at a
// time; distinct readers may be used concurrently.
//
// # Locking
//
// Each buffer has one mutex guarding its values, cursors, counters and
// waiter list. A reader never holds the lock while it parks: it registers
// itself as a waiter, unlocks, and waits on its own doorbell channel
// (capacity 1). Push and Close ring the doorbells of registered waiters
// with a non-blocking send while holding the lock; no reader code runs
// under another reader's lock.
package buffer

import (
	"context"
	"errors"
)

// Errors returned by readers.
var (
	// ErrEmpty is returned by TryRecv when no value is pending.
	ErrEmpty = errors.New("buffer: empty")
	// ErrClosed is returned once a closed buffer has no value left for the reader.
	ErrClosed = errors.New("buffer: closed")
	// ErrLagged is returned by ring readers that fell behind; the count of
	// missed values is returned beside it.
	ErrLagged = errors.New("buffer: reader lagged")
)

// Kind names a buffer type. The strings match AimDB's wire names.
type Kind string

// The buffer kinds.
const (
	KindRing    Kind = "spmc_ring"
	KindLatest  Kind = "single_latest"
	KindMailbox Kind = "mailbox"
)

// Stats is a point-in-time copy of a buffer's counters.
type Stats struct {
	Produced uint64 // values pushed
	Consumed uint64 // values delivered to readers, all readers summed
	Dropped  uint64 // values ring readers missed, summed over every lag report
	Items    int    // values currently retained
	Capacity int    // values the buffer can retain
}

// A Buffer stores a record's values and hands them to readers.
type Buffer[T any] interface {
	// Push stores v and wakes parked readers. It reports false, and
	// stores nothing, if the buffer is closed.
	Push(v T) bool
	// Subscribe returns a new reader. See each kind for where it starts.
	Subscribe() Reader[T]
	// Peek returns the value a reader would see without consuming it.
	// Rings have no canonical latest value and always report false.
	Peek() (T, bool)
	// Close closes the buffer. Readers receive what remains, then ErrClosed.
	// Close is idempotent.
	Close()
	// Stats returns the buffer's counters.
	Stats() Stats
	// ResetStats zeroes the produced, consumed and dropped counters.
	ResetStats()
	// Kind reports the buffer type.
	Kind() Kind
	// Version returns the number of values pushed (or restored) ever: a
	// reader whose Position reached it has accounted for every one.
	Version() uint64
}

// A Reader receives values from a buffer.
type Reader[T any] interface {
	// TryRecv returns the next value without blocking: ErrEmpty when none is
	// pending, ErrClosed when the buffer is closed and drained, ErrLagged
	// with the number of missed values when a ring reader fell behind.
	TryRecv() (v T, missed uint64, err error)
	// Recv is TryRecv that parks while the buffer is empty. If ctx ends
	// first it returns ctx.Err() and has consumed nothing.
	Recv(ctx context.Context) (v T, missed uint64, err error)
	// Close releases the reader. Later calls return ErrClosed.
	Close()
	// SetNotify makes f the reader's wake-up instead of parking: once
	// TryRecvArm has armed the reader, the next push or close calls f
	// once. f runs in the pushing goroutine, possibly with the buffer's
	// lock held: it must not block or call into the buffer. Call it once,
	// before the first TryRecvArm; a reader with a notify function must
	// not use Recv.
	SetNotify(f func())
	// TryRecvArm is TryRecv that, when it returns ErrEmpty, has armed the
	// reader's notify function: a value pushed after the check calls it.
	TryRecvArm() (v T, missed uint64, err error)
	// Pending reports whether a receive would return a value now. It is
	// safe to call from any goroutine; the answer may be stale at once.
	Pending() bool
	// Position returns the buffer Version up to which the reader has
	// accounted for every value: received it, been told it missed it
	// (ErrLagged), or seen it collapse into a newer one (SingleLatest,
	// Mailbox). Call it from the reader's goroutine.
	Position() uint64
}

// New returns a buffer of the given kind. Capacity is used by rings only
// and must be at least 1.
func New[T any](kind Kind, capacity int) Buffer[T] {
	switch kind {
	case KindRing:
		return NewRing[T](capacity)
	case KindLatest:
		return NewLatest[T]()
	case KindMailbox:
		return NewMailbox[T]()
	}
	panic("buffer: unknown kind " + string(kind))
}

// waiter is the parking state every reader embeds. parked and closed are
// guarded by the owning buffer's mutex; bell and watch belong to the
// reader's goroutine.
type waiter struct {
	bell   chan struct{}
	watch  ctxWatch
	wakeFn func() // w.wake, bound once the waiter has its final address
	notify func() // called instead of ringing the doorbell, when set
	parked bool
	closed bool
}

// ctxWatch makes a context's cancellation ring a doorbell, so that a
// parked reader waits on its doorbell alone. A two-way select on the
// doorbell and ctx.Done() would lock both channels on every park, and
// ctx.Done() is shared by every stage of a DB. The registration is made
// once and reused for as long as the reader is given the same context.
type ctxWatch struct {
	ctx  context.Context
	stop func() bool
}

// arm makes ctx's cancellation call ring. It reports false if ctx can
// never be cancelled.
func (w *ctxWatch) arm(ctx context.Context, ring func()) bool {
	if ctx.Done() == nil {
		return false
	}
	if w.ctx != ctx {
		w.disarm()
		w.ctx, w.stop = ctx, context.AfterFunc(ctx, ring)
	}
	return true
}

// disarm cancels the registration, if any.
func (w *ctxWatch) disarm() {
	if w.stop != nil {
		w.stop()
		w.ctx, w.stop = nil, nil
	}
}

// park blocks on bell until it is rung or ctx ends (which rings it too).
func park(ctx context.Context, bell chan struct{}, w *ctxWatch, ring func()) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.arm(ctx, ring)
	<-bell
	return ctx.Err()
}

func newWaiter() waiter { return waiter{bell: make(chan struct{}, 1)} }

// ring unparks w and wakes it. Called with the buffer lock held.
func (w *waiter) ring() {
	w.parked = false
	if w.notify != nil {
		w.notify()
		return
	}
	w.wake()
}

// waiters is the set of parked readers of one buffer. Guarded by the
// buffer's mutex. Its backing array is reused, so steady-state parking
// does not allocate.
type waiters []*waiter

// park registers w (once) so the next wakeAll rings it.
func (ws *waiters) park(w *waiter) {
	if !w.parked {
		w.parked = true
		*ws = append(*ws, w)
	}
}

// wakeAll rings every registered waiter and empties the set.
func (ws *waiters) wakeAll() {
	for i, w := range *ws {
		w.ring()
		(*ws)[i] = nil
	}
	*ws = (*ws)[:0]
}

// remove drops w from the set, if present.
func (ws *waiters) remove(w *waiter) {
	if !w.parked {
		return
	}
	w.parked = false
	s := *ws
	for i, x := range s {
		if x == w {
			last := len(s) - 1
			s[i] = s[last]
			s[last] = nil
			*ws = s[:last]
			return
		}
	}
}

// wait blocks until w is rung or ctx ends.
func (w *waiter) wait(ctx context.Context) error {
	if w.wakeFn == nil {
		w.wakeFn = w.wake
	}
	return park(ctx, w.bell, &w.watch, w.wakeFn)
}

// wake rings the doorbell without blocking; safe from any goroutine.
func (w *waiter) wake() {
	select {
	case w.bell <- struct{}{}:
	default:
	}
}
