package buffertest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/aimdb-go/aimdb/internal/buffer"
)

// ringStress streams values to four concurrent readers. Each must see a
// gapless sequence once reported lags are accounted for, which also
// proves that a Recv cut short by its context loses nothing (reader 0
// cancels most of its receives).
func ringStress(t *testing.T, mk func(int) buffer.Buffer[int]) {
	b := mk(64)
	var wg sync.WaitGroup
	for i := range 4 {
		r := b.Subscribe()
		wg.Go(func() {
			next := 0
			for n := 0; ; n++ {
				ctx, cancel := context.WithCancel(context.Background())
				if i == 0 && n%3 != 0 {
					cancel() // race cancellation against the producer
				}
				v, missed, err := r.Recv(ctx)
				cancel()
				switch {
				case errors.Is(err, context.Canceled):
					continue
				case errors.Is(err, buffer.ErrLagged):
					next += int(missed)
				case errors.Is(err, buffer.ErrClosed):
					if next != stressN {
						t.Errorf("reader %d: closed at %d; want %d values accounted for", i, next, stressN)
					}
					return
				case err != nil:
					t.Errorf("reader %d: Recv: %v", i, err)
					return
				case v != next:
					t.Errorf("reader %d: got %d; want %d", i, v, next)
					return
				default:
					next++
				}
			}
		})
	}
	for i := range stressN {
		b.Push(i)
	}
	b.Close()
	wg.Wait()
}

// mailboxStress has three readers compete for values: no value may be
// delivered twice, each reader sees increasing values, and the last value
// pushed before Close is delivered.
func mailboxStress(t *testing.T, mk func() buffer.Buffer[int]) {
	b := mk()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = make(map[int]int)
	)
	for i := range 3 {
		r := b.Subscribe()
		wg.Go(func() {
			last := -1
			for {
				v, _, err := r.Recv(context.Background())
				if errors.Is(err, buffer.ErrClosed) {
					return
				}
				if err != nil || v <= last {
					t.Errorf("reader %d: Recv() = %d, %v after %d", i, v, err, last)
					return
				}
				last = v
				mu.Lock()
				seen[v]++
				mu.Unlock()
			}
		})
	}
	for i := range stressN {
		b.Push(i)
	}
	b.Close()
	wg.Wait()
	for v, n := range seen {
		if n != 1 {
			t.Errorf("value %d delivered %d times", v, n)
		}
	}
	if seen[stressN-1] != 1 {
		t.Errorf("last value %d was not delivered", stressN-1)
	}
}

// ringMultiProducerStress has four goroutines push at once. Every reader
// must see each producer's values in the order it pushed them, and account
// for every value pushed, received or reported missed.
func ringMultiProducerStress(t *testing.T, mk func(int) buffer.Buffer[int]) {
	const producers, each = 4, 5_000
	b := mk(64)
	var readers sync.WaitGroup
	for i := range 2 {
		r := b.Subscribe()
		readers.Go(func() {
			last := [producers]int{-1, -1, -1, -1}
			var accounted uint64
			for {
				v, missed, err := r.Recv(context.Background())
				switch {
				case errors.Is(err, buffer.ErrLagged):
					accounted += missed
				case errors.Is(err, buffer.ErrClosed):
					if accounted != producers*each {
						t.Errorf("reader %d: accounted for %d values; want %d", i, accounted, producers*each)
					}
					return
				case err != nil:
					t.Errorf("reader %d: %v", i, err)
					return
				default:
					accounted++
					p, n := v/each, v%each
					if n <= last[p] {
						t.Errorf("reader %d: producer %d value %d after %d", i, p, n, last[p])
						return
					}
					last[p] = n
				}
			}
		})
	}
	var producersWG sync.WaitGroup
	for p := range producers {
		producersWG.Go(func() {
			for n := range each {
				b.Push(p*each + n)
			}
		})
	}
	producersWG.Wait()
	b.Close()
	readers.Wait()
}
