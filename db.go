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
// concurrent use. Record and family configuration methods (Source, Tap,
// LinkTo, LinkFrom, RemoteAccess, Transform, Join2, Join3 and their
// family forms) must be called before Run: after it they change nothing
// and log an error wrapping ErrStarted, and Register and RegisterFamily
// return it.
type DB struct {
	opts Options

	mu       sync.Mutex
	state    dbState
	records  []recordCore // registration order; index = record id; nil once evicted
	live     int          // records not evicted
	index    map[string]recordCore
	mistakes []*ConfigError

	families  []familyCore // registration order
	famByTmpl map[string]familyCore
	famList   atomic.Pointer[[]familyCore] // copy of families for lookups without mu

	// byKey is a snapshot of the records registered before Run, published
	// when Run starts; dyn holds every record, instances included. Produce
	// and Subscribe look records up in them without taking mu.
	byKey atomic.Pointer[map[string]recordCore]
	dyn   sync.Map // string → recordCore

	started chan struct{} // closed once Run has started every stage
	done    chan struct{} // closed once Run returned
	runErr  error         // what Run returned; set before done is closed
	run     atomic.Pointer[runState]

	watchers recordWatchers
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
	db := &DB{opts: opts.withDefaults(), started: make(chan struct{}), done: make(chan struct{}),
		index: map[string]recordCore{}, famByTmpl: map[string]familyCore{}}
	db.byKey.Store(&map[string]recordCore{})
	db.famList.Store(&[]familyCore{})
	return db
}

// Started returns a channel that is closed once Run has taken every
// stage's subscription and started every stage. Values produced after
// that reach every tap and transform, whatever the buffer kind.
// If Run fails before starting (an invalid configuration), Started is
// never closed; wait on Done too.
func (db *DB) Started() <-chan struct{} { return db.started }

// Done returns a channel that is closed once Run has returned, whether
// the run ended or never started (an invalid configuration).
func (db *DB) Done() <-chan struct{} { return db.done }

// Err returns what Run returned, once Done is closed; nil before.
func (db *DB) Err() error {
	select {
	case <-db.done:
		return db.runErr
	default:
		return nil
	}
}

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
	typ := reflect.TypeFor[T]()
	r, err := db.register(key.name, typ, buf, func() recordCore { return newRecord[T](db, key.name, typ, buf) })
	return r.(*Record[T]), err
}

// register is Register without its type parameter (one copy of this code
// instead of one per record type: flash counts on a microcontroller).
// newRec makes a new handle; the one returned has the type typ.
func (db *DB) register(key string, typ reflect.Type, buf Buffer, newRec func() recordCore) (recordCore, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.state != configuring {
		return newRec(), fmt.Errorf("register %q: %w", key, ErrStarted)
	}
	fail := func(r recordCore, msg string, sentinel ...error) (recordCore, error) {
		ce := &ConfigError{Key: key, Message: msg}
		if len(sentinel) > 0 {
			ce.Err = sentinel[0]
		}
		db.mistakes = append(db.mistakes, ce)
		return r, ce
	}
	if err := ValidateKey(key); err != nil {
		return fail(newRec(), err.Error())
	}
	if old, ok := db.index[key]; ok {
		ob := old.base()
		if ob.typ != typ {
			return fail(newRec(),
				fmt.Sprintf("key already registered with a different type: registered as %s, now %s", ob.typ, typ), ErrTypeMismatch)
		}
		if ob.cfg != buf {
			return fail(old, fmt.Sprintf("registered twice with different buffers: %s and %s", ob.cfg, buf))
		}
		return old, nil
	}
	r := newRec()
	db.addLocked(r)
	if p := buf.problem(); p != "" {
		return fail(r, p)
	}
	return r, nil
}

// addLocked adds r to the registry. Called with db.mu held.
func (db *DB) addLocked(r recordCore) {
	b := r.base()
	b.id = len(db.records)
	db.records = append(db.records, r)
	db.live++
	db.index[b.key] = r
	db.dyn.Store(b.key, r)
}

