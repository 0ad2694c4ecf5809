package aimdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aimdb-go/aimdb/contract"
	"github.com/aimdb-go/aimdb/internal/buffer"
)

// A FamilyKey names a record family and fixes the Go type of its
// instances. Its template names segments that vary, as in
// "station.{id}.temperature"; each instance fills them, as in
// "station.17.temperature". Declare family keys once, like keys.
type FamilyKey[T any] struct{ tmpl string }

// NewFamily returns the family key with the given template for records of
// type T. The template is checked when the family is registered: segments
// separated by dots, at least one capture "{name}" spanning a whole
// segment (letters, digits, '_'), no capture twice.
func NewFamily[T any](template string) FamilyKey[T] { return FamilyKey[T]{tmpl: template} }

// Template returns the family's key template.
func (k FamilyKey[T]) Template() string { return k.tmpl }

// String returns the family's key template.
func (k FamilyKey[T]) String() string { return k.tmpl }

// Instance returns the key of the instance whose captures are values, in
// the order the template names them: NewFamily[T]("station.{id}.temp")
// .Instance("17") is the key "station.17.temp". With the wrong number of
// values, or a value that cannot fill a segment, the key is invalid and
// every use of it fails with an error naming it.
func (k FamilyKey[T]) Instance(values ...string) Key[T] {
	t, err := parseTemplate(k.tmpl, '.', true)
	if err != nil || len(values) != len(t.names) {
		return Key[T]{name: k.tmpl}
	}
	return Key[T]{name: t.fill(values)}
}

// DefaultMaxInstances is a family's instance bound when MaxInstances is
// not given.
const DefaultMaxInstances = 10_000

// ErrFamilyFull reports a write refused because it would create an
// instance beyond its family's MaxInstances.
var ErrFamilyFull = errors.New("aimdb: record family is full")

// A FamilyOption configures a family.
type FamilyOption func(*familyState)

// MaxInstances bounds the live instances of a family (default
// DefaultMaxInstances). A write that would create one more is refused with
// ErrFamilyFull, counted in FamilyMetadata.Refused and logged (at most
// once every 10 seconds, with the count).
func MaxInstances(n int) FamilyOption {
	return func(f *familyState) { f.max = n }
}

// IdleEviction removes an instance nobody wrote for d: it leaves
// Records(), its subscribers receive what it held and then ErrClosed, and
// the next write creates it again. Counted in FamilyMetadata.Evicted.
// Without it, instances live until the DB stops.
func IdleEviction(d time.Duration) FamilyOption {
	return func(f *familyState) { f.idle = d }
}

// An Instance names one record of a family and the values its captures
// took. Captures must not be modified.
type Instance struct {
	Key      string            // the instance's record key
	Captures map[string]string // capture name → value, e.g. "id" → "17"
	values   []string          // the values in the template's order
}

// familyState is the part of a family that does not depend on its type.
type familyState struct {
	tmpl    *keyTemplate // nil when the template is invalid
	max     int
	idle    time.Duration
	problem string // why the family cannot hold instances

	mu        sync.Mutex
	instances map[string]recordCore
	closed    bool

	count   atomic.Int64
	created atomic.Uint64
	refused atomic.Uint64
	evicted atomic.Uint64
	// Inbound messages that reached no instance: a topic that does not
	// fill the template, or a payload that failed to decode for an
	// instance that does not exist yet.
	rejected atomic.Uint64

	lastRefusalLog atomic.Int64 // unix nanoseconds
	refusedLogged  atomic.Uint64
}

// familyCore is the type-erased view of a *Family[T].
type familyCore interface {
	recordCore
	state() *familyState
	// lookupInstance returns the instance for a key the template matched,
	// creating it.
	instanceCore(key string, values []string) (recordCore, error)
	familyMetadata() FamilyMetadata
}

// A Family is the typed handle of a registered record family. Like a
// Record, its configuration methods must be called before Run. Its
// instances are records (*Record[T]) created on their first write: by
// Produce on an instance key, by an inbound link whose URL captures the
// template's names, or by a derived family's transform or join.
type Family[T any] struct {
	recordBase
	fs     familyState
	codec  Codec[T]
	tapFns []FamilyTapFunc[T]
	subs   []*famSub[T]    // guarded by fs.mu: they get a reader of every instance
	signal func(T) float64 // ObserveFamily: each instance's gauge

	keeper   FamilyPersister[T] // set by Persist
	restored []*Record[T]       // instances Run created from the store, for the late restore
}

