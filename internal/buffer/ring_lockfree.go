//go:build amd64 && !race && !purego

package buffer

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// lfSlot holds one value and the stamp that tells which position it holds:
// p+1 once position p is readable, 0 when never written. The stamp is only
// accessed atomically.
type lfSlot[T any] struct {
	stamp uint64
	val   T
}

// lfRing is the lock-free ring.
//
// A push claims position p with one atomic add on head, waits until the
// slot's previous occupant (p − capacity) is published, copies the value
// with plain stores and publishes it with an atomic store of the stamp:
// two locked instructions per push, and safe for concurrent producers
// (a producer a full lap ahead waits for the one behind).
//
// A reader at position p loads the stamp, copies the value, then loads
// head: if no push beyond p + capacity has been claimed, nobody can have
// started overwriting the slot, so the copy is intact. This relies on
// amd64 keeping stores in order and loads in order (the claim on head is
// visible before any byte of the overwriting value), and on the compiler
// emitting the copy between the two atomic loads: Go's SSA gives every
// atomic operation a new memory state and schedules the plain loads of the
// previous state before it (checked in the disassembly of next). The reader writes no shared
// memory on the fast path. Readers that find nothing announce that they
// are waiting and park on a doorbell; a push rings only those.
type lfRing[T any] struct {
	// Read by every push and read; written only at Close and Subscribe.
	slots   []lfSlot[T]
	div     divisor
	closed  atomic.Bool
	readers atomic.Pointer[[]*lfReader[T]] // copy-on-write, under mu
	_       [64]byte

	head atomic.Uint64 // positions claimed so far; written by every push
	_    [56]byte

	parked atomic.Int32 // readers announced as waiting; a push with none loads only this
	_      [60]byte

	mu sync.Mutex // guards readers updates and the bases below

	producedBase uint64
	retired      lfCounters // counts of closed readers
	base         lfCounters // totals at the last reset
}

type lfCounters struct{ consumed, dropped uint64 }

func newLockFreeRing[T any](capacity int) *lfRing[T] {
	r := &lfRing[T]{slots: make([]lfSlot[T], capacity), div: newDivisor(uint64(capacity))}
	r.readers.Store(&[]*lfReader[T]{})
	return r
}

func (b *lfRing[T]) capacity() uint64 { return uint64(len(b.slots)) }

// Push implements Buffer.
func (b *lfRing[T]) Push(v T) bool {
	if b.closed.Load() {
		return false
	}
	p := b.head.Add(1) - 1
	s := &b.slots[b.div.mod(p)]
	var prev uint64 // stamp of the previous occupant, p − capacity
	if n := b.capacity(); p >= n {
		prev = p - n + 1
	}
	for atomic.LoadUint64(&s.stamp) != prev {
		runtime.Gosched() // the producer a lap behind has not published yet
	}
	s.val = v
	atomic.StoreUint64(&s.stamp, p+1)
	b.wake()
	return true
}

// wake rings every reader that announced it is waiting.
func (b *lfRing[T]) wake() {
	if b.parked.Load() == 0 {
		return
	}
	for _, r := range *b.readers.Load() {
		if r.waiting.Load() {
			r.unannounce()
			r.ring()
		}
	}
}

// Subscribe implements Buffer.
func (b *lfRing[T]) Subscribe() Reader[T] { return b.subscribeAt(0) }

// SubscribeNewest implements RingBuffer.
func (b *lfRing[T]) SubscribeNewest() Reader[T] { return b.subscribeAt(1) }

// subscribeAt returns a reader back positions before the head (never
// before the first value).
func (b *lfRing[T]) subscribeAt(back uint64) Reader[T] {
	seq := b.head.Load()
	seq -= min(seq, back)
	r := &lfReader[T]{b: b, n: b.capacity(), seq: seq, idx: b.div.mod(seq), bell: make(chan struct{}, 1)}
	r.wake = r.ring
	b.mu.Lock()
	old := *b.readers.Load()
	rs := make([]*lfReader[T], len(old), len(old)+1)
	copy(rs, old)
	rs = append(rs, r)
	b.readers.Store(&rs)
	b.mu.Unlock()
	return r
}

