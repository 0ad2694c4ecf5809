// Package ringmin holds the physical-limit anchors of the benchmark
// suite: minimal buffers with no metrics, no close ordering and no
// context support, written only to be fast. They are re-implemented from
// the design notes of the performance reference (§3.1).
package ringmin

import (
	"sync"
	"sync/atomic"
)

// bell parks one reader. The producer rings it only when the reader has
// announced it is waiting; the reader re-checks after announcing (a
// Dekker handshake over two sequentially consistent atomics).
type bell struct {
	waiting atomic.Bool
	ch      chan struct{}
	_       [48]byte
}

func newBell() *bell { return &bell{ch: make(chan struct{}, 1)} }

func (b *bell) ring() {
	if b.waiting.Load() && b.waiting.CompareAndSwap(true, false) {
		select {
		case b.ch <- struct{}{}:
		default:
		}
	}
}

// park blocks until rung, unless ready reports true after announcing.
func (b *bell) park(ready func() bool) {
	b.waiting.Store(true)
	if ready() {
		b.waiting.Store(false)
		return
	}
	<-b.ch
}

// bells is a copy-on-write list of readers to ring.
type bells struct {
	mu   sync.Mutex
	list atomic.Pointer[[]*bell]
}

func (bs *bells) add(b *bell) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	var l []*bell
	if p := bs.list.Load(); p != nil {
		l = append(l, *p...)
	}
	l = append(l, b)
	bs.list.Store(&l)
}

func (bs *bells) ringAll() {
	if p := bs.list.Load(); p != nil {
		for _, b := range *p {
			b.ring()
		}
	}
}

// forceAll wakes every reader whether or not it announced waiting.
func (bs *bells) forceAll() {
	if p := bs.list.Load(); p != nil {
		for _, b := range *p {
			b.waiting.Store(false)
			select {
			case b.ch <- struct{}{}:
			default:
			}
		}
	}
}