// ObserveFamily gives every instance of f the gauge Observe gives a
// record. It must be called before Run.
func ObserveFamily[T contract.Observable](f *Family[T]) {
	f.db.mu.Lock()
	defer f.db.mu.Unlock()
	if f.db.configurable(".ObserveFamily()", f.key) {
		f.signal = signalOf[T]
	}
}

// FamilyTapFunc consumes the values of every instance of a family, as a
// TapFunc does for one record.
type FamilyTapFunc[T any] func(ctx context.Context, s *FamilySubscription[T]) error

// RegisterFamily defines the family named by key, whose instances hold
// values of type T in buffers built from buf, and returns its handle.
// Mistakes are reported as Register reports them.
func RegisterFamily[T any](db *DB, key FamilyKey[T], buf Buffer, opts ...FamilyOption) (*Family[T], error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	typ := reflect.TypeFor[T]()
	f := &Family[T]{recordBase: recordBase{db: db, id: -1, key: key.tmpl, typ: typ, cfg: buf, isFamily: true, schema: schemaOf[T]()}}
	f.fs.max = DefaultMaxInstances
	f.fs.instances = map[string]recordCore{}
	for _, o := range opts {
		if o != nil {
			o(&f.fs)
		}
	}
	if db.state != configuring {
		return f, fmt.Errorf("register family %q: %w", key.tmpl, ErrStarted)
	}
	fail := func(f *Family[T], msg string, sentinel ...error) (*Family[T], error) {
		if f.fs.problem == "" {
			f.fs.problem = msg
		}
		ce := &ConfigError{Key: key.tmpl, Message: msg}
		if len(sentinel) > 0 {
			ce.Err = sentinel[0]
		}
		db.mistakes = append(db.mistakes, ce)
		return f, ce
	}
	t, err := parseTemplate(key.tmpl, '.', true)
	if err != nil {
		return fail(f, err.Error())
	}
	if err := ValidateKey(t.wildcard("x")); err != nil {
		return fail(f, fmt.Sprintf("invalid template %q: %v", key.tmpl, err))
	}
	f.fs.tmpl = t
	if old, ok := db.famByTmpl[key.tmpl]; ok {
		ob := old.base()
		if ob.typ != typ {
			return fail(f, fmt.Sprintf("family already registered with a different type: registered as %s, now %s", ob.typ, typ), ErrTypeMismatch)
		}
		of := old.(*Family[T])
		if ob.cfg != buf {
			return fail(of, fmt.Sprintf("family registered twice with different buffers: %s and %s", ob.cfg, buf))
		}
		return of, nil
	}
	db.families = append(db.families, f)
	db.famByTmpl[key.tmpl] = f
	fams := append([]familyCore(nil), db.families...)
	db.famList.Store(&fams)
	if p := buf.problem(); p != "" {
		return fail(f, p)
	}
	if f.fs.max < 1 {
		return fail(f, fmt.Sprintf("MaxInstances(%d): want at least 1", f.fs.max))
	}
	if f.fs.idle < 0 {
		return fail(f, fmt.Sprintf("IdleEviction(%v): want a positive duration", f.fs.idle))
	}
	return f, nil
}

// Key returns the family's key.
func (f *Family[T]) Key() FamilyKey[T] { return FamilyKey[T]{tmpl: f.key} }

func (f *Family[T]) state() *familyState { return &f.fs }

// Tap adds fn as an in-process consumer of every instance's values.
func (f *Family[T]) Tap(fn FamilyTapFunc[T], opts ...StageOption) {
	f.db.mu.Lock()
	defer f.db.mu.Unlock()
	if !f.db.configurable(".Tap()", f.key) {
		return
	}
	f.db.checkFunc(fn == nil, f.key, ".Tap()")
	f.taps = append(f.taps, newStage(stageTap, len(f.taps), opts))
	f.tapFns = append(f.tapFns, fn)
}

