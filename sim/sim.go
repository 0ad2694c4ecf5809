// Package sim makes record sources of simulated values, for development,
// demos and tests, from types that simulate themselves
// (contract.Simulatable): the contract that says what a value is also
// says what a plausible one looks like, and every station, demo and test
// draws from the same model.
//
//	temp.Source(sim.Source[contracts.Temperature](seed, time.Second), aimdb.Named("simulate"))
//
// The package is apart from the core so that a production build that
// does not simulate does not carry it.
package sim

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/contract"
)

// Source returns a source that produces a simulated value every
// interval, starting at once, on the DB's clock: each value is
// Simulate called on the one before (the zero value first) with the
// clock's time, from a random stream seeded with seed, so a VirtualClock
// and a seed make the values reproducible. The source ends when its
// context does; a non-positive interval is treated as 1 ms.
func Source[T contract.Simulatable[T]](seed uint64, interval time.Duration) aimdb.SourceFunc[T] {
	if interval <= 0 {
		interval = time.Millisecond
	}
	return func(ctx context.Context, p *aimdb.Producer[T]) error {
		rng := rand.New(rand.NewPCG(seed, 0x5eed))
		clock := p.Clock()
		var v T
		for {
			v = v.Simulate(rng, clock.Now())
			if err := p.Produce(v); err != nil {
				return err
			}
			if err := clock.Sleep(ctx, interval); err != nil {
				return nil // shutting down
			}
		}
	}
}

// Series returns n values simulated from the zero value, one every step
// from start, with the random stream of Source: the values a Source with
// the same seed produces at those times.
func Series[T contract.Simulatable[T]](seed uint64, start time.Time, step time.Duration, n int) []T {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	out := make([]T, 0, max(n, 0))
	var v T
	for i := range n {
		v = v.Simulate(rng, start.Add(time.Duration(i)*step))
		out = append(out, v)
	}
	return out
}
