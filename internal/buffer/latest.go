package buffer

import (
	"context"
	"sync"
)

// Latest keeps only the newest value. Every reader sees the newest value
// at the time it reads; intermediate values collapse and readers never
// lag. A reader subscribing after a value exists receives that value once.
type Latest[T any] struct {
	mu       sync.Mutex
	value    T
	version  uint64 // number of pushes; 0 means never written
	restored bool   // value was given to Restore and not pushed since
	closed   bool
	waiting  waiters
	produced uint64
	consumed uint64
}

// NewLatest returns an empty SingleLatest buffer.
func NewLatest[T any]() *Latest[T] { return &Latest[T]{} }

// Push implements Buffer.
func (b *Latest[T]) Push(v T) bool {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return false
	}
	b.value = v
	b.version++
	b.restored = false
	b.produced++
	b.waiting.wakeAll()
	b.mu.Unlock()
	return true
}

// Subscribe implements Buffer. The reader's first read returns the current
// value, if there is one.
func (b *Latest[T]) Subscribe() Reader[T] {
	return &latestReader[T]{b: b, readerCore: newReaderCore(&b.mu, &b.waiting)}
}

// Restore stores v in a buffer that was never pushed to, as a value
// restored from history: Peek and readers from Subscribe see it; readers
// from SubscribeSkipRestored do not. It reports whether it stored v. It
// counts in no counter.
func (b *Latest[T]) Restore(v T) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.version != 0 {
		return false
	}
	b.value, b.restored = v, true
	b.version++
	b.waiting.wakeAll()
	return true
}

// SubscribeSkipRestored returns a reader that does not receive a
// restored value (see Restore), only values pushed.
func (b *Latest[T]) SubscribeSkipRestored() Reader[T] {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := &latestReader[T]{b: b, readerCore: newReaderCore(&b.mu, &b.waiting)}
	if b.restored {
		r.seen = b.version
	}
	return r
}

// Peek implements Buffer.
func (b *Latest[T]) Peek() (T, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.value, b.version > 0
}

// Close implements Buffer.
func (b *Latest[T]) Close() {
	b.mu.Lock()
	b.closed = true
	b.waiting.wakeAll()
	b.mu.Unlock()
}

// Stats implements Buffer. Occupancy is 1 once a value exists.
func (b *Latest[T]) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := Stats{Produced: b.produced, Consumed: b.consumed, Capacity: 1}
	if b.version > 0 {
		s.Items = 1
	}
	return s
}

// ResetStats implements Buffer.
func (b *Latest[T]) ResetStats() {
	b.mu.Lock()
	b.produced, b.consumed = 0, 0
	b.mu.Unlock()
}

// Kind implements Buffer.
func (b *Latest[T]) Kind() Kind { return KindLatest }

// Version implements Buffer.
func (b *Latest[T]) Version() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.version
}

type latestReader[T any] struct {
	readerCore
	b    *Latest[T]
	seen uint64 // version last delivered to this reader
}

func (r *latestReader[T]) tryLocked() (T, uint64, error) {
	var zero T
	b := r.b
	switch {
	case r.w.closed:
		return zero, 0, ErrClosed
	case b.version != r.seen:
		r.seen = b.version
		b.consumed++
		return b.value, 0, nil
	case b.closed:
		return zero, 0, ErrClosed
	}
	return zero, 0, ErrEmpty
}

func (r *latestReader[T]) TryRecv() (T, uint64, error) { return tryRecv[T](r) }

func (r *latestReader[T]) TryRecvArm() (T, uint64, error) { return tryRecvArm[T](r) }

func (r *latestReader[T]) Recv(ctx context.Context) (T, uint64, error) {
	// The common case inline; the generic loop handles the rest.
	b := r.b
	b.mu.Lock()
	if !r.w.closed && b.version != r.seen {
		r.seen = b.version
		b.consumed++
		v := b.value
		b.mu.Unlock()
		return v, 0, nil
	}
	b.mu.Unlock()
	return recvLoop[T](ctx, r)
}

func (r *latestReader[T]) Position() uint64 {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	return r.seen
}

func (r *latestReader[T]) Pending() bool {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	return !r.w.closed && r.b.version != r.seen
}