// RemoteAccess opts every instance into remote access, as
// Record.RemoteAccess does for one record.
func (f *Family[T]) RemoteAccess(c Codec[T]) {
	f.db.mu.Lock()
	defer f.db.mu.Unlock()
	if !f.db.configurable(".RemoteAccess()", f.key) {
		return
	}
	if isNilCodec(c) {
		f.db.mistakes = append(f.db.mistakes, &ConfigError{Key: f.key, Message: ".RemoteAccess() given a nil codec"})
		return
	}
	if m := codecMistake(c); m != "" {
		f.db.mistakes = append(f.db.mistakes, &ConfigError{Key: f.key, Message: ".RemoteAccess(): codec: " + m})
	}
	f.codec = c
	f.remote = remoteFamily{}
}

// remoteFamily marks a family opened with RemoteAccess; its instances
// carry the remote operations.
type remoteFamily struct{}

func (remoteFamily) appendLatestJSON(dst []byte) ([]byte, error) { return dst, ErrNoRemoteAccess }
func (remoteFamily) subscribeJSON(bool) (remoteReader, error)    { return nil, ErrNoRemoteAccess }
func (remoteFamily) takeJSON() (remoteReader, error)             { return nil, ErrNoRemoteAccess }
func (remoteFamily) setJSON([]byte) error                        { return ErrNoRemoteAccess }

// Instance returns the instance whose captures are values (in the
// template's order), creating it if it does not exist. It fails with
// ErrFamilyFull at the bound, and ErrClosed after shutdown.
func (f *Family[T]) Instance(values ...string) (*Record[T], error) {
	if f.fs.tmpl == nil {
		return nil, fmt.Errorf("%w: family %q: %s", ErrInvalidConfig, f.key, f.fs.problem)
	}
	if len(values) != len(f.fs.tmpl.names) {
		return nil, fmt.Errorf("aimdb: family %q: %d values for %d captures", f.key, len(values), len(f.fs.tmpl.names))
	}
	for i, v := range values {
		if err := checkCapture(v); err != nil {
			return nil, fmt.Errorf("aimdb: family %q: capture {%s}: %v", f.key, f.fs.tmpl.names[i], err)
		}
	}
	return f.instance(f.fs.tmpl.fill(values), values)
}

func (f *Family[T]) instanceCore(key string, values []string) (recordCore, error) {
	return f.instance(key, values)
}

// instance returns the instance keyed by key, whose captures are values,
// creating it.
func (f *Family[T]) instance(key string, values []string) (*Record[T], error) {
	if c, ok := f.db.dyn.Load(key); ok {
		if r, ok := c.(*Record[T]); ok && r.fam == &f.fs {
			return r, nil
		}
	}
	r, created, err := f.create(key, values)
	if created {
		f.db.notifyAdded(key)
	}
	return r, err
}

// create is instance's slow path, under the family's lock.
func (f *Family[T]) create(key string, values []string) (*Record[T], bool, error) {
	fs := &f.fs
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if c, ok := fs.instances[key]; ok {
		return c.(*Record[T]), false, nil
	}
	if fs.tmpl == nil || f.buf() {
		return nil, false, fmt.Errorf("%w: family %q: %s", ErrInvalidConfig, f.key, fs.problem)
	}
	if fs.closed {
		return nil, false, fmt.Errorf("record %q: %w", key, ErrClosed)
	}
	if len(fs.instances) >= fs.max {
		fs.refused.Add(1)
		f.logRefusal(key)
		return nil, false, fmt.Errorf("record %q: %w (MaxInstances %d)", key, ErrFamilyFull, fs.max)
	}
	if _, taken := f.db.dyn.Load(key); taken {
		return nil, false, fmt.Errorf("record %q: instance key taken by a registered record", key)
	}
	r := newRecord[T](f.db, key, f.typ, f.cfg)
	r.fam = fs
	r.famBase = &f.recordBase
	inst := &Instance{Key: key, Captures: make(map[string]string, len(values)), values: values}
	for i, n := range fs.tmpl.names {
		inst.Captures[n] = values[i]
	}
	r.inst = inst
	if f.signal != nil {
		r.observeWith(f.signal)
	}
	if f.codec != nil {
		r.codec = f.codec
		r.remote = r
	}
	if f.keeper != nil {
		if p := f.keeper.Instance(key); p != nil {
			r.keeper = p
			r.persistMD = p.PersistMetadata
		}
	}
	for _, l := range f.linksIn {
		r.linksIn = append(r.linksIn, l.view(&r.recordBase, fs.tmpl.names, values))
	}
	for _, l := range f.linksOut {
		r.linksOut = append(r.linksOut, l.view(&r.recordBase, fs.tmpl.names, values))
	}
	for _, t := range f.transforms {
		r.transforms = append(r.transforms, t.instanceView(fs.tmpl.names, values))
	}
	fs.instances[key] = r
	fs.count.Add(1)
	fs.created.Add(1)
	f.db.addInstance(r)
	for _, s := range f.subs {
		s.add(r)
	}
	return r, true, nil
}

