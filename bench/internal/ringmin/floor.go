package ringmin

import (
	"runtime"
	"sync/atomic"
)

// Floor is the cost floor of streaming through a shared ring: per value,
// one atomic store by the producer and one atomic load per reader, and
// no parking — a reader with nothing to read yields and looks again. It
// keeps no lag contract (a reader more than a lap behind reads
// overwritten slots) and burns a CPU per idle reader, so it is an anchor
// for the benchmarks, not a buffer.
type Floor[T any] struct {
	slots  []T
	mask   uint64
	head   atomic.Uint64
	_      [56]byte
	closed atomic.Bool
}

// NewFloor returns a floor ring of capacity rounded up to a power of two.
func NewFloor[T any](capacity int) *Floor[T] {
	n := 1
	for n < capacity {
		n <<= 1
	}
	return &Floor[T]{slots: make([]T, n), mask: uint64(n - 1)}
}

// Push writes v and publishes it with one atomic store.
//
//go:norace
func (f *Floor[T]) Push(v T) {
	h := f.head.Load()
	f.slots[h&f.mask] = v
	f.head.Store(h + 1)
}

// Close ends the stream: readers drain, then report closed.
func (f *Floor[T]) Close() { f.closed.Store(true) }

// Subscribe returns a reader at the current position. With batch set it
// loads the head once per run of available values instead of once per
// value (the batched floor).
func (f *Floor[T]) Subscribe(batch bool) *FloorReader[T] {
	h := f.head.Load()
	return &FloorReader[T]{f: f, next: h, seen: h, batch: batch}
}

// FloorReader is one cursor of a Floor.
type FloorReader[T any] struct {
	f     *Floor[T]
	next  uint64
	seen  uint64 // the head last loaded
	batch bool
}

// Recv spins for the next value; ok is false once closed and drained.
//
//go:norace
func (rd *FloorReader[T]) Recv() (v T, lag uint64, ok bool) {
	for {
		if !rd.batch || rd.next >= rd.seen {
			rd.seen = rd.f.head.Load()
		}
		if rd.next < rd.seen {
			v = rd.f.slots[rd.next&rd.f.mask]
			rd.next++
			return v, 0, true
		}
		if rd.f.closed.Load() && rd.next >= rd.f.head.Load() {
			return v, 0, false
		}
		runtime.Gosched()
	}
}
