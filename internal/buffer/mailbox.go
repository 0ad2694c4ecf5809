package buffer

import (
	"context"
	"sync"
)

// Mailbox is one slot shared by all readers. A push replaces any value not
// yet taken ("latest command wins"); each value is taken by exactly one
// reader. A value pushed before a reader subscribed is still delivered to
// whichever reader reads first. Readers never lag.
type Mailbox[T any] struct {
	mu       sync.Mutex
	slot     T
	full     bool
	closed   bool
	waiting  waiters
	produced uint64
	consumed uint64
	version  uint64 // pushes ever; observers compare it
	last     T      // the value of the last push, taken or not, for observers
	restored bool   // the slot holds a value given to Restore, not pushed since
}

// NewMailbox returns an empty mailbox.
func NewMailbox[T any]() *Mailbox[T] { return &Mailbox[T]{} }

// Push implements Buffer.
func (b *Mailbox[T]) Push(v T) bool {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return false
	}
	b.slot = v
	b.full = true
	b.restored = false
	b.produced++
	b.version++
	b.last = v
	b.waiting.wakeAll()
	b.mu.Unlock()
	return true
}

// Subscribe implements Buffer.
func (b *Mailbox[T]) Subscribe() Reader[T] {
	return &mailboxReader[T]{b: b, readerCore: newReaderCore(&b.mu, &b.waiting)}
}

// Restore puts v in the empty slot of a mailbox that was never pushed
// to, as a value restored from history: Peek, observers and readers from
// Subscribe see it; readers from SubscribeSkipRestored do not take it. It
// reports whether it stored v. It counts in no counter.
func (b *Mailbox[T]) Restore(v T) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.version != 0 {
		return false
	}
	b.slot, b.full, b.restored, b.last = v, true, true, v
	b.version++
	b.waiting.wakeAll()
	return true
}

// SubscribeSkipRestored returns a reader that does not take a restored
// value (see Restore): it takes values pushed, as Subscribe's does.
func (b *Mailbox[T]) SubscribeSkipRestored() Reader[T] {
	return &mailboxReader[T]{b: b, readerCore: newReaderCore(&b.mu, &b.waiting), skipRestored: true}
}

// Observe returns a reader that sees every push without taking it: the
// value stays in the slot for the readers that take. Like a Latest
// reader, an observer sees the newest value at read time (pushes in
// between collapse) and never lags. With fromPending, its first value is
// the pending value, if any; otherwise it starts with the next push. It
// counts in no counter.
func (b *Mailbox[T]) Observe(fromPending bool) Reader[T] {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := &mailboxObserver[T]{b: b, readerCore: newReaderCore(&b.mu, &b.waiting), seen: b.version}
	if fromPending && b.full {
		r.seen--
	}
	return r
}

// Peek implements Buffer. It does not take the value.
func (b *Mailbox[T]) Peek() (T, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.slot, b.full
}

// Close implements Buffer.
func (b *Mailbox[T]) Close() {
	b.mu.Lock()
	b.closed = true
	b.waiting.wakeAll()
	b.mu.Unlock()
}

// Stats implements Buffer. Occupancy is 1 while a value waits in the slot.
func (b *Mailbox[T]) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := Stats{Produced: b.produced, Consumed: b.consumed, Capacity: 1}
	if b.full {
		s.Items = 1
	}
	return s
}

// ResetStats implements Buffer.
func (b *Mailbox[T]) ResetStats() {
	b.mu.Lock()
	b.produced, b.consumed = 0, 0
	b.mu.Unlock()
}

// Kind implements Buffer.
func (b *Mailbox[T]) Kind() Kind { return KindMailbox }

// Version implements Buffer.
func (b *Mailbox[T]) Version() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.version
}

type mailboxReader[T any] struct {
	readerCore
	b            *Mailbox[T]
	skipRestored bool
}

func (r *mailboxReader[T]) tryLocked() (T, uint64, error) {
	var zero T
	b := r.b
	switch {
	case r.w.closed:
		return zero, 0, ErrClosed
	case b.full && !(r.skipRestored && b.restored):
		v := b.slot
		b.slot = zero // do not keep a taken value alive
		b.full = false
		b.consumed++
		return v, 0, nil
	case b.closed:
		return zero, 0, ErrClosed
	}
	return zero, 0, ErrEmpty
}

func (r *mailboxReader[T]) TryRecv() (T, uint64, error) { return tryRecv[T](r) }

// Position implements Reader: every push is accounted for but a value
// still in the slot for this reader to take.
func (r *mailboxReader[T]) Position() uint64 {
	b := r.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.full && !(r.skipRestored && b.restored) {
		return b.version - 1
	}
	return b.version
}

func (r *mailboxReader[T]) TryRecvArm() (T, uint64, error) { return tryRecvArm[T](r) }

func (r *mailboxReader[T]) Recv(ctx context.Context) (T, uint64, error) {
	// The common case inline; the generic loop handles the rest.
	b := r.b
	b.mu.Lock()
	if !r.w.closed && b.full && !(r.skipRestored && b.restored) {
		v := b.slot
		var zero T
		b.slot = zero
		b.full = false
		b.consumed++
		b.mu.Unlock()
		return v, 0, nil
	}
	b.mu.Unlock()
	return recvLoop[T](ctx, r)
}

func (r *mailboxReader[T]) Pending() bool {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	return !r.w.closed && r.b.full && !(r.skipRestored && r.b.restored)
}

type mailboxObserver[T any] struct {
	readerCore
	b    *Mailbox[T]
	seen uint64 // version last delivered
}

func (r *mailboxObserver[T]) tryLocked() (T, uint64, error) {
	var zero T
	b := r.b
	switch {
	case r.w.closed:
		return zero, 0, ErrClosed
	case b.version != r.seen:
		r.seen = b.version
		return b.last, 0, nil
	case b.closed:
		return zero, 0, ErrClosed
	}
	return zero, 0, ErrEmpty
}

func (r *mailboxObserver[T]) TryRecv() (T, uint64, error) { return tryRecv[T](r) }

func (r *mailboxObserver[T]) TryRecvArm() (T, uint64, error) { return tryRecvArm[T](r) }

func (r *mailboxObserver[T]) Position() uint64 {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	return r.seen
}

func (r *mailboxObserver[T]) Recv(ctx context.Context) (T, uint64, error) {
	return recvLoop[T](ctx, r)
}

func (r *mailboxObserver[T]) Pending() bool {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	return !r.w.closed && r.b.version != r.seen
}