// buf reports whether the family's buffer configuration is invalid.
func (f *Family[T]) buf() bool { return f.cfg.problem() != "" }

// logRefusal logs a refused instance, at most once every 10 seconds.
func (f *Family[T]) logRefusal(key string) {
	fs := &f.fs
	now := time.Now().UnixNano()
	last := fs.lastRefusalLog.Load()
	if now-last < int64(10*time.Second) || !fs.lastRefusalLog.CompareAndSwap(last, now) {
		return
	}
	n := fs.refused.Load()
	since := n - fs.refusedLogged.Swap(n)
	f.db.opts.Logger.Warn("aimdb: family full, instances refused", "family", f.key,
		"max_instances", fs.max, "refused", since, "refused_total", n, "last_key", key)
}

// evict removes an idle instance.
func (f *Family[T]) evict(r *Record[T]) {
	fs := &f.fs
	fs.mu.Lock()
	if fs.instances[r.key] != r {
		fs.mu.Unlock()
		return
	}
	delete(fs.instances, r.key)
	fs.count.Add(-1)
	fs.evicted.Add(1)
	fs.mu.Unlock()
	f.db.removeInstance(r)
	r.closeBuffer()
}

// Subscribe returns a new subscription to every instance of the family,
// present and future. The caller must Close it.
func (f *Family[T]) Subscribe() *FamilySubscription[T] {
	fi := newFanIn(1)
	s := f.subscribeInto(fi, nil, false)
	return &FamilySubscription[T]{fam: f, fi: fi, sub: s}
}

// subscribeInto adds a family subscription feeding fi: a reader of every
// instance, present and future. each, when set, is called for values
// drained by the fan-in's goroutine (see famReader.drain).
func (f *Family[T]) subscribeInto(fi *fanIn, each func(fr *famReader[T], v T), owned bool) *famSub[T] {
	s := &famSub[T]{fam: f, fi: fi, each: each, owned: owned, readers: map[*famReader[T]]struct{}{}}
	fs := &f.fs
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f.subs = append(f.subs, s)
	for _, c := range fs.instances {
		s.add(c.(*Record[T]))
	}
	if fs.closed {
		fi.seal()
	}
	return s
}

// famSub is one subscription to a family: a reader per instance, all
// feeding one fan-in.
type famSub[T any] struct {
	fam    *Family[T]
	fi     *fanIn
	each   func(fr *famReader[T], v T)
	onLag  func(fr *famReader[T], missed uint64) // default: log
	onDrop func(fr *famReader[T])                // called when an instance's reader ends
	owned  bool

	mu      sync.Mutex
	readers map[*famReader[T]]struct{}
	closed  bool
}

// famReader reads one instance for a famSub.
type famReader[T any] struct {
	s   *famSub[T]
	m   *fanMember
	rec *Record[T]
	r   buffer.Reader[T]
	// target is free for the subscription's owner: a derived family's
	// stage keeps the output instance here.
	target any
	// through is r's Position once the values before it were handled (an
	// outbound link's: queued or failed; see DB.Flush).
	through atomic.Uint64
}

// marks appends, for every instance, how far s's reader got and the
// instance's buffer Version (see DB.Flush).
func (s *famSub[T]) marks(dst []flushMark) []flushMark {
	s.mu.Lock()
	defer s.mu.Unlock()
	for fr := range s.readers {
		dst = append(dst, flushMark{&fr.through, fr.rec.buf.Version()})
	}
	return dst
}

// add adds a reader of r. Called with the family's lock held.
func (s *famSub[T]) add(r *Record[T]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || r.buf == nil {
		return
	}
	fr := &famReader[T]{s: s, rec: r, r: r.stageReader()}
	if receipts {
		fr.through.Store(fr.r.Position())
	}
	fr.m = s.fi.add(fr)
	fr.r.SetNotify(fr.m.notify)
	s.readers[fr] = struct{}{}
	fr.m.ready()
}

