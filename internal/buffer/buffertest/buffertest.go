// Package buffertest is the conformance suite every AimDB buffer passes.
//
// It ports AimDB's shared buffer contract suite (cases SL-1…SL-7,
// MB-1…MB-5, SR-1…SR-4) and the adapter tests worth keeping, and adds
// what the Go port promises beyond them: close semantics, Recv that
// returns because its context ended consumes nothing, exact ring capacity
// and lag counts, property tests against a model, and concurrent stress
// runs meant for -race.
package buffertest

import (
	"context"
	"errors"
	"testing"

	"github.com/aimdb-go/aimdb/internal/buffer"
)

// Factories build fresh, empty buffers of each kind holding ints.
type Factories struct {
	Ring    func(capacity int) buffer.Buffer[int]
	Latest  func() buffer.Buffer[int]
	Mailbox func() buffer.Buffer[int]
}

// Run runs the whole suite against f.
func Run(t *testing.T, f Factories) {
	t.Run("Ring", func(t *testing.T) { runRing(t, f.Ring) })
	t.Run("Latest", func(t *testing.T) { runLatest(t, f.Latest) })
	t.Run("Mailbox", func(t *testing.T) { runMailbox(t, f.Mailbox) })
	t.Run("Common", func(t *testing.T) {
		kinds := []struct {
			name string
			mk   func() buffer.Buffer[int]
		}{
			{"Ring", func() buffer.Buffer[int] { return f.Ring(4) }},
			{"Latest", f.Latest},
			{"Mailbox", f.Mailbox},
		}
		for _, k := range kinds {
			t.Run(k.name, func(t *testing.T) { runCommon(t, k.mk) })
			t.Run(k.name+"/Notify", func(t *testing.T) { runNotify(t, k.mk) })
		}
	})
}

// want asserts that TryRecv returns v.
func want(t *testing.T, r buffer.Reader[int], v int) {
	t.Helper()
	got, _, err := r.TryRecv()
	if err != nil || got != v {
		t.Fatalf("TryRecv() = %d, %v; want %d, nil", got, err, v)
	}
}

// wantRecv asserts that Recv returns v.
func wantRecv(t *testing.T, r buffer.Reader[int], v int) {
	t.Helper()
	got, _, err := r.Recv(t.Context())
	if err != nil || got != v {
		t.Fatalf("Recv() = %d, %v; want %d, nil", got, err, v)
	}
}

// wantErr asserts that TryRecv fails with target.
func wantErr(t *testing.T, r buffer.Reader[int], target error) {
	t.Helper()
	got, n, err := r.TryRecv()
	if !errors.Is(err, target) {
		t.Fatalf("TryRecv() = %d, %d, %v; want error %v", got, n, err, target)
	}
}

// wantLag asserts that TryRecv reports exactly missed lost values.
func wantLag(t *testing.T, r buffer.Reader[int], missed uint64) {
	t.Helper()
	_, n, err := r.TryRecv()
	if !errors.Is(err, buffer.ErrLagged) || n != missed {
		t.Fatalf("TryRecv() = missed %d, %v; want missed %d, %v", n, err, missed, buffer.ErrLagged)
	}
}

func wantPeek(t *testing.T, b buffer.Buffer[int], v int, ok bool) {
	t.Helper()
	got, gotOK := b.Peek()
	if gotOK != ok || (ok && got != v) {
		t.Fatalf("Peek() = %d, %v; want %d, %v", got, gotOK, v, ok)
	}
}

func wantStats(t *testing.T, b buffer.Buffer[int], want buffer.Stats) {
	t.Helper()
	if got := b.Stats(); got != want {
		t.Fatalf("Stats() = %+v; want %+v", got, want)
	}
}

func push(b buffer.Buffer[int], vs ...int) {
	for _, v := range vs {
		b.Push(v)
	}
}

// drain reads with TryRecv until the reader is empty and returns what it read.
func drain(t *testing.T, r buffer.Reader[int]) []int {
	t.Helper()
	var got []int
	for {
		v, _, err := r.TryRecv()
		switch {
		case err == nil:
			got = append(got, v)
		case errors.Is(err, buffer.ErrEmpty):
			return got
		default:
			t.Fatalf("TryRecv() error %v while draining after %v", err, got)
		}
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func cancelled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}
