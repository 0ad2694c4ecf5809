package buffer

import "math/bits"

// A RingBuffer is a single-producer, multi-consumer ring of exactly
// capacity values. Every reader has its own cursor and sees every
// retained value in order. A push into a full ring overwrites the oldest
// value; a reader that had not read it yet gets one ErrLagged carrying the
// exact number of values it missed, then resumes at the oldest value still
// retained. A new reader starts at the head: it sees only values pushed
// after it subscribed. Pushes from several goroutines are safe; values are
// ordered by the order in which their pushes began.
type RingBuffer[T any] interface {
	Buffer[T]
	// Newest returns the most recently pushed value still retained.
	Newest() (T, bool)
	// SubscribeNewest returns a reader whose first value is the newest
	// value pushed before the call, if any, and then every later one. A
	// snapshot taken from it and the values after it neither overlap nor
	// leave a gap.
	SubscribeNewest() Reader[T]
}

// NewRing returns a ring of the given capacity: the lock-free ring where
// it is available (amd64 without the race detector), the mutex ring
// elsewhere. It panics if capacity < 1; the DB validates capacities
// before it creates buffers.
func NewRing[T any](capacity int) RingBuffer[T] {
	checkCapacity(capacity)
	if lockFree {
		return newLockFreeRing[T](capacity)
	}
	return NewMutexRing[T](capacity)
}

func checkCapacity(capacity int) {
	if capacity < 1 {
		panic("buffer: ring capacity must be at least 1")
	}
}

// divisor computes p % d without a hardware division: q is a lower bound
// of p / d from a 64×64 multiply by ⌊(2⁶⁴−1)/d⌋, off by at most 2 for the
// sequence numbers a ring reaches.
type divisor struct {
	d, m uint64
}

func newDivisor(d uint64) divisor { return divisor{d: d, m: ^uint64(0) / d} }

func (v divisor) mod(p uint64) uint64 {
	q, _ := bits.Mul64(p, v.m)
	r := p - q*v.d
	for r >= v.d {
		r -= v.d
	}
	return r
}
