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
