package buffertest

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aimdb-go/aimdb/internal/buffer"
)

// runNotify checks the notify protocol that lets one goroutine serve many
// readers: TryRecvArm returns a pending value without arming; on an empty
// reader it arms, and the next push (or close) calls the notify function
// exactly once; values pushed concurrently with arming are never missed.
func runNotify(t *testing.T, mk func() buffer.Buffer[int]) {
	t.Run("ArmThenPush", func(t *testing.T) {
		b := mk()
		r := b.Subscribe()
		defer r.Close()
		var calls atomic.Int32
		r.SetNotify(func() { calls.Add(1) })
		if _, _, err := r.TryRecvArm(); err != buffer.ErrEmpty {
			t.Fatalf("TryRecvArm() on empty = %v; want ErrEmpty", err)
		}
		push(b, 7)
		if n := calls.Load(); n != 1 {
			t.Fatalf("notify called %d times after one push; want 1", n)
		}
		push(b, 8) // not armed again: no call
		if n := calls.Load(); n != 1 {
			t.Fatalf("notify called %d times after a push while disarmed; want 1", n)
		}
		v, _, err := r.TryRecvArm()
		if err != nil || (v != 7 && v != 8) {
			t.Fatalf("TryRecvArm() = %d, %v; want a pushed value", v, err)
		}
	})
	t.Run("CloseNotifies", func(t *testing.T) {
		b := mk()
		r := b.Subscribe()
		defer r.Close()
		var calls atomic.Int32
		r.SetNotify(func() { calls.Add(1) })
		if _, _, err := r.TryRecvArm(); err != buffer.ErrEmpty {
			t.Fatalf("TryRecvArm() on empty = %v; want ErrEmpty", err)
		}
		b.Close()
		if n := calls.Load(); n != 1 {
			t.Fatalf("notify called %d times after Close; want 1", n)
		}
		if _, _, err := r.TryRecvArm(); err != buffer.ErrClosed {
			t.Fatalf("TryRecvArm() after Close = %v; want ErrClosed", err)
		}
	})
	t.Run("NoLostWakeup", func(t *testing.T) {
		// A consumer that only ever waits for notifications must see the
		// last value of a concurrent producer.
		const n = 2000
		b := mk()
		r := b.Subscribe()
		defer r.Close()
		bell := make(chan struct{}, 1)
		r.SetNotify(func() {
			select {
			case bell <- struct{}{}:
			default:
			}
		})
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 1; i <= n; i++ {
				b.Push(i)
			}
		})
		last := 0
		for last != n {
			v, _, err := r.TryRecvArm()
			switch err {
			case nil:
				last = max(last, v)
			case buffer.ErrLagged:
			case buffer.ErrEmpty:
				<-bell
			default:
				t.Fatalf("TryRecvArm() = %v", err)
			}
		}
		wg.Wait()
	})
}
