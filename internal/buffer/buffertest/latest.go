package buffertest

import (
	"testing"

	"github.com/aimdb-go/aimdb/internal/buffer"
)

func runLatest(t *testing.T, mk func() buffer.Buffer[int]) {
	t.Run("SL-1 fresh subscriber sees current value once, SL-2 then empty", func(t *testing.T) {
		b := mk()
		b.Push(42)
		r := b.Subscribe()
		wantRecv(t, r, 42)
		wantErr(t, r, buffer.ErrEmpty)
	})
	t.Run("SL-3 nothing produced reads empty, SL-4 then the pushed value", func(t *testing.T) {
		b := mk()
		r := b.Subscribe()
		wantErr(t, r, buffer.ErrEmpty)
		b.Push(7)
		wantRecv(t, r, 7)
	})
	t.Run("SL-5 keeps only the newest", func(t *testing.T) {
		b := mk()
		r := b.Subscribe()
		push(b, 1, 2, 3)
		wantRecv(t, r, 3)
	})
	t.Run("SL-6 peek before push is none, SL-7 peek is non-destructive", func(t *testing.T) {
		b := mk()
		wantPeek(t, b, 0, false)
		push(b, 10, 20)
		wantPeek(t, b, 20, true)
		wantPeek(t, b, 20, true)
		r := b.Subscribe()
		want(t, r, 20)
		wantPeek(t, b, 20, true)
	})
	t.Run("try after collapse then new value", func(t *testing.T) {
		b := mk()
		r := b.Subscribe()
		push(b, 1, 2, 3)
		want(t, r, 3)
		wantErr(t, r, buffer.ErrEmpty)
		b.Push(4)
		want(t, r, 4)
	})
	t.Run("fresh subscriber with no push waits", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			b := mk()
			r := b.Subscribe()
			got := make(chan int)
			go func() {
				v, _, _ := r.Recv(t.Context())
				got <- v
			}()
			settle()
			select {
			case v := <-got:
				t.Fatalf("Recv returned %d before any push", v)
			default:
			}
			b.Push(3)
			if v := <-got; v != 3 {
				t.Fatalf("Recv() = %d; want 3", v)
			}
		})
	})
	t.Run("every reader sees the newest", func(t *testing.T) {
		b := mk()
		r1, r2 := b.Subscribe(), b.Subscribe()
		push(b, 10, 20, 30)
		want(t, r1, 30)
		want(t, r2, 30)
	})
	t.Run("never lags", func(t *testing.T) {
		b := mk()
		r := b.Subscribe()
		for i := range 1000 {
			b.Push(i)
		}
		want(t, r, 999)
		if got := b.Stats().Dropped; got != 0 {
			t.Fatalf("Stats().Dropped = %d; want 0", got)
		}
	})
	t.Run("metrics and reset", func(t *testing.T) {
		b := mk()
		wantStats(t, b, buffer.Stats{Capacity: 1})
		r := b.Subscribe()
		push(b, 1, 2, 3)
		want(t, r, 3)
		wantStats(t, b, buffer.Stats{Produced: 3, Consumed: 1, Items: 1, Capacity: 1})
		b.ResetStats()
		wantStats(t, b, buffer.Stats{Items: 1, Capacity: 1})
	})
	t.Run("model", func(t *testing.T) { latestModel(t, mk) })
}
