package ringmin

import (
	"sync"
	"sync/atomic"
)

type slot[T any] struct {
	stamp atomic.Uint64 // 2·pos+1 while pos is written, 2·pos+2 once readable
	val   T
}

// Ring is the 2-store SPMC ring: one atomic store before and one after
// writing a slot's value, no shared head. Readers derive empty, available
// and overwritten from the slot stamp alone. Single producer only.
type Ring[T any] struct {
	slots  []slot[T]
	mask   uint64
	pos    uint64 // producer-owned
	closed atomic.Bool
	bells  bells
}

// NewRing returns a ring of capacity rounded up to a power of two.
func NewRing[T any](capacity int) *Ring[T] {
	n := 1
	for n < capacity {
		n <<= 1
	}
	return &Ring[T]{slots: make([]slot[T], n), mask: uint64(n - 1)}
}

// Push writes v. It never blocks.
//
//go:norace
func (r *Ring[T]) Push(v T) {
	p := r.pos
	s := &r.slots[p&r.mask]
	s.stamp.Store(2*p + 1)
	s.val = v
	s.stamp.Store(2*p + 2)
	r.pos = p + 1
	r.bells.ringAll()
}

// Close wakes every reader; they drain and then report closed.
func (r *Ring[T]) Close() {
	r.closed.Store(true)
	r.bells.forceAll()
}

// Subscribe returns a reader starting at the current position. Call it
// before the first Push or from the producer goroutine.
func (r *Ring[T]) Subscribe() *Reader[T] {
	rd := &Reader[T]{r: r, next: r.pos, bell: newBell()}
	r.bells.add(rd.bell)
	return rd
}

// Reader is one cursor.
type Reader[T any] struct {
	r    *Ring[T]
	next uint64
	bell *bell
}

// TryRecv returns the next value, or the number of values missed, or
// ok == false when nothing is available.
//
//go:norace
func (rd *Reader[T]) TryRecv() (v T, lag uint64, ok bool) {
	s := &rd.r.slots[rd.next&rd.r.mask]
	want := 2*rd.next + 2
	st := s.stamp.Load()
	if st == want {
		v = s.val
		if s.stamp.Load() == want {
			rd.next++
			return v, 0, true
		}
		st = s.stamp.Load()
	}
	if st < want {
		return v, 0, false // not written yet, or being written
	}
	// Overwritten: the slot now holds position q > next. Find the newest
	// written position h from the stamps (written(k) holds for k up to
	// h-q and not after, so binary search) and resume at h+1-capacity.
	q := (st - 1) / 2
	n := uint64(len(rd.r.slots))
	lo, hi := uint64(0), n-1 // slot q+lo is written; find the last written
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if rd.r.slots[(q+mid)&rd.r.mask].stamp.Load() >= 2*(q+mid)+1 {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	oldest := q + lo + 1 - n
	lag = oldest - rd.next
	rd.next = oldest
	return v, lag, true
}

func (rd *Reader[T]) available() bool {
	st := rd.r.slots[rd.next&rd.r.mask].stamp.Load()
	return st >= 2*rd.next+2 || rd.r.closed.Load()
}

// Recv blocks for the next value; ok is false once the ring is closed and
// drained.
func (rd *Reader[T]) Recv() (v T, lag uint64, ok bool) {
	for {
		if v, lag, ok := rd.TryRecv(); ok {
			return v, lag, true
		}
		if rd.r.closed.Load() {
			if v, lag, ok := rd.TryRecv(); ok {
				return v, lag, true
			}
			return v, 0, false
		}
		rd.bell.park(rd.available)
	}
}

// MutexRing is the portable, race-clean alternative: one mutex, one
// sync.Cond, a cursor per reader.
type MutexRing[T any] struct {
	mu     sync.Mutex
	cond   sync.Cond
	buf    []T
	head   uint64
	closed bool
}

// NewMutexRing returns a ring of exactly capacity values.
func NewMutexRing[T any](capacity int) *MutexRing[T] {
	r := &MutexRing[T]{buf: make([]T, capacity)}
	r.cond.L = &r.mu
	return r
}

// Push writes v and wakes waiting readers.
func (r *MutexRing[T]) Push(v T) {
	r.mu.Lock()
	r.buf[r.head%uint64(len(r.buf))] = v
	r.head++
	r.mu.Unlock()
	r.cond.Broadcast()
}

// Close wakes every reader.
func (r *MutexRing[T]) Close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cond.Broadcast()
}

// Subscribe returns a reader at the head.
func (r *MutexRing[T]) Subscribe() *MutexReader[T] {
	r.mu.Lock()
	defer r.mu.Unlock()
	return &MutexReader[T]{r: r, next: r.head}
}

// MutexReader is one cursor of a MutexRing.
type MutexReader[T any] struct {
	r    *MutexRing[T]
	next uint64
}

// Recv blocks for the next value.
func (rd *MutexReader[T]) Recv() (v T, lag uint64, ok bool) {
	r := rd.r
	r.mu.Lock()
	defer r.mu.Unlock()
	for rd.next == r.head && !r.closed {
		r.cond.Wait()
	}
	if rd.next == r.head {
		return v, 0, false
	}
	n := uint64(len(r.buf))
	if oldest := r.head - min(r.head, n); rd.next < oldest {
		lag = oldest - rd.next
		rd.next = oldest
		return v, lag, true
	}
	v = r.buf[rd.next%n]
	rd.next++
	return v, 0, true
}
