package aimdb

import (
	"log/slog"
	"sync/atomic"
)

// A Producer writes values into one record. Produce never blocks and does
// not allocate. A Producer is safe for concurrent use.
type Producer[T any] struct {
	rec  *Record[T]
	prof *stage       // the source stage it belongs to, if any
	last atomic.Int64 // nanotime of the last timed Produce, for profiling
}

// profile times the interval from a sampled Produce to the next one.
func (p *Producer[T]) profile() {
	timed := p.prof.count()
	if prev := p.last.Load(); prev != 0 || timed {
		now := nanotime()
		if prev != 0 && p.last.CompareAndSwap(prev, 0) {
			p.prof.observe(now - prev)
		}
		if timed {
			p.last.Store(now)
		}
	}
}

// Produce stores v in the record's buffer. It fails with ErrClosed once
// the DB has shut the record down.
func (p *Producer[T]) Produce(v T) error {
	if p.prof != nil {
		p.profile()
	}
	if p.rec.buf != nil && p.rec.buf.Push(v) {
		if p.rec.signal != nil || p.rec.keeper != nil {
			p.rec.stored(v)
		}
		return nil
	}
	return p.rec.produce(v) // the error path: invalid buffer or closed
}

// Key returns the record's key.
func (p *Producer[T]) Key() Key[T] { return p.rec.Key() }

// Clock returns the DB's clock. Sources pace themselves with it.
func (p *Producer[T]) Clock() Clock { return p.rec.db.opts.Clock }

// Logger returns the DB's logger, annotated with the record key.
func (p *Producer[T]) Logger() *slog.Logger { return p.rec.db.opts.Logger.With("record", p.rec.key) }
