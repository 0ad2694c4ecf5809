package aimdb

import (
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
)

// A DB is an in-process database of typed records. Configure it with
// Register and the Record methods, then call Run.
//
// Register, Produce, Subscribe and the introspection methods are safe for
// concurrent use. Record configuration methods (Source, Tap, Transform,
// Join2, Join3) must be called before Run.
type DB struct {
	opts Options

	mu       sync.Mutex
	state    dbState
	records  []recordCore // registration order; index = record id
	mistakes []*ConfigError

	// byKey is a copy-on-write snapshot of the registry, so that Produce
	// and Subscribe look records up without taking mu.
	byKey atomic.Pointer[map[string]recordCore]

	started chan struct{} // closed once Run has started every stage
}

type dbState int

const (
	configuring dbState = iota
	running
	stopped
)

// New returns an empty DB configured by opts. A nil opts is the same as
// &Options{}.
func New(opts *Options) *DB {
	db := &DB{opts: opts.withDefaults(), started: make(chan struct{})}
	db.byKey.Store(&map[string]recordCore{})
	return db
}

// Started returns a channel that is closed once Run has taken every
// stage's subscription and started every stage. Values produced after
// that reach every tap and transform, whatever the buffer kind.
func (db *DB) Started() <-chan struct{} { return db.started }

// Logger returns the DB's logger.
func (db *DB) Logger() *slog.Logger { return db.opts.Logger }

// Clock returns the DB's clock.
func (db *DB) Clock() Clock { return db.opts.Clock }

// Register defines the record named by key, holding values of type T in
// a buffer built from buf, and returns its typed handle.
//
// Registering a key again with the same type and buffer returns the same
// handle. Register reports a mistake (an invalid key or buffer, a key
// already registered with another type or buffer, or a DB that already
// started) as an error, and also records it so that Validate and Run
// report every mistake at once. Even then it returns a non-nil handle,
// so configuration can continue and the remaining mistakes be found.
func Register[T any](db *DB, key Key[T], buf Buffer) (*Record[T], error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	typ := reflect.TypeFor[T]()
	if db.state != configuring {
		return newRecord[T](db, key.name, typ, buf), fmt.Errorf("register %q: %w", key.name, ErrStarted)
	}
	fail := func(r *Record[T], msg string) (*Record[T], error) {
		ce := &ConfigError{Key: key.name, Message: msg}
		db.mistakes = append(db.mistakes, ce)
		return r, ce
	}
	if err := ValidateKey(key.name); err != nil {
		return fail(newRecord[T](db, key.name, typ, buf), err.Error())
	}
	if old, ok := (*db.byKey.Load())[key.name]; ok {
		ob := old.base()
		if ob.typ != typ {
			return fail(newRecord[T](db, key.name, typ, buf),
				fmt.Sprintf("key already registered with a different type: registered as %s, now %s", ob.typ, typ))
		}
		r := old.(*Record[T])
		if ob.cfg != buf {
			return fail(r, fmt.Sprintf("registered twice with different buffers: %s and %s", ob.cfg, buf))
		}
		return r, nil
	}
	r := newRecord[T](db, key.name, typ, buf)
	r.id = len(db.records)
	db.records = append(db.records, r)
	m := make(map[string]recordCore, len(db.records))
	for _, c := range db.records {
		m[c.base().key] = c
	}
	db.byKey.Store(&m)
	if p := buf.problem(); p != "" {
		return fail(r, p)
	}
	return r, nil
}

// Lookup returns the handle of the record registered under key.
// It fails with ErrUnknownKey or ErrTypeMismatch.
func Lookup[T any](db *DB, key Key[T]) (*Record[T], error) {
	c, ok := (*db.byKey.Load())[key.name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, key.name)
	}
	r, ok := c.(*Record[T])
	if !ok {
		return nil, fmt.Errorf("%w: record %q holds %s, not %s", ErrTypeMismatch, key.name, c.base().typ, reflect.TypeFor[T]())
	}
	return r, nil
}

// Produce stores v in the record named by key. It never blocks: the
// record's buffer overwrites as its kind prescribes. It fails with
// ErrUnknownKey, ErrTypeMismatch, or ErrClosed after shutdown.
// Produce does not allocate.
func Produce[T any](db *DB, key Key[T], v T) error {
	r, err := Lookup(db, key)
	if err != nil {
		return err
	}
	return r.produce(v)
}

// Subscribe returns a new subscription to the record named by key. What
// it receives first depends on the buffer kind (see Buffer). The caller
// must Close it when done.
func Subscribe[T any](db *DB, key Key[T]) (*Subscription[T], error) {
	r, err := Lookup(db, key)
	if err != nil {
		return nil, err
	}
	return r.Subscribe()
}

// RecordsOf returns the handles of every record holding values of type T,
// in registration order.
func RecordsOf[T any](db *DB) []*Record[T] {
	db.mu.Lock()
	defer db.mu.Unlock()
	var rs []*Record[T]
	for _, c := range db.records {
		if r, ok := c.(*Record[T]); ok {
			rs = append(rs, r)
		}
	}
	return rs
}

// Keys returns every registered key, in registration order.
func (db *DB) Keys() []string {
	db.mu.Lock()
	defer db.mu.Unlock()
	keys := make([]string, len(db.records))
	for i, c := range db.records {
		keys[i] = c.base().key
	}
	return keys
}

// snapshot returns the registered records.
func (db *DB) snapshot() []recordCore {
	db.mu.Lock()
	defer db.mu.Unlock()
	return append([]recordCore(nil), db.records...)
}

// mustConfigure panics if the DB has started: configuring a record after
// Run is API misuse.
func (db *DB) mustConfigure(what, key string) {
	if db.state != configuring {
		panic(fmt.Sprintf("aimdb: %s on record %q after Run started", what, key))
	}
}

// checkFunc records a configuration mistake if a stage function is nil.
// Called with db.mu held.
func (db *DB) checkFunc(isNil bool, key, verb string) {
	if isNil {
		db.mistakes = append(db.mistakes, &ConfigError{Key: key, Message: verb + " given a nil function"})
	}
}