// Peek implements Buffer. A ring has no canonical latest value.
func (b *lfRing[T]) Peek() (T, bool) {
	var zero T
	return zero, false
}

// Newest implements RingBuffer.
func (b *lfRing[T]) Newest() (T, bool) {
	for {
		h := b.head.Load()
		if h == 0 {
			var zero T
			return zero, false
		}
		s := &b.slots[b.div.mod(h-1)]
		if atomic.LoadUint64(&s.stamp) == h {
			v := s.val
			if b.head.Load() <= h-1+b.capacity() {
				return v, true
			}
		}
		runtime.Gosched()
	}
}

// Close implements Buffer.
func (b *lfRing[T]) Close() {
	b.closed.Store(true)
	for _, r := range *b.readers.Load() {
		r.unannounce()
		r.ring()
	}
}

// Stats implements Buffer.
func (b *lfRing[T]) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.totalsLocked()
	h := b.head.Load()
	return Stats{
		Produced: h - b.producedBase,
		Consumed: c.consumed - b.base.consumed,
		Dropped:  c.dropped - b.base.dropped,
		Items:    int(min(h, b.capacity())),
		Capacity: int(b.capacity()),
	}
}

func (b *lfRing[T]) totalsLocked() lfCounters {
	c := b.retired
	for _, r := range *b.readers.Load() {
		c.consumed += atomic.LoadUint64(&r.consumed)
		c.dropped += r.dropped.Load()
	}
	return c
}

// ResetStats implements Buffer.
func (b *lfRing[T]) ResetStats() {
	b.mu.Lock()
	b.producedBase = b.head.Load()
	b.base = b.totalsLocked()
	b.mu.Unlock()
}

// Kind implements Buffer.
func (b *lfRing[T]) Kind() Kind { return KindRing }

// Version implements Buffer: the positions claimed (a push claims its
// position before it writes the slot).
func (b *lfRing[T]) Version() uint64 { return b.head.Load() }

type lfReader[T any] struct {
	b   *lfRing[T]
	n   uint64 // the ring's capacity
	seq uint64 // next position to read; owned by the reader's goroutine
	idx uint64 // seq % capacity

	// consumed is written only by the reader's goroutine, with a plain
	// store (an atomic add on every read costs more than the read), and
	// read by Stats with an atomic load: on amd64 an aligned 8-byte store
	// is never torn. This file is never built with the race detector.
	consumed uint64
	dropped  atomic.Uint64
	waiting  atomic.Bool
	closed   atomic.Bool
	bell     chan struct{}
	watch    ctxWatch
	wake     func() // ring as a func value, made once
	notifyFn func() // SetNotify's function; set before the reader is shared
	armed    atomic.Bool
}

// announce tells producers that r is about to park.
func (r *lfReader[T]) announce() {
	r.waiting.Store(true)
	r.b.parked.Add(1)
}

// unannounce withdraws the announcement, once, whoever gets there first.
func (r *lfReader[T]) unannounce() {
	if r.waiting.CompareAndSwap(true, false) {
		r.b.parked.Add(-1)
	}
}

func (r *lfReader[T]) ring() {
	if r.notifyFn != nil {
		if r.armed.Swap(false) {
			r.notifyFn()
		}
		return
	}
	select {
	case r.bell <- struct{}{}:
	default:
	}
}

// next is the fast path of a read: the value at the cursor, if it is
// there and was not overwritten while being copied. Small enough to inline.
// The caller checks that the reader is open.
func (r *lfReader[T]) next() (v T, ok bool) {
	s := &r.b.slots[r.idx]
	seq := r.seq
	if atomic.LoadUint64(&s.stamp) == seq+1 {
		v = s.val
		if ok = r.b.head.Load() <= seq+r.n; ok {
			r.advance()
		}
	}
	return v, ok
}

