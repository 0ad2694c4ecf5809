package buffertest

import (
	"errors"
	"testing"

	"github.com/aimdb-go/aimdb/internal/buffer"
)

// result is one TryRecv outcome, comparable between buffer and model.
type result struct {
	v      int
	missed uint64
	err    error
}

func tryRecv(r buffer.Reader[int]) result {
	v, n, err := r.TryRecv()
	return result{v, n, err}
}

func check(t *propT, op string, got, want result) {
	if got.err != nil {
		got.v = 0
	}
	if got.v != want.v || got.missed != want.missed || !errors.Is(got.err, want.err) || (got.err == nil) != (want.err == nil) {
		t.Fatalf("%s: TryRecv() = %+v; model says %+v", op, got, want)
	}
}

// checkPosition compares the buffer's Version and the reader's Position
// with the model's.
func checkPosition(t *propT, b buffer.Buffer[int], r buffer.Reader[int], version, position uint64) {
	if got := b.Version(); got != version {
		t.Fatalf("Version() = %d; model says %d", got, version)
	}
	if got := r.Position(); got != position {
		t.Fatalf("Position() = %d; model says %d", got, position)
	}
}

func checkStats(t *propT, b buffer.Buffer[int], want buffer.Stats) {
	if got := b.Stats(); got != want {
		t.Fatalf("Stats() = %+v; model says %+v", got, want)
	}
}

// ringModel checks a ring against the reference algorithm: a log of every
// push, a write sequence and one cursor per reader.
func ringModel(t *testing.T, mk func(int) buffer.Buffer[int]) {
	propCheck(t, func(t *propT) {
		capacity := drawIntRange(t, 1, 8, "capacity")
		b := mk(capacity)
		var (
			log     []int
			readers []buffer.Reader[int]
			cursors []uint64
			stats   = buffer.Stats{Capacity: capacity}
		)
		repeat(t, map[string]func(*propT){
			"push": func(t *propT) {
				v := drawInt(t, "v")
				b.Push(v)
				log = append(log, v)
				stats.Produced++
				stats.Items = min(len(log), capacity)
				checkStats(t, b, stats)
			},
			"subscribe": func(t *propT) {
				readers = append(readers, b.Subscribe())
				cursors = append(cursors, uint64(len(log)))
			},
			"recv": func(t *propT) {
				if len(readers) == 0 {
					t.Skip("no reader")
					return // rapid's Skip does not return; the TinyGo stand-in's does
				}
				i := drawIntRange(t, 0, len(readers)-1, "reader")
				head := uint64(len(log))
				oldest := head - min(head, uint64(capacity))
				var want result
				switch {
				case cursors[i] >= head:
					want = result{err: buffer.ErrEmpty}
				case cursors[i] < oldest:
					want = result{missed: oldest - cursors[i], err: buffer.ErrLagged}
					stats.Dropped += oldest - cursors[i]
					cursors[i] = oldest
				default:
					want = result{v: log[cursors[i]]}
					cursors[i]++
					stats.Consumed++
				}
				check(t, "recv", tryRecv(readers[i]), want)
				checkStats(t, b, stats)
				checkPosition(t, b, readers[i], head, cursors[i])
			},
		})
	})
}

// latestModel checks SingleLatest against a value, a version and one
// last-seen version per reader.
func latestModel(t *testing.T, mk func() buffer.Buffer[int]) {
	propCheck(t, func(t *propT) {
		b := mk()
		var (
			value   int
			version uint64
			readers []buffer.Reader[int]
			seen    []uint64
			stats   = buffer.Stats{Capacity: 1}
		)
		repeat(t, map[string]func(*propT){
			"push": func(t *propT) {
				value = drawInt(t, "v")
				b.Push(value)
				version++
				stats.Produced++
				stats.Items = 1
				checkStats(t, b, stats)
			},
			"subscribe": func(t *propT) {
				readers = append(readers, b.Subscribe())
				seen = append(seen, 0)
			},
			"recv": func(t *propT) {
				if len(readers) == 0 {
					t.Skip("no reader")
					return // rapid's Skip does not return; the TinyGo stand-in's does
				}
				i := drawIntRange(t, 0, len(readers)-1, "reader")
				want := result{err: buffer.ErrEmpty}
				if seen[i] != version {
					want = result{v: value}
					seen[i] = version
					stats.Consumed++
				}
				check(t, "recv", tryRecv(readers[i]), want)
				checkStats(t, b, stats)
				checkPosition(t, b, readers[i], version, seen[i])
			},
			"peek": func(t *propT) {
				v, ok := b.Peek()
				if ok != (version > 0) || (ok && v != value) {
					t.Fatalf("Peek() = %d, %v; model says %d, %v", v, ok, value, version > 0)
				}
			},
		})
	})
}

// mailboxModel checks a mailbox against one shared optional slot.
func mailboxModel(t *testing.T, mk func() buffer.Buffer[int]) {
	propCheck(t, func(t *propT) {
		b := mk()
		var (
			slot    int
			full    bool
			version uint64
			readers []buffer.Reader[int]
			stats   = buffer.Stats{Capacity: 1}
		)
		repeat(t, map[string]func(*propT){
			"push": func(t *propT) {
				slot = drawInt(t, "v")
				full = true
				b.Push(slot)
				version++
				stats.Produced++
				stats.Items = 1
				checkStats(t, b, stats)
			},
			"subscribe": func(t *propT) {
				readers = append(readers, b.Subscribe())
			},
			"recv": func(t *propT) {
				if len(readers) == 0 {
					t.Skip("no reader")
					return // rapid's Skip does not return; the TinyGo stand-in's does
				}
				i := drawIntRange(t, 0, len(readers)-1, "reader")
				want := result{err: buffer.ErrEmpty}
				if full {
					want = result{v: slot}
					full = false
					stats.Consumed++
					stats.Items = 0
				}
				check(t, "recv", tryRecv(readers[i]), want)
				checkStats(t, b, stats)
				// Every push is accounted for by every reader but the one
				// value in the slot, which any reader may still take.
				position := version
				if full {
					position--
				}
				checkPosition(t, b, readers[i], version, position)
			},
			"peek": func(t *propT) {
				v, ok := b.Peek()
				if ok != full || (ok && v != slot) {
					t.Fatalf("Peek() = %d, %v; model says %d, %v", v, ok, slot, full)
				}
			},
		})
	})
}
