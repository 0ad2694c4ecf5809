package buffer

import (
	"context"
	"sync"
)

// lockedReader is what recvLoop needs from a reader: its buffer's lock,
// a non-blocking receive that runs under that lock, and a way to park.
type lockedReader[T any] interface {
	mutex() *sync.Mutex
	// tryLocked returns ErrEmpty when nothing is pending and the buffer is open.
	tryLocked() (T, uint64, error)
	// parkLocked registers the reader as a waiter of its buffer.
	parkLocked()
	waiter() *waiter
}

func tryRecv[T any, R lockedReader[T]](r R) (T, uint64, error) {
	mu := r.mutex()
	mu.Lock()
	v, n, err := r.tryLocked()
	mu.Unlock()
	return v, n, err
}

// tryRecvArm implements Reader.TryRecvArm for the locked buffers: the
// reader parks (registers as a waiter) without blocking, so the next push
// rings its notify function.
func tryRecvArm[T any, R lockedReader[T]](r R) (T, uint64, error) {
	mu := r.mutex()
	mu.Lock()
	v, n, err := r.tryLocked()
	if err == ErrEmpty {
		r.parkLocked()
	}
	mu.Unlock()
	return v, n, err
}

// recvLoop implements Reader.Recv for every buffer kind. A value is only
// ever taken under the lock by tryLocked, so returning because ctx ended
// consumes nothing.
func recvLoop[T any, R lockedReader[T]](ctx context.Context, r R) (T, uint64, error) {
	mu := r.mutex()
	for {
		mu.Lock()
		v, n, err := r.tryLocked()
		if err != ErrEmpty {
			mu.Unlock()
			return v, n, err
		}
		r.parkLocked()
		mu.Unlock()
		if err := r.waiter().wait(ctx); err != nil {
			var zero T
			return zero, 0, err
		}
	}
}

// readerCore is the parking and closing plumbing every reader embeds.
// Its fields other than w.bell are guarded by *mu, the buffer's lock.
type readerCore struct {
	mu *sync.Mutex
	ws *waiters
	w  waiter
}

func newReaderCore(mu *sync.Mutex, ws *waiters) readerCore {
	return readerCore{mu: mu, ws: ws, w: newWaiter()}
}

func (c *readerCore) mutex() *sync.Mutex { return c.mu }
func (c *readerCore) waiter() *waiter    { return &c.w }
func (c *readerCore) parkLocked()        { c.ws.park(&c.w) }

// SetNotify implements Reader.SetNotify.
func (c *readerCore) SetNotify(f func()) {
	c.mu.Lock()
	c.w.notify = f
	c.mu.Unlock()
}

// Close implements Reader.Close.
func (c *readerCore) Close() {
	c.mu.Lock()
	c.w.closed = true
	c.ws.remove(&c.w)
	c.w.ring() // release a Recv parked on this reader in another goroutine
	c.mu.Unlock()
	c.w.watch.disarm()
}
