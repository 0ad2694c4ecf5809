package persist

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aimdb-go/aimdb"
)

// StoreOptions configure a Store. The zero value is ready to use.
type StoreOptions struct {
	// BatchSize caps the rows of one Append. If zero, it is 1024.
	BatchSize int
	// RetentionInterval is the time between two retention passes (see
	// Options.MaxAge and Options.MaxRows); one pass runs when the writer
	// starts. If zero, it is one minute.
	RetentionInterval time.Duration
	// RetryBackoff is the delay before a failed Append is tried again;
	// it doubles up to 5 s. If zero, it is 100 ms.
	RetryBackoff time.Duration
	// Now stamps values with the time they were produced. If nil, it is
	// time.Now.
	Now func() time.Time
	// Logger receives the store's errors. If nil, they are discarded.
	Logger *slog.Logger
}

// A Store writes the values of persisted records to a backend: one
// writer for every record attached with Record, committing their queues
// together (group commit). A DB runs the writer while it runs (it is the
// records' aimdb.Service); at shutdown the writer commits what is queued
// before Run returns, within the DB's ShutdownTimeout. A Store serves
// one running DB at a time. The caller closes the backend after the DB
// stopped.
type Store struct {
	b    Backend
	opts StoreOptions

	mu      sync.Mutex
	queues  []queue
	running bool
	wake    chan struct{}
}

// NewStore returns a store writing to b. A nil opts is the same as
// &StoreOptions{}.
func NewStore(b Backend, opts *StoreOptions) *Store {
	s := &Store{b: b, wake: make(chan struct{}, 1)}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.BatchSize <= 0 {
		s.opts.BatchSize = 1024
	}
	if s.opts.RetentionInterval <= 0 {
		s.opts.RetentionInterval = time.Minute
	}
	if s.opts.RetryBackoff <= 0 {
		s.opts.RetryBackoff = 100 * time.Millisecond
	}
	if s.opts.Now == nil {
		s.opts.Now = time.Now
	}
	if s.opts.Logger == nil {
		s.opts.Logger = slog.New(slog.DiscardHandler)
	}
	return s
}

// Backend returns the store's backend, for queries.
func (s *Store) Backend() Backend { return s.b }

// A queue is one record's pending values, type-erased for the writer.
type queue interface {
	// take encodes up to max pending values into rows appended to dst.
	take(dst []Row, max int) []Row
	// committed counts n values of the last take as stored, or lost.
	committed(n int, err error)
	// dropAll drops every pending value (shutdown timeout).
	dropAll()
	// retain returns the record's key and trim, if it has one.
	retain(now time.Time) (string, Trim, bool)
	fail(err error)
}

func (s *Store) add(q queue) {
	s.mu.Lock()
	s.queues = append(s.queues, q)
	s.mu.Unlock()
}

func (s *Store) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

var errBusy = fmt.Errorf("%w store: already running for another DB", ErrInvalid)

// Run implements aimdb.Service: it is the writer.
func (s *Store) Run(ctx context.Context, stop <-chan struct{}) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return errBusy
	}
	s.running = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
	}()

	s.retain(ctx)
	tick := time.NewTicker(s.opts.RetentionInterval)
	defer tick.Stop()
	stopping := false
	for {
		if s.flush(ctx) {
			continue // more may be pending: take it before sleeping
		}
		if ctx.Err() != nil {
			s.dropAll()
			return nil
		}
		if stopping {
			return nil
		}
		select {
		case <-s.wake:
		case <-stop:
			stopping = true
		case <-ctx.Done():
		case <-tick.C:
			s.retain(ctx)
		}
	}
}

// flush commits one batch taken from every queue; it reports whether it
// took anything.
func (s *Store) flush(ctx context.Context) bool {
	s.mu.Lock()
	qs := s.queues
	s.mu.Unlock()
	var rows []Row
	type part struct {
		q queue
		n int
	}
	var parts []part
	per := max(s.opts.BatchSize/max(len(qs), 1), 1)
	took := map[queue]int{}
	for pass := range 2 {
		for _, q := range qs {
			room := s.opts.BatchSize - len(rows)
			if pass == 0 {
				room = min(room, per)
			}
			if room <= 0 {
				break
			}
			n := len(rows)
			rows = q.take(rows, room)
			if len(rows) > n {
				if _, ok := took[q]; !ok {
					parts = append(parts, part{q, 0})
				}
				took[q] += len(rows) - n
			}
		}
	}
	for i := range parts {
		parts[i].n = took[parts[i].q]
	}
	if len(rows) == 0 {
		return false
	}
	backoff := s.opts.RetryBackoff
	var err error
	for {
		if err = s.b.Append(ctx, rows); err == nil {
			break
		}
		s.opts.Logger.Error("persist: append failed", "backend", s.b.Name(), "rows", len(rows), "err", err)
		for _, p := range parts {
			p.q.fail(err)
		}
		if ctx.Err() != nil {
			break
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	for _, p := range parts {
		p.q.committed(p.n, err)
	}
	return true
}

func (s *Store) dropAll() {
	s.mu.Lock()
	qs := s.queues
	s.mu.Unlock()
	for _, q := range qs {
		q.dropAll()
	}
}

func (s *Store) retain(ctx context.Context) {
	s.mu.Lock()
	qs := s.queues
	s.mu.Unlock()
	now := s.opts.Now()
	for _, q := range qs {
		key, t, ok := q.retain(now)
		if !ok {
			continue
		}
		if _, err := s.b.Trim(ctx, key, t); err != nil {
			s.opts.Logger.Error("persist: retention failed", "record", key, "err", err)
			q.fail(err)
		}
	}
}

var _ aimdb.Service = (*Store)(nil)
