package buffertest

import (
	"context"
	"errors"
	"testing"

	"github.com/aimdb-go/aimdb/internal/buffer"
)

// runCommon checks the contract every kind shares: close, cancellation,
// and reader release.
func runCommon(t *testing.T, mk func() buffer.Buffer[int]) {
	t.Run("close delivers what remains then closed", func(t *testing.T) {
		b := mk()
		r := b.Subscribe()
		b.Push(1)
		b.Close()
		want(t, r, 1)
		wantErr(t, r, buffer.ErrClosed)
		if _, _, err := r.Recv(t.Context()); !errors.Is(err, buffer.ErrClosed) {
			t.Fatalf("Recv() after drain = %v; want ErrClosed", err)
		}
		if b.Push(2) {
			t.Fatal("Push after Close reported true")
		}
		if got := b.Stats().Produced; got != 1 {
			t.Fatalf("Stats().Produced = %d after a refused push; want 1", got)
		}
		b.Close() // idempotent
	})
	t.Run("close releases a parked Recv", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			b := mk()
			r := b.Subscribe()
			errc := recvAsync(context.Background(), r)
			settle()
			b.Close()
			if err := <-errc; !errors.Is(err, buffer.ErrClosed) {
				t.Fatalf("parked Recv() = %v after Close; want ErrClosed", err)
			}
		})
	})
	t.Run("Recv ended by ctx consumes nothing", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			b := mk()
			r := b.Subscribe()
			ctx, cancel := context.WithCancel(t.Context())
			errc := recvAsync(ctx, r)
			settle()
			cancel()
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Fatalf("Recv() = %v after cancel; want context.Canceled", err)
			}
			if _, _, err := r.Recv(cancelled(t)); !errors.Is(err, context.Canceled) {
				t.Fatalf("Recv(cancelled) on empty = %v; want context.Canceled", err)
			}
			b.Push(9)
			want(t, r, 9)
		})
	})
	t.Run("reader Close releases its parked Recv", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			b := mk()
			r := b.Subscribe()
			errc := recvAsync(context.Background(), r)
			settle()
			r.Close()
			if err := <-errc; !errors.Is(err, buffer.ErrClosed) {
				t.Fatalf("parked Recv() = %v after reader Close; want ErrClosed", err)
			}
			b.Push(1)
			wantErr(t, r, buffer.ErrClosed)
		})
	})
	t.Run("push never blocks with stalled readers", func(t *testing.T) {
		b := mk()
		for range 8 {
			b.Subscribe()
		}
		for i := range 10_000 {
			b.Push(i)
		}
		if got := b.Stats().Produced; got != 10_000 {
			t.Fatalf("Stats().Produced = %d; want 10000", got)
		}
	})
}

// recvAsync runs r.Recv(ctx) in a goroutine and delivers its error.
func recvAsync(ctx context.Context, r buffer.Reader[int]) <-chan error {
	errc := make(chan error, 1)
	go func() {
		_, _, err := r.Recv(ctx)
		errc <- err
	}()
	return errc
}
