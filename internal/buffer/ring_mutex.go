package buffer

import (
	"context"
	"sync"
)

// MutexRing is the portable ring: one mutex guards the slots, the
// cursors and the counters. It is what NewRing returns on builds without
// the lock-free ring (other architectures, TinyGo, and -race builds, so
// that the race detector checks a ring it can see through). Its contract
// is the one described at NewRing.
//
// The ring holds exactly capacity
// values. Every reader has its own cursor and sees every retained value in
// order. A push into a full ring overwrites the oldest value; a reader
// that had not read it yet gets one ErrLagged carrying the exact number of
// values it missed, then resumes at the oldest value still retained.
// A new reader starts at the head: it sees only values pushed after it
// subscribed.
type MutexRing[T any] struct {
	mu       sync.Mutex
	slots    []T
	capacity uint64
	head     uint64 // total pushes; the next write goes to slots[head%capacity]
	closed   bool
	waiting  waiters
	produced uint64
	consumed uint64
	dropped  uint64
}

// NewMutexRing returns a mutex ring of the given capacity. It panics if
// capacity < 1.
func NewMutexRing[T any](capacity int) *MutexRing[T] {
	checkCapacity(capacity)
	return &MutexRing[T]{slots: make([]T, capacity), capacity: uint64(capacity)}
}

// Push implements Buffer.
func (b *MutexRing[T]) Push(v T) bool {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return false
	}
	b.slots[b.head%b.capacity] = v
	b.head++
	b.produced++
	b.waiting.wakeAll()
	b.mu.Unlock()
	return true
}

// Subscribe implements Buffer.
func (b *MutexRing[T]) Subscribe() Reader[T] {
	b.mu.Lock()
	defer b.mu.Unlock()
	return &ringReader[T]{b: b, seq: b.head, readerCore: newReaderCore(&b.mu, &b.waiting)}
}

// SubscribeNewest implements RingBuffer.
func (b *MutexRing[T]) SubscribeNewest() Reader[T] {
	b.mu.Lock()
	defer b.mu.Unlock()
	seq := b.head
	if seq > 0 {
		seq--
	}
	return &ringReader[T]{b: b, seq: seq, readerCore: newReaderCore(&b.mu, &b.waiting)}
}

// Peek implements Buffer. A ring has no canonical latest value.
func (b *MutexRing[T]) Peek() (T, bool) {
	var zero T
	return zero, false
}

// Newest returns the most recently pushed value, if any is retained.
// Remote access uses it for record.get on rings.
func (b *MutexRing[T]) Newest() (T, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.head == 0 {
		var zero T
		return zero, false
	}
	return b.slots[(b.head-1)%b.capacity], true
}

// Close implements Buffer.
func (b *MutexRing[T]) Close() {
	b.mu.Lock()
	b.closed = true
	b.waiting.wakeAll()
	b.mu.Unlock()
}

// Stats implements Buffer.
func (b *MutexRing[T]) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Stats{
		Produced: b.produced,
		Consumed: b.consumed,
		Dropped:  b.dropped,
		Items:    int(min(b.head, b.capacity)),
		Capacity: int(b.capacity),
	}
}

// ResetStats implements Buffer.
func (b *MutexRing[T]) ResetStats() {
	b.mu.Lock()
	b.produced, b.consumed, b.dropped = 0, 0, 0
	b.mu.Unlock()
}

// Kind implements Buffer.
func (b *MutexRing[T]) Kind() Kind { return KindRing }

// Version implements Buffer.
func (b *MutexRing[T]) Version() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.head
}

type ringReader[T any] struct {
	readerCore
	b   *MutexRing[T]
	seq uint64 // sequence number of the next value to read
}

func (r *ringReader[T]) tryLocked() (T, uint64, error) {
	var zero T
	b := r.b
	if r.w.closed {
		return zero, 0, ErrClosed
	}
	if r.seq >= b.head {
		if b.closed {
			return zero, 0, ErrClosed
		}
		return zero, 0, ErrEmpty
	}
	oldest := b.head - min(b.head, b.capacity)
	if r.seq < oldest {
		missed := oldest - r.seq
		r.seq = oldest
		b.dropped += missed
		return zero, missed, ErrLagged
	}
	v := b.slots[r.seq%b.capacity]
	r.seq++
	b.consumed++
	return v, 0, nil
}

func (r *ringReader[T]) TryRecv() (T, uint64, error) { return tryRecv[T](r) }

func (r *ringReader[T]) TryRecvArm() (T, uint64, error) { return tryRecvArm[T](r) }

// Position implements Reader: the sequence number of the next value to
// read (a lag already moved it past what was overwritten).
func (r *ringReader[T]) Position() uint64 {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	return r.seq
}

func (r *ringReader[T]) Recv(ctx context.Context) (T, uint64, error) {
	return recvLoop[T](ctx, r)
}

func (r *ringReader[T]) Pending() bool {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	return !r.w.closed && r.seq < r.b.head
}