// addInstance registers a family instance created at run time.
func (db *DB) addInstance(r recordCore) {
	db.mu.Lock()
	db.addLocked(r)
	db.mu.Unlock()
}

// removeInstance unregisters an evicted instance.
func (db *DB) removeInstance(r recordCore) {
	b := r.base()
	b.evicted.Store(true)
	db.mu.Lock()
	if db.index[b.key] == r {
		delete(db.index, b.key)
		db.dyn.Delete(b.key)
	}
	if b.id >= 0 && b.id < len(db.records) && db.records[b.id] == r {
		db.records[b.id] = nil
		db.live--
	}
	db.mu.Unlock()
}

// Lookup returns the handle of the record registered under key, or of
// the family instance keyed so, if it exists. It fails with ErrUnknownKey
// or ErrTypeMismatch.
func Lookup[T any](db *DB, key Key[T]) (*Record[T], error) {
	c := db.lookupCore(key.name)
	if c == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, key.name)
	}
	return typed[T](c, key.name)
}

func typed[T any](c recordCore, key string) (*Record[T], error) {
	r, ok := c.(*Record[T])
	if !ok {
		return nil, fmt.Errorf("%w: record %q holds %s, not %s", ErrTypeMismatch, key, c.base().typ, reflect.TypeFor[T]())
	}
	return r, nil
}

// lookupCore returns the record registered under key, or nil.
func (db *DB) lookupCore(key string) recordCore {
	if c, ok := (*db.byKey.Load())[key]; ok {
		return c
	}
	if c, ok := db.dyn.Load(key); ok {
		return c.(recordCore)
	}
	return nil
}

// familyOf returns the family whose template key matches, with the
// captured values.
func (db *DB) familyOf(key string) (familyCore, []string) {
	for _, f := range *db.famList.Load() {
		if t := f.state().tmpl; t != nil {
			if vals, ok := t.match(key); ok {
				return f, vals
			}
		}
	}
	return nil, nil
}

// Produce stores v in the record named by key. It never blocks: the
// record's buffer overwrites as its kind prescribes. A key that fills a
// family's template creates the instance on its first write. It fails
// with ErrUnknownKey, ErrTypeMismatch, ErrFamilyFull, or ErrClosed after
// shutdown. Produce does not allocate, except when it creates an
// instance.
func Produce[T any](db *DB, key Key[T], v T) error {
	r, err := lookupOrCreate[T](db, key.name)
	if err != nil {
		return err
	}
	return r.produce(v)
}

// lookupOrCreate returns the record keyed by name, creating it if name is
// an instance key of a family.
func lookupOrCreate[T any](db *DB, name string) (*Record[T], error) {
	if c := db.lookupCore(name); c != nil {
		return typed[T](c, name)
	}
	f, vals := db.familyOf(name)
	if f == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, name)
	}
	if fb := f.base(); fb.typ != reflect.TypeFor[T]() {
		return nil, fmt.Errorf("%w: family %q holds %s, not %s", ErrTypeMismatch, fb.key, fb.typ, reflect.TypeFor[T]())
	}
	c, err := f.instanceCore(name, vals)
	if err != nil {
		return nil, err
	}
	return c.(*Record[T]), nil
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
		if c == nil {
			continue
		}
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
	keys := make([]string, 0, db.live)
	for _, c := range db.records {
		if c != nil {
			keys = append(keys, c.base().key)
		}
	}
	return keys
}

// configurable reports whether the DB still takes configuration. After
// Run started it logs the call, which is ignored, with ErrStarted.
// Called with db.mu held.
func (db *DB) configurable(what, key string) bool {
	if db.state == configuring {
		return true
	}
	db.opts.Logger.Error("aimdb: configuration after Run ignored", "call", what, "record", key, "err", ErrStarted)
	return false
}

// checkFunc records a configuration mistake if a stage function is nil.
// Called with db.mu held.
func (db *DB) checkFunc(isNil bool, key, verb string) {
	if isNil {
		db.mistakes = append(db.mistakes, &ConfigError{Key: key, Message: verb + " given a nil function"})
	}
}
