package aimdb

import "context"

// A Persister keeps a record's values beyond its buffer: package persist
// writes them to a history store and restores the newest on start. The
// core only calls it; everything that touches storage lives outside.
type Persister[T any] interface {
	// Keep is called with every value Produce stored in the record, on
	// the producer's goroutine, after the buffer took it. It must not
	// block; it should queue v and return.
	Keep(v T)
	// Restore is called by Run before any stage starts. It returns the
	// values to put back in the buffer, oldest first, at most max of them
	// (1 for a Latest or Mailbox record, the capacity of a Ring), and
	// whether taps, transforms and outbound links receive them as if
	// they were produced. Without it they do not: a Latest or Mailbox
	// record holds the value for Peek, remote reads and new
	// subscriptions, and a Ring holds them for its newest-value reads.
	// Restored values are not given to Keep. An error is logged and the
	// record starts empty.
	Restore(ctx context.Context, max int) (vals []T, toStages bool, err error)
	// Service returns what Run runs beside the stages for this persister
	// (its writer, typically shared by every record of one store). Run
	// runs each distinct Service once.
	Service() Service
	// PersistMetadata describes the persister's state for
	// RecordMetadata.Persist.
	PersistMetadata() PersistMetadata
}

// A Service is work a DB runs beside its stages, such as a persistence
// writer.
type Service interface {
	// Run is called by DB.Run in its own goroutine before any stage
	// starts. It must return once stop is closed, which happens after
	// every record was closed at shutdown (no value is produced any
	// more), or when ctx ends, which happens when the shutdown timeout
	// expires. An error is logged.
	Run(ctx context.Context, stop <-chan struct{}) error
}

// PersistMetadata is the state of a record's persistence, in
// RecordMetadata.Persist.
type PersistMetadata struct {
	Store     string `json:"store"`                // the backend, e.g. "sqlite"
	Queued    int    `json:"queued"`               // values waiting to be written
	Committed uint64 `json:"committed"`            // values the store confirmed
	Dropped   uint64 `json:"dropped"`              // values lost: queue full, store error, shutdown
	Replayed  uint64 `json:"replayed"`             // values restored at start
	Restored  bool   `json:"restored,omitempty"`   // the record holds a restored value; no value was produced since
	LastError string `json:"last_error,omitempty"` // the store's last error
}

// noPersistence is the mistake Persist reports on a bare-metal target.
const noPersistence = ".Persist(): persistence is not available on bare-metal targets"

// Persist attaches p to the record (see Persister). A record has at most
// one persister. Run reports a second one as a configuration mistake.
func (r *Record[T]) Persist(p Persister[T]) {
	r.db.mu.Lock()
	defer r.db.mu.Unlock()
	if !r.db.configurable(".Persist()", r.key) {
		return
	}
	switch {
	case !persistence:
		r.db.mistakes = append(r.db.mistakes, &ConfigError{Key: r.key, Message: noPersistence})
		return
	case p == nil:
		r.db.mistakes = append(r.db.mistakes, &ConfigError{Key: r.key, Message: ".Persist() given a nil persister"})
		return
	case r.keeper != nil:
		r.db.mistakes = append(r.db.mistakes, &ConfigError{Key: r.key, Message: ".Persist() called twice"})
		return
	}
	r.keeper = p
	r.persistMD = p.PersistMetadata
	r.service = p.Service()
}

// restore puts the persister's values back in the buffer. Values for the
// stages go in after their subscriptions were taken (late is true), the
// others before.
func (r *Record[T]) restore(ctx context.Context, late bool) {
	if !persistence || r.keeper == nil || r.buf == nil {
		return
	}
	if !late {
		n := 1
		if r.cfg.kind == "spmc_ring" {
			n = r.cfg.capacity
		}
		vals, toStages, err := r.keeper.Restore(ctx, n)
		if err != nil {
			r.logger().Error("aimdb: restoring the persisted values failed", "err", err)
			return
		}
		if len(vals) > n {
			vals = vals[len(vals)-n:]
		}
		if toStages {
			r.lateRestore = vals
			return
		}
		r.skipRestored = len(vals) > 0
		for _, v := range vals {
			switch b := r.buf.(type) {
			case interface{ Restore(T) bool }:
				b.Restore(v)
			default:
				r.buf.Push(v)
			}
		}
		return
	}
	for _, v := range r.lateRestore {
		r.buf.Push(v)
	}
	r.lateRestore = nil
}

// persistOf returns the record's persistence metadata, or nil.
func (b *recordBase) persistOf() *PersistMetadata {
	if b.persistMD == nil {
		return nil
	}
	m := b.persistMD()
	return &m
}

// A FamilyPersister persists the instances of a family (package persist
// implements it).
type FamilyPersister[T any] interface {
	// Instance returns the persister of the instance keyed key, or nil
	// to leave it unpersisted. The family calls it when it creates the
	// instance.
	Instance(key string) Persister[T]
	// Keys returns the keys of the instances that have stored values.
	// Run creates those instances (within MaxInstances) before any stage
	// starts and restores each, so they answer reads right away. An
	// error is logged and no instance is created.
	Keys(ctx context.Context) ([]string, error)
	// Service is Persister.Service.
	Service() Service
}

// Persist attaches p to the family: every instance gets the persister
// p.Instance returns, and Run recreates the instances p.Keys names. A
// family has at most one persister.
func (f *Family[T]) Persist(p FamilyPersister[T]) {
	f.db.mu.Lock()
	defer f.db.mu.Unlock()
	if !f.db.configurable(".Persist()", f.key) {
		return
	}
	switch {
	case !persistence:
		f.db.mistakes = append(f.db.mistakes, &ConfigError{Key: f.key, Message: noPersistence})
		return
	case p == nil:
		f.db.mistakes = append(f.db.mistakes, &ConfigError{Key: f.key, Message: ".Persist() given a nil persister"})
		return
	case f.keeper != nil:
		f.db.mistakes = append(f.db.mistakes, &ConfigError{Key: f.key, Message: ".Persist() called twice"})
		return
	}
	f.keeper = p
	f.service = p.Service()
}

// restore creates the instances with stored values and restores them.
func (f *Family[T]) restore(ctx context.Context, late bool) {
	if !persistence || f.keeper == nil || f.fs.tmpl == nil {
		return
	}
	if late {
		for _, r := range f.restored {
			r.restore(ctx, true)
		}
		f.restored = nil
		return
	}
	keys, err := f.keeper.Keys(ctx)
	if err != nil {
		f.logger().Error("aimdb: listing the persisted instances failed", "err", err)
		return
	}
	for _, key := range keys {
		vals, ok := f.fs.tmpl.match(key)
		if !ok {
			continue
		}
		r, err := f.instance(key, vals)
		if err != nil {
			f.logger().Warn("aimdb: persisted instance not restored", "instance", key, "err", err)
			continue
		}
		r.restore(ctx, false)
		f.restored = append(f.restored, r)
	}
}