// drop removes a reader whose instance closed.
func (s *famSub[T]) drop(fr *famReader[T]) {
	s.fi.remove(fr.m)
	fr.r.Close()
	if s.onDrop != nil {
		s.onDrop(fr)
	}
	s.mu.Lock()
	delete(s.readers, fr)
	s.mu.Unlock()
}

// close ends the subscription.
func (s *famSub[T]) close() {
	f := s.fam
	f.fs.mu.Lock()
	for i, x := range f.subs {
		if x == s {
			f.subs = append(f.subs[:i], f.subs[i+1:]...)
			break
		}
	}
	f.fs.mu.Unlock()
	s.mu.Lock()
	s.closed = true
	readers := s.readers
	s.readers = nil
	s.mu.Unlock()
	for fr := range readers {
		fr.r.Close()
	}
	s.fi.close()
}

// fanBurst is how many values one member yields before the fan-in turns
// to the next ready member.
const fanBurst = 64

// drain hands up to fanBurst values of fr to its subscription's each
// function. It reports whether values may remain (the member must be
// queued again). A lag is logged and skipped.
func (fr *famReader[T]) drain(log func() *slog.Logger) (more bool) {
	for range fanBurst {
		v, missed, err := fr.r.TryRecvArm()
		switch err {
		case nil:
			fr.s.each(fr, v)
		case buffer.ErrLagged:
			if fr.s.onLag != nil {
				fr.s.onLag(fr, missed)
			} else {
				log().Warn("aimdb: input lagged, values skipped", "input", fr.rec.key, "missed", missed)
			}
		case buffer.ErrEmpty:
			return false
		default: // closed
			fr.s.drop(fr)
			return false
		}
	}
	return true
}

// drainer is a fan-in member that processes its own values.
type drainer interface {
	drain(log func() *slog.Logger) bool
}

// runFanIn drains fi's ready members until it ends (nil) or ctx ends.
func runFanIn(ctx context.Context, fi *fanIn, log func() *slog.Logger) error {
	for {
		m, err := fi.next(ctx)
		if err != nil {
			if errors.Is(err, ErrClosed) {
				return nil
			}
			return err
		}
		drainMember(m, log)
	}
}

// drainMember drains m, queueing it again if values may remain — also when
// the stage's function panics, so that a restarted stage finds it.
func drainMember(m *fanMember, log func() *slog.Logger) {
	more := true
	defer func() {
		if more {
			m.ready()
		}
	}()
	more = m.owner.(drainer).drain(log)
}

// A FamilySubscription receives the values of every instance of a family,
// each with its instance. Instances created after it was taken are
// included from their first value. Like a Subscription, its Recv must not
// be called concurrently; Close may be called from any goroutine.
type FamilySubscription[T any] struct {
	fam   *Family[T]
	fi    *fanIn
	sub   *famSub[T]
	cur   *famReader[T]
	burst int
	owned bool
	log   *slog.Logger
}

// Recv returns the next value of any instance, and the instance. Between
// instances it takes turns, so a busy instance cannot starve the others;
// the values of one instance arrive in order. It fails as
// Subscription.Recv does: a *LagError (naming the instance) when a ring
// instance lagged, ErrClosed once the family was shut down and every
// instance drained (or the subscription closed), ctx.Err() if ctx ended
// first, having consumed nothing.
func (s *FamilySubscription[T]) Recv(ctx context.Context) (Instance, T, error) {
	var zero T
	for {
		if c := s.cur; c != nil {
			if s.burst < fanBurst {
				v, missed, err := c.r.TryRecvArm()
				switch err {
				case nil:
					s.burst++
					return *c.rec.inst, v, nil
				case buffer.ErrLagged:
					s.burst++
					return *c.rec.inst, zero, &LagError{Key: c.rec.key, Missed: missed}
				case buffer.ErrClosed:
					s.sub.drop(c)
				}
			} else {
				c.m.ready() // values may remain: take them after the others
			}
			s.cur = nil
		}
		m, err := s.fi.next(ctx)
		if err != nil {
			return Instance{}, zero, err
		}
		s.cur, s.burst = m.owner.(*famReader[T]), 0
	}
}

// Close ends the subscription. Subscriptions handed to taps belong to the
// DB: Close on them does nothing.
func (s *FamilySubscription[T]) Close() {
	if !s.owned {
		s.sub.close()
	}
}

