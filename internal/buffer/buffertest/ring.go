package buffertest

import (
	"testing"

	"github.com/aimdb-go/aimdb/internal/buffer"
)

func runRing(t *testing.T, mk func(capacity int) buffer.Buffer[int]) {
	t.Run("SR-1 independent cursors both see all", func(t *testing.T) {
		b := mk(4)
		a, c := b.Subscribe(), b.Subscribe()
		push(b, 1, 2)
		wantRecv(t, a, 1)
		wantRecv(t, c, 1)
		wantRecv(t, a, 2)
		wantRecv(t, c, 2)
		// SR-2: a caught-up reader reads empty.
		wantErr(t, a, buffer.ErrEmpty)
	})
	t.Run("a reader from the newest value", func(t *testing.T) {
		b := mk(4)
		nb, ok := b.(interface{ SubscribeNewest() buffer.Reader[int] })
		if !ok {
			t.Fatalf("%T has no SubscribeNewest", b)
		}
		empty := nb.SubscribeNewest()
		wantErr(t, empty, buffer.ErrEmpty)
		push(b, 1, 2, 3)
		r := nb.SubscribeNewest()
		push(b, 4)
		wantRecv(t, empty, 1) // an empty ring's reader starts at the first value
		wantRecv(t, r, 3)
		wantRecv(t, r, 4)
		wantErr(t, r, buffer.ErrEmpty)
	})
	t.Run("SR-3 overflowed reader lags, SR-4 peek is none", func(t *testing.T) {
		b := mk(4)
		r := b.Subscribe()
		for i := range 64 {
			b.Push(i)
		}
		_, n, err := r.Recv(t.Context())
		if err != buffer.ErrLagged || n != 60 {
			t.Fatalf("Recv() = missed %d, %v; want missed 60, ErrLagged", n, err)
		}
		wantPeek(t, b, 0, false)
	})
	t.Run("exact lag count and resume at oldest retained", func(t *testing.T) {
		b := mk(3)
		r := b.Subscribe()
		for i := range 10 {
			b.Push(i)
		}
		wantLag(t, r, 7)
		wantStats(t, b, buffer.Stats{Produced: 10, Dropped: 7, Items: 3, Capacity: 3})
		want(t, r, 7)
		wantStats(t, b, buffer.Stats{Produced: 10, Consumed: 1, Dropped: 7, Items: 3, Capacity: 3})
		if got := drain(t, r); !equal(got, []int{8, 9}) {
			t.Fatalf("after lag drained %v; want [8 9]", got)
		}
	})
	t.Run("capacity is exact, not rounded", func(t *testing.T) {
		for _, capacity := range []int{1, 3, 5, 10} {
			b := mk(capacity)
			r := b.Subscribe()
			for i := range capacity {
				b.Push(i)
			}
			if got := b.Stats(); got.Items != capacity || got.Capacity != capacity {
				t.Fatalf("capacity %d: Stats() = %+v", capacity, got)
			}
			want(t, r, 0) // exactly full: nothing lost
			r2 := b.Subscribe()
			for i := range capacity + 1 {
				b.Push(100 + i)
			}
			wantLag(t, r2, 1)
			want(t, r2, 101)
		}
	})
	t.Run("three readers each read all in order", func(t *testing.T) {
		b := mk(8)
		rs := []buffer.Reader[int]{b.Subscribe(), b.Subscribe(), b.Subscribe()}
		push(b, 0, 1, 2, 3, 4)
		for i, r := range rs {
			if got := drain(t, r); !equal(got, []int{0, 1, 2, 3, 4}) {
				t.Fatalf("reader %d drained %v; want [0 1 2 3 4]", i, got)
			}
		}
	})
	t.Run("interleaved push and drain", func(t *testing.T) {
		b := mk(8)
		r := b.Subscribe()
		push(b, 1, 2, 3)
		if got := drain(t, r); !equal(got, []int{1, 2, 3}) {
			t.Fatalf("drained %v; want [1 2 3]", got)
		}
		push(b, 4, 5)
		if got := drain(t, r); !equal(got, []int{4, 5}) {
			t.Fatalf("drained %v; want [4 5]", got)
		}
		wantErr(t, r, buffer.ErrEmpty)
	})
	t.Run("recv then try drain", func(t *testing.T) {
		b := mk(8)
		r := b.Subscribe()
		push(b, 10, 20, 30)
		wantRecv(t, r, 10)
		if got := drain(t, r); !equal(got, []int{20, 30}) {
			t.Fatalf("drained %v; want [20 30]", got)
		}
	})
	t.Run("new reader starts at the head", func(t *testing.T) {
		b := mk(8)
		push(b, 1, 2)
		r := b.Subscribe()
		wantErr(t, r, buffer.ErrEmpty)
		b.Push(3)
		want(t, r, 3)
	})
	t.Run("slow reader does not slow a fast one", func(t *testing.T) {
		b := mk(4)
		fast, slow := b.Subscribe(), b.Subscribe()
		for i := range 20 {
			b.Push(i)
			want(t, fast, i)
		}
		wantLag(t, slow, 16)
		if got := drain(t, slow); !equal(got, []int{16, 17, 18, 19}) {
			t.Fatalf("slow reader drained %v; want [16 17 18 19]", got)
		}
	})
	t.Run("metrics and reset", func(t *testing.T) {
		b := mk(10)
		r := b.Subscribe()
		push(b, 1, 2, 3, 4, 5)
		wantStats(t, b, buffer.Stats{Produced: 5, Items: 5, Capacity: 10})
		want(t, r, 1)
		want(t, r, 2)
		wantStats(t, b, buffer.Stats{Produced: 5, Consumed: 2, Items: 5, Capacity: 10})
		b.ResetStats()
		wantStats(t, b, buffer.Stats{Items: 5, Capacity: 10})
	})
	t.Run("dropped sums every reader's lag", func(t *testing.T) {
		b := mk(2)
		r1, r2 := b.Subscribe(), b.Subscribe()
		push(b, 1, 2, 3, 4, 5)
		wantLag(t, r1, 3)
		wantLag(t, r2, 3)
		if got := b.Stats().Dropped; got != 6 {
			t.Fatalf("Stats().Dropped = %d; want 6", got)
		}
	})
	t.Run("lag surfaces through Recv too", func(t *testing.T) {
		b := mk(2)
		r := b.Subscribe()
		push(b, 1, 2, 3)
		_, n, err := r.Recv(t.Context())
		if err != buffer.ErrLagged || n != 1 {
			t.Fatalf("Recv() = missed %d, %v; want 1, ErrLagged", n, err)
		}
		wantRecv(t, r, 2)
	})
	t.Run("model", func(t *testing.T) { ringModel(t, mk) })
	t.Run("stress", func(t *testing.T) { ringStress(t, mk) })
	t.Run("concurrent producers", func(t *testing.T) { ringMultiProducerStress(t, mk) })
}
