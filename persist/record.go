package persist

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/contract"
)

// Options configure the persistence of one record. The zero value is
// ready to use.
type Options struct {
	// MaxAge, when positive, removes the record's rows older than it.
	MaxAge time.Duration
	// MaxRows, when positive, keeps only the record's newest MaxRows rows.
	// Retention runs when the writer starts and every
	// StoreOptions.RetentionInterval.
	MaxRows int
	// QueueSize bounds the values waiting to be written; when the queue
	// is full the oldest is dropped and counted. If zero, it is 4096.
	QueueSize int
	// Replay is how many stored values the record gets back when the DB
	// starts, at most its buffer's capacity (one for Latest and Mailbox).
	// If zero, it is 1: the newest. If negative, none.
	Replay int
	// ReplayToStages gives the restored values to the record's taps,
	// transforms and outbound links too, as if they were produced again.
	// By default they only fill the buffer.
	ReplayToStages bool
	// Schema and Version name the encoding stored with each row when the
	// codec does not (a contract codec has a Schema method). If Schema is
	// empty, it is the Go type's name and Version 0.
	Schema  string
	Version uint32
}

// Attach persists the values of rec through s, encoded with c: it calls
// rec.Persist with a persister that queues every value produced, lets
// the store's writer commit it, and restores the newest stored values
// when the DB starts (decoded with c, so a contract codec migrates rows
// stored by older versions). Call it before the DB runs.
func Attach[T any](rec *aimdb.Record[T], s *Store, c aimdb.Codec[T], opts *Options) {
	if c == nil {
		rec.Persist(nil) // reported by Run as a configuration mistake
		return
	}
	p := newPersister(rec.Key().Name(), s, c, opts)
	s.add(p)
	rec.Persist(p)
}

func newPersister[T any](key string, s *Store, c aimdb.Codec[T], opts *Options) *persister[T] {
	p := &persister[T]{s: s, key: key, codec: c}
	if opts != nil {
		p.opts = *opts
	}
	if p.opts.QueueSize <= 0 {
		p.opts.QueueSize = 4096
	}
	p.q = make([]entry[T], p.opts.QueueSize)
	p.schema, p.version = p.opts.Schema, p.opts.Version
	if sc, ok := c.(interface{ Schema() contract.Schema }); ok {
		p.schema, p.version = sc.Schema().Name, sc.Schema().Version
	}
	if p.schema == "" {
		p.schema = reflect.TypeFor[T]().String()
	}
	return p
}

type entry[T any] struct {
	v T
	t time.Time
}

type persister[T any] struct {
	s       *Store
	key     string
	codec   aimdb.Codec[T]
	opts    Options
	schema  string
	version uint32

	mu       sync.Mutex
	q        []entry[T] // ring
	head, n  int
	inflight int // taken by the writer, not yet committed

	committedN atomic.Uint64
	dropped    atomic.Uint64
	replayed   atomic.Uint64
	restored   atomic.Bool
	lastErr    atomic.Pointer[string]
}

// Keep implements aimdb.Persister: it never blocks.
func (p *persister[T]) Keep(v T) {
	if p.restored.Load() {
		p.restored.Store(false)
	}
	t := p.s.opts.Now()
	p.mu.Lock()
	if p.n == len(p.q) {
		p.q[p.head] = entry[T]{}
		p.head = (p.head + 1) % len(p.q)
		p.n--
		p.dropped.Add(1)
	}
	p.q[(p.head+p.n)%len(p.q)] = entry[T]{v, t}
	p.n++
	p.mu.Unlock()
	p.s.notify()
}

func (p *persister[T]) take(dst []Row, max int) []Row {
	p.mu.Lock()
	k := min(max, p.n)
	batch := make([]entry[T], k)
	for i := range k {
		batch[i] = p.q[p.head]
		p.q[p.head] = entry[T]{}
		p.head = (p.head + 1) % len(p.q)
	}
	p.n -= k
	p.inflight += k
	p.mu.Unlock()
	bad := 0
	for _, e := range batch {
		b, err := p.codec.Encode(e.v)
		if err != nil {
			p.fail(fmt.Errorf("encode: %w", err))
			bad++
			continue
		}
		dst = append(dst, Row{Key: p.key, Time: e.t, Schema: p.schema, Version: p.version, Data: b})
	}
	if bad > 0 {
		p.dropped.Add(uint64(bad))
		p.mu.Lock()
		p.inflight -= bad
		p.mu.Unlock()
	}
	return dst
}

func (p *persister[T]) committed(n int, err error) {
	if err != nil {
		p.dropped.Add(uint64(n))
	} else {
		p.committedN.Add(uint64(n))
	}
	p.mu.Lock()
	p.inflight -= n
	p.mu.Unlock()
}

func (p *persister[T]) dropAll() {
	p.mu.Lock()
	p.dropped.Add(uint64(p.n))
	clear(p.q)
	p.head, p.n = 0, 0
	p.mu.Unlock()
}

func (p *persister[T]) retain(now time.Time) (string, Trim, bool) {
	var t Trim
	if p.opts.MaxAge > 0 {
		t.Before = now.Add(-p.opts.MaxAge)
	}
	t.Keep = max(p.opts.MaxRows, 0)
	return p.key, t, p.opts.MaxAge > 0 || p.opts.MaxRows > 0
}

func (p *persister[T]) fail(err error) {
	s := err.Error()
	p.lastErr.Store(&s)
}

// Restore implements aimdb.Persister.
func (p *persister[T]) Restore(ctx context.Context, limit int) ([]T, bool, error) {
	n := p.opts.Replay
	if n == 0 {
		n = 1
	}
	n = min(n, limit)
	if n <= 0 || p.codec == nil {
		return nil, false, nil
	}
	rows, err := p.s.b.Query(ctx, Query{Pattern: p.key, Order: Descending, Limit: n})
	if err != nil {
		p.fail(err)
		return nil, false, fmt.Errorf("persist: record %q: %w", p.key, err)
	}
	slices.Reverse(rows)
	vals := make([]T, 0, len(rows))
	for _, r := range rows {
		if r.Key != p.key {
			continue // a key with wildcard segments matches more than itself
		}
		v, err := p.codec.Decode(r.Data)
		if err != nil {
			p.fail(fmt.Errorf("replay: row %d (%s v%d) does not decode: %w", r.Seq, r.Schema, r.Version, err))
			continue
		}
		vals = append(vals, v)
	}
	p.replayed.Store(uint64(len(vals)))
	p.restored.Store(len(vals) > 0)
	return vals, p.opts.ReplayToStages, nil
}

// Service implements aimdb.Persister.
func (p *persister[T]) Service() aimdb.Service { return p.s }

// PersistMetadata implements aimdb.Persister.
func (p *persister[T]) PersistMetadata() aimdb.PersistMetadata {
	p.mu.Lock()
	queued := p.n + p.inflight
	p.mu.Unlock()
	m := aimdb.PersistMetadata{
		Store:     p.s.b.Name(),
		Queued:    queued,
		Committed: p.committedN.Load(),
		Dropped:   p.dropped.Load(),
		Replayed:  p.replayed.Load(),
		Restored:  p.restored.Load(),
	}
	if e := p.lastErr.Load(); e != nil {
		m.LastError = *e
	}
	return m
}
