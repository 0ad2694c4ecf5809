// Package harness drives every implementation through the same small
// adapter in the same modes, so that the only difference between two
// benchmark rows is the implementation.
//
// Modes:
//   - lockstep: push, then receive on every reader, in one goroutine.
//   - stream: one goroutine per reader; the producer stays at most
//     Window messages ahead of the slowest reader.
//   - pingpong: one message in flight, readers parked; reports one-way
//     wake latency percentiles.
//   - produce: push with readers that never read.
package harness

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Capacity is the queue capacity every implementation gets.
const Capacity = 1024

// Window is how far the producer may run ahead of the slowest reader in
// stream mode: half the capacity, so no bounded queue ever overflows.
const Window = 512

// Telemetry is AimDB's SPMC benchmark payload (24 bytes).
type Telemetry struct {
	SensorID uint32
	Value    float64
	Sequence uint64
}

// State is AimDB's SingleLatest benchmark payload (40 bytes).
type State struct {
	ID       uint32
	X, Y, Z  float64
	Sequence uint64
}

// Command is AimDB's Mailbox benchmark payload (24 bytes).
type Command struct {
	ID, Op   uint32
	Arg      float64
	Sequence uint64
}

// Payload is what the modes need from a payload type: to build one from
// an index and to read the index back (pingpong stores a timestamp in it).
type Payload interface {
	Telemetry | State | Command
}

// Make builds payload i.
func Make[T Payload](i uint64) T {
	var v T
	switch p := any(&v).(type) {
	case *Telemetry:
		*p = Telemetry{SensorID: uint32(i % 16), Value: float64(i) * 0.5, Sequence: i}
	case *State:
		*p = State{ID: uint32(i % 16), X: float64(i), Y: -float64(i), Z: 0.5, Sequence: i}
	case *Command:
		*p = Command{ID: uint32(i % 16), Op: 1, Arg: float64(i), Sequence: i}
	}
	return v
}

// Seq returns the sequence field of v.
func Seq[T Payload](v T) uint64 {
	switch p := any(v).(type) {
	case Telemetry:
		return p.Sequence
	case State:
		return p.Sequence
	case Command:
		return p.Sequence
	}
	return 0
}

// A Queue is one implementation under test.
type Queue[T any] interface {
	// Push stores v; it may drop or overwrite, never block for long.
	Push(v T)
	// Subscribe returns a new reader. All readers are created before the
	// first Push.
	Subscribe() Reader[T]
	// Close ends the queue: readers get what remains, then ok == false.
	Close()
}

// A Reader receives from a Queue.
type Reader[T any] interface {
	// Recv blocks for the next value. lag > 0 reports missed values (v is
	// then not valid); ok is false once the queue is closed and drained.
	Recv() (v T, lag uint64, ok bool)
}

// Factory builds a fresh queue.
type Factory[T any] func() Queue[T]

func subscribe[T any](q Queue[T], n int) []Reader[T] {
	rs := make([]Reader[T], n)
	for i := range rs {
		rs[i] = q.Subscribe()
	}
	return rs
}

// Lockstep pushes a value and receives it on every reader (on the first
// only when shared is set: a mailbox delivers each value once).
func Lockstep[T Payload](b *testing.B, mk Factory[T], subs int, shared bool) {
	q := mk()
	defer q.Close()
	rs := subscribe(q, subs)
	if shared {
		rs = rs[:1]
	}
	var i uint64
	step := func() {
		i++
		q.Push(Make[T](i))
		for _, r := range rs {
			if _, lag, ok := r.Recv(); !ok || lag != 0 {
				b.Fatalf("lockstep: Recv lag %d ok %v", lag, ok)
			}
		}
	}
	for range 200 {
		step()
	}
	for b.Loop() {
		step()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/msg")
}

// progress is a reader's count of handled messages, padded to its own
// cache line.
type progress struct {
	n atomic.Uint64
	_ [56]byte
}

// Stream runs one goroutine per reader and a producer that stays within
// Window messages of the slowest reader.
func Stream[T Payload](b *testing.B, mk Factory[T], subs int) {
	q := mk()
	rs := subscribe(q, subs)
	prog := make([]progress, subs)
	var lost atomic.Uint64
	var wg sync.WaitGroup
	for j, r := range rs {
		wg.Go(func() {
			var n uint64
			for {
				_, lag, ok := r.Recv()
				if !ok {
					prog[j].n.Store(n)
					return
				}
				if lag > 0 {
					lost.Add(lag)
					n += lag
				} else {
					n++
				}
				if n%32 == 0 {
					prog[j].n.Store(n)
				}
			}
		})
	}
	slowest := func() uint64 {
		m := prog[0].n.Load()
		for j := 1; j < len(prog); j++ {
			m = min(m, prog[j].n.Load())
		}
		return m
	}
	b.ResetTimer()
	var i uint64
	for ; i < uint64(b.N); i++ {
		for i >= slowest()+Window {
			runtime.Gosched()
		}
		q.Push(Make[T](i))
	}
	for slowest()+32 < i {
		runtime.Gosched()
	}
	b.StopTimer()
	q.Close()
	wg.Wait()
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/secs, "msgs/s")
	b.ReportMetric(float64(b.N)*float64(subs)/secs, "deliveries/s")
	if l := lost.Load(); l > 0 {
		b.ReportMetric(float64(l)/float64(b.N*subs), "lost-frac")
	}
}

// Pingpong keeps one message in flight: push a timestamped value, wait for
// every reader to acknowledge it. Reports one-way latency percentiles.
func Pingpong[T Payload](b *testing.B, mk Factory[T], subs int, shared bool) {
	q := mk()
	rs := subscribe(q, subs)
	if shared {
		rs = rs[:1]
	}
	t0 := time.Now()
	acks := make(chan struct{}, len(rs))
	lat := make([][]int64, len(rs))
	var wg sync.WaitGroup
	for j, r := range rs {
		wg.Go(func() {
			for {
				v, _, ok := r.Recv()
				if !ok {
					return
				}
				if len(lat[j]) < 1<<20 {
					lat[j] = append(lat[j], int64(time.Since(t0))-int64(Seq(v)))
				}
				acks <- struct{}{}
			}
		})
	}
	round := func() {
		q.Push(Make[T](uint64(time.Since(t0))))
		for range rs {
			<-acks
		}
	}
	for range 200 {
		round()
	}
	b.ResetTimer()
	for range b.N {
		round()
	}
	b.StopTimer()
	q.Close()
	wg.Wait()
	var all []int64
	for _, l := range lat {
		all = append(all, l[min(200, len(l)):]...)
	}
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)/2]), "p50-ns")
		b.ReportMetric(float64(all[len(all)*99/100]), "p99-ns")
	}
}

// Produce pushes with readers that never read: the cost of a producer
// next to stalled subscribers.
func Produce[T Payload](b *testing.B, mk Factory[T], subs int) {
	q := mk()
	defer q.Close()
	subscribe(q, subs)
	var i uint64
	for b.Loop() {
		i++
		q.Push(Make[T](i))
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/msg")
}