// Key returns the family's key.
func (s *FamilySubscription[T]) Key() FamilyKey[T] { return s.fam.Key() }

// Clock returns the DB's clock.
func (s *FamilySubscription[T]) Clock() Clock { return s.fam.db.opts.Clock }

// Logger returns the DB's logger, annotated with the family's template.
func (s *FamilySubscription[T]) Logger() *slog.Logger {
	if s.log == nil {
		s.log = s.fam.logger()
	}
	return s.log
}

// The recordCore side of a family: Run prepares and closes it like a
// record, in topological order.

func (f *Family[T]) prepare(rs *runState) {
	n := len(f.linksIn)
	if len(f.transforms) > 0 {
		n++
	}
	f.setWriters(n)
	for i, fn := range f.tapFns {
		st := f.taps[i]
		fi := newFanIn(1)
		fi.busy = &rs.busy
		rs.pending = append(rs.pending, fi.queued)
		s := f.subscribeInto(fi, nil, true)
		sub := &FamilySubscription[T]{fam: f, fi: fi, sub: s, owned: true}
		rs.queue(func() {
			rs.goStage(rs.stageCtx, &f.recordBase, st, false, func(ctx context.Context) error { return fn(ctx, sub) })
		})
	}
	for _, t := range f.transforms {
		t.prepare(rs)
	}
	if f.fs.idle > 0 {
		rs.queue(func() { rs.wg.Go(func() { f.janitor(rs.srcCtx) }) })
	}
}

// janitor evicts instances nobody wrote for the family's idle time. It
// watches produced counters, so writes pay nothing for it.
func (f *Family[T]) janitor(ctx context.Context) {
	clock := f.db.opts.Clock
	tick := max(f.fs.idle/4, time.Millisecond)
	type seen struct {
		produced uint64
		since    time.Time
	}
	last := map[*Record[T]]seen{}
	for clock.Sleep(ctx, tick) == nil {
		now := clock.Now()
		f.fs.mu.Lock()
		insts := make([]*Record[T], 0, len(f.fs.instances))
		for _, c := range f.fs.instances {
			insts = append(insts, c.(*Record[T]))
		}
		f.fs.mu.Unlock()
		next := make(map[*Record[T]]seen, len(insts))
		for _, r := range insts {
			p := r.stats().Produced
			s, ok := last[r]
			if !ok || s.produced != p {
				s = seen{produced: p, since: now}
			}
			if now.Sub(s.since) >= f.fs.idle {
				f.evict(r)
				continue
			}
			next[r] = s
		}
		last = next
	}
}

func (f *Family[T]) launchSources(*runState) {}
func (f *Family[T]) stats() buffer.Stats     { return buffer.Stats{} }
func (f *Family[T]) resetStats()             {}

// closeBuffer closes the family: no instance is created any more, every
// instance is closed, and family subscriptions end once drained.
func (f *Family[T]) closeBuffer() {
	fs := &f.fs
	fs.mu.Lock()
	if fs.closed {
		fs.mu.Unlock()
		return
	}
	fs.closed = true
	insts := make([]recordCore, 0, len(fs.instances))
	for _, c := range fs.instances {
		insts = append(insts, c)
	}
	subs := append([]*famSub[T](nil), f.subs...)
	fs.mu.Unlock()
	for _, c := range insts {
		c.closeBuffer()
	}
	for _, s := range subs {
		s.fi.seal()
	}
}

// metadata returns the family's metadata.
func (f *Family[T]) familyMetadata() FamilyMetadata {
	md := FamilyMetadata{
		Template:     f.key,
		Name:         f.typ.String(),
		TypeID:       typeID(f.typ),
		BufferType:   f.cfg.Type(),
		Instances:    int(f.fs.count.Load()),
		MaxInstances: f.fs.max,
		Created:      f.fs.created.Load(),
		Refused:      f.fs.refused.Load(),
		Evicted:      f.fs.evicted.Load(),
		Rejected:     f.fs.rejected.Load(),
	}
	if f.fs.idle > 0 {
		md.IdleEvictionMs = f.fs.idle.Milliseconds()
	}
	for _, links := range [][]*link{f.linksIn, f.linksOut} {
		for _, l := range links {
			md.Links = append(md.Links, l.metadata())
		}
	}
	return md
}
