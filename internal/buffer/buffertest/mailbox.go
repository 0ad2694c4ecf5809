package buffertest

import (
	"testing"

	"github.com/aimdb-go/aimdb/internal/buffer"
)

func runMailbox(t *testing.T, mk func() buffer.Buffer[int]) {
	t.Run("MB-1 keeps the latest unconsumed, MB-2 drained once received", func(t *testing.T) {
		b := mk()
		r := b.Subscribe()
		push(b, 1, 2, 3)
		wantRecv(t, r, 3)
		wantErr(t, r, buffer.ErrEmpty)
	})
	t.Run("MB-3 empty is not closure", func(t *testing.T) {
		b := mk()
		r := b.Subscribe()
		wantErr(t, r, buffer.ErrEmpty)
	})
	t.Run("MB-4 peek before push is none, MB-5 peek does not drain", func(t *testing.T) {
		b := mk()
		wantPeek(t, b, 0, false)
		b.Push(7)
		wantPeek(t, b, 7, true)
		wantPeek(t, b, 7, true)
		r := b.Subscribe()
		want(t, r, 7)
		wantPeek(t, b, 0, false)
	})
	t.Run("value pushed before subscribe is delivered", func(t *testing.T) {
		b := mk()
		b.Push(5)
		r := b.Subscribe()
		want(t, r, 5)
	})
	t.Run("competing readers take each value once", func(t *testing.T) {
		b := mk()
		r1, r2 := b.Subscribe(), b.Subscribe()
		b.Push(1)
		want(t, r2, 1)
		wantErr(t, r1, buffer.ErrEmpty)
		b.Push(2)
		want(t, r1, 2)
		wantErr(t, r2, buffer.ErrEmpty)
	})
	t.Run("50 park and wake cycles", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			b := mk()
			r := b.Subscribe()
			got := make(chan int)
			go func() {
				for range 50 {
					v, _, err := r.Recv(t.Context())
					if err != nil {
						t.Errorf("Recv: %v", err)
						return
					}
					got <- v
				}
			}()
			for i := range 50 {
				settle() // the reader is parked
				b.Push(i)
				if v := <-got; v != i {
					t.Fatalf("cycle %d: Recv() = %d", i, v)
				}
			}
		})
	})
	t.Run("metrics", func(t *testing.T) {
		b := mk()
		r := b.Subscribe()
		push(b, 1, 2)
		wantStats(t, b, buffer.Stats{Produced: 2, Items: 1, Capacity: 1})
		want(t, r, 2)
		wantStats(t, b, buffer.Stats{Produced: 2, Consumed: 1, Capacity: 1})
		b.ResetStats()
		wantStats(t, b, buffer.Stats{Capacity: 1})
	})
	t.Run("model", func(t *testing.T) { mailboxModel(t, mk) })
	t.Run("stress", func(t *testing.T) { mailboxStress(t, mk) })
}