func (r *lfReader[T]) advance() {
	r.seq++
	r.consumed++
	if r.idx++; r.idx == r.n {
		r.idx = 0
	}
}

// TryRecv implements Reader.
func (r *lfReader[T]) TryRecv() (T, uint64, error) {
	if !r.closed.Load() {
		if v, ok := r.next(); ok {
			return v, 0, nil
		}
	}
	return r.tryRecvSlow()
}

func (r *lfReader[T]) tryRecvSlow() (T, uint64, error) {
	var zero T
	if r.closed.Load() {
		return zero, 0, ErrClosed
	}
	if v, ok := r.next(); ok {
		return v, 0, nil
	}
	b := r.b
	h := b.head.Load()
	if h <= r.seq+uint64(len(b.slots)) {
		// Nothing overwritten: the cursor's position is not published
		// yet (or was claimed and is being written). Closed with nothing
		// claimed beyond the cursor means the reader is done.
		if b.closed.Load() && r.seq >= h {
			return zero, 0, ErrClosed
		}
		return zero, 0, ErrEmpty
	}
	// Overwritten, or about to be: resume at the oldest position retained.
	oldest := h - min(h, b.capacity())
	missed := oldest - r.seq
	r.seq = oldest
	r.idx = b.div.mod(oldest)
	r.dropped.Add(missed)
	return zero, missed, ErrLagged
}

// SetNotify implements Reader.
func (r *lfReader[T]) SetNotify(f func()) { r.notifyFn = f }

// Position implements Reader.
func (r *lfReader[T]) Position() uint64 { return r.seq }

// TryRecvArm implements Reader.
func (r *lfReader[T]) TryRecvArm() (T, uint64, error) {
	v, n, err := r.TryRecv()
	if err != ErrEmpty {
		return v, n, err
	}
	// Arm and announce, then look again: a push that did not see the
	// announcement published its value before this second look.
	r.armed.Store(true)
	r.announce()
	if v, n, err := r.tryRecvSlow(); err != ErrEmpty {
		r.armed.Store(false)
		r.unannounce()
		return v, n, err
	}
	return v, n, ErrEmpty
}

// Recv implements Reader.
func (r *lfReader[T]) Recv(ctx context.Context) (T, uint64, error) {
	if !r.closed.Load() {
		if v, ok := r.next(); ok {
			return v, 0, nil
		}
	}
	return r.recvSlow(ctx)
}

func (r *lfReader[T]) recvSlow(ctx context.Context) (T, uint64, error) {
	for {
		v, n, err := r.tryRecvSlow()
		if err != ErrEmpty {
			return v, n, err
		}
		// Announce, then look again: a push that did not see the
		// announcement published its value before this second look.
		r.announce()
		if v, n, err := r.tryRecvSlow(); err != ErrEmpty {
			r.unannounce()
			return v, n, err
		}
		if err := park(ctx, r.bell, &r.watch, r.wake); err != nil {
			r.unannounce()
			var zero T
			return zero, 0, err
		}
	}
}

// Close implements Reader.
func (r *lfReader[T]) Close() {
	if r.closed.Swap(true) {
		return
	}
	b := r.b
	b.mu.Lock()
	old := *b.readers.Load()
	rs := make([]*lfReader[T], 0, len(old))
	for _, x := range old {
		if x != r {
			rs = append(rs, x)
		}
	}
	b.retired.consumed += atomic.LoadUint64(&r.consumed)
	b.retired.dropped += r.dropped.Load()
	b.readers.Store(&rs)
	b.mu.Unlock()
	r.ring() // release a Recv parked on this reader in another goroutine
	r.watch.disarm()
}

// Pending implements Reader. It reads the reader's cursor from another
// goroutine: an aligned 8-byte load, never torn on amd64.
func (r *lfReader[T]) Pending() bool {
	return !r.closed.Load() && atomic.LoadUint64(&r.seq) < r.b.head.Load()
}
