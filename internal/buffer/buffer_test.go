package buffer_test

import (
	"testing"

	"github.com/aimdb-go/aimdb/internal/buffer"
	"github.com/aimdb-go/aimdb/internal/buffer/buffertest"
)

// TestConformance runs the suite with the ring NewRing picks for this
// build: the lock-free ring on amd64 without -race, the mutex ring
// otherwise.
func TestConformance(t *testing.T) {
	buffertest.Run(t, buffertest.Factories{
		Ring:    func(n int) buffer.Buffer[int] { return buffer.NewRing[int](n) },
		Latest:  func() buffer.Buffer[int] { return buffer.NewLatest[int]() },
		Mailbox: func() buffer.Buffer[int] { return buffer.NewMailbox[int]() },
	})
}

// TestConformanceMutexRing runs the ring part of the suite on the mutex
// ring in every build, so both rings are always held to one contract.
func TestConformanceMutexRing(t *testing.T) {
	buffertest.Run(t, buffertest.Factories{
		Ring:    func(n int) buffer.Buffer[int] { return buffer.NewMutexRing[int](n) },
		Latest:  func() buffer.Buffer[int] { return buffer.NewLatest[int]() },
		Mailbox: func() buffer.Buffer[int] { return buffer.NewMailbox[int]() },
	})
}

func TestNewestOfRing(t *testing.T) {
	for name, r := range map[string]buffer.RingBuffer[int]{"NewRing": buffer.NewRing[int](3), "MutexRing": buffer.NewMutexRing[int](3)} {
		if _, ok := r.Newest(); ok {
			t.Errorf("%s: Newest on an empty ring reported a value", name)
		}
		for i := range 5 {
			r.Push(i)
		}
		if v, ok := r.Newest(); !ok || v != 4 {
			t.Errorf("%s: Newest() = %d, %v; want 4", name, v, ok)
		}
	}
}

// TestDivisor checks the division-free modulo the lock-free ring uses.
func TestDivisor(t *testing.T) {
	for _, d := range []uint64{1, 2, 3, 7, 10, 1000, 1024, 1 << 20, 1<<32 + 15} {
		for _, p := range []uint64{0, 1, d - 1, d, d + 1, 2*d - 1, 1 << 40, 1<<63 - 1, 1<<63 + 12345, ^uint64(0) >> 1} {
			if got, want := buffer.Mod(d, p), p%d; got != want {
				t.Errorf("%d mod %d = %d; want %d", p, d, got, want)
			}
		}
	}
}

func TestNewByKind(t *testing.T) {
	for _, k := range []buffer.Kind{buffer.KindRing, buffer.KindLatest, buffer.KindMailbox} {
		if got := buffer.New[int](k, 4).Kind(); got != k {
			t.Errorf("New(%q).Kind() = %q", k, got)
		}
	}
}
