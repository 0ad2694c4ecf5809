package aimdb

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"sync/atomic"

	"github.com/aimdb-go/aimdb/contract"
	"github.com/aimdb-go/aimdb/internal/buffer"
)

// SourceFunc produces a record's values until ctx is done. Run calls it in
// its own goroutine; returning nil ends the source, returning an error is
// handled by Options.OnStageError.
type SourceFunc[T any] func(ctx context.Context, p *Producer[T]) error

// TapFunc consumes a record's values. Run calls it in its own goroutine
// with a subscription taken before any source starts, so it sees every
// value sources produce. At shutdown the subscription delivers what
// remains and then ends (Recv returns ErrClosed, All stops); ctx is
// cancelled only if draining exceeds Options.ShutdownTimeout.
type TapFunc[T any] func(ctx context.Context, s *Subscription[T]) error

// A StageOption configures a stage.
type StageOption func(*stage)

// Named names a stage in metadata and logs.
func Named(name string) StageOption { return func(s *stage) { s.name = name } }

// recordCore is the type-erased view of a *Record[T] that the registry,
// validation, the runner and introspection work with.
type recordCore interface {
	base() *recordBase
	// prepare subscribes the record's taps and transform inputs and queues
	// their goroutines on rs. Run calls it for every record, in
	// topological order, before any goroutine starts.
	prepare(rs *runState)
	// launchSources starts the record's sources.
	launchSources(rs *runState)
	// restore puts persisted values back in the buffer: Run calls it
	// before prepare (late false) and after (late true).
	restore(ctx context.Context, late bool)
	stats() buffer.Stats
	resetStats()
	closeBuffer()
}

// recordBase is the part of a record that does not depend on its type.
type recordBase struct {
	db  *DB
	id  int
	key string
	typ reflect.Type
	cfg Buffer

	schema contract.Schema // of typ, if it declares one (contract.SchemaType)

	sources    []*stage
	taps       []*stage
	transforms []*transform // more than one is a configuration mistake
	gauges     []*Gauge
	linksIn    []*link                // LinkFrom: inbound links, writers of the record
	linksOut   []*link                // LinkTo: outbound links, consumers of the record
	remote     remoteOps              // non-nil once RemoteAccess was called
	persistMD  func() PersistMetadata // the persister's, once Persist was called
	service    Service                // the persister's
	rview      *RemoteRecord          // DB.Remote's answer, made once

	isFamily bool         // the base of a *Family[T]: key is the template
	fam      *familyState // set on a family's instances
	famBase  *recordBase  // the family of an instance
	inst     *Instance    // an instance's key and captures
	evicted  atomic.Bool  // an instance removed for idleness

	// Writers still running; writersDone is closed when it reaches zero.
	writers     atomic.Int32
	writersDone chan struct{}
}

func (b *recordBase) base() *recordBase { return b }

// logger returns the DB's logger annotated with the record's key. It is
// made on each call (only on the paths that log), so that an idle record
// costs no logger.
func (b *recordBase) logger() *slog.Logger { return b.db.opts.Logger.With("record", b.key) }

func (b *recordBase) setWriters(n int) {
	b.writersDone = make(chan struct{})
	b.writers.Store(int32(n))
	if n == 0 {
		close(b.writersDone)
	}
}

func (b *recordBase) writerDone() {
	if b.writers.Add(-1) == 0 {
		close(b.writersDone)
	}
}

// A Record is the typed handle of a registered record. Its configuration
// methods must be called before Run; its data methods (Produce,
// Subscribe, Peek) are safe for concurrent use at any time.
type Record[T any] struct {
	recordBase
	buf    buffer.Buffer[T] // nil when the buffer configuration is invalid
	srcFns []SourceFunc[T]
	tapFns []TapFunc[T]
	codec  Codec[T] // RemoteAccess's codec

	appendEnc AppendEncoder[T] // codec, if it is one

	enc sharedEncodings // of its remote readers' values

	signal      func(T) float64 // of an Observable T, nil otherwise
	signalGauge *Gauge

	keeper       Persister[T] // set by Persist
	skipRestored bool         // stage readers skip the restored value
	lateRestore  []T          // restored values for the stages, pushed after prepare
}

func newRecord[T any](db *DB, key string, typ reflect.Type, cfg Buffer) *Record[T] {
	r := &Record[T]{recordBase: recordBase{db: db, id: -1, key: key, typ: typ, cfg: cfg, schema: schemaOf[T]()}}
	if cfg.problem() == "" {
		r.buf = buffer.New[T](cfg.kind, cfg.capacity)
	}
	return r
}

// Observe gives r a gauge of the signal of every value produced, in its
// metadata's signal_stats (count, last, min, max, mean), as AimDB's
// .observe() does but without a tap: the gauge is updated by Produce,
// with no allocation. The gauge is named by T's SignalName, or after
// T's schema. It must be called before Run; a second call does nothing.
func Observe[T contract.Observable](r *Record[T]) {
	r.db.mu.Lock()
	defer r.db.mu.Unlock()
	if !r.db.configurable(".Observe()", r.key) || r.signal != nil {
		return
	}
	r.observeWith(signalOf[T])
}

// observeWith gives r the gauge of signal. Called with db.mu held, or
// before r is published.
func (r *Record[T]) observeWith(signal func(T) float64) {
	name, unit := r.schema.Name, ""
	var zero T
	if n, ok := any(zero).(contract.SignalNamer); ok {
		name, unit = n.SignalName()
	}
	r.signal = signal
	r.signalGauge = &Gauge{name: name, unit: unit, stats: SignalStats{Signal: name, Unit: unit}}
	r.gauges = append(r.gauges, r.signalGauge)
}

func signalOf[T contract.Observable](v T) float64 { return v.Signal() }

// stored is what Produce does once v is in the buffer: it updates the
// gauge of an observed record and hands v to the record's persister.
func (r *Record[T]) stored(v T) {
	if r.signal != nil {
		r.signalGauge.Update(r.signal(v))
	}
	if r.keeper != nil {
		r.keeper.Keep(v)
	}
}

// schemaOf returns the schema T declares, if it is a contract.SchemaType.
func schemaOf[T any]() contract.Schema {
	var zero T
	if s, ok := any(zero).(contract.SchemaType); ok {
		return s.Schema()
	}
	return contract.Schema{}
}

// Key returns the record's key.
func (r *Record[T]) Key() Key[T] { return Key[T]{name: r.key} }

// Source sets f as the record's source. A record has at most one writer:
// one source, or one transform or join.
func (r *Record[T]) Source(f SourceFunc[T], opts ...StageOption) {
	r.db.mu.Lock()
	defer r.db.mu.Unlock()
	if !r.db.configurable(".Source()", r.key) {
		return
	}
	r.db.checkFunc(f == nil, r.key, ".Source()")
	r.sources = append(r.sources, newStage(stageSource, len(r.sources), opts))
	r.srcFns = append(r.srcFns, f)
}

// Tap adds f as an in-process consumer of the record's values.
func (r *Record[T]) Tap(f TapFunc[T], opts ...StageOption) {
	r.db.mu.Lock()
	defer r.db.mu.Unlock()
	if !r.db.configurable(".Tap()", r.key) {
		return
	}
	r.db.checkFunc(f == nil, r.key, ".Tap()")
	r.taps = append(r.taps, newStage(stageTap, len(r.taps), opts))
	r.tapFns = append(r.tapFns, f)
}

// Produce stores v in the record's buffer. It never blocks and does not
// allocate. It fails with ErrClosed after shutdown.
func (r *Record[T]) Produce(v T) error { return r.produce(v) }

func (r *Record[T]) produce(v T) error {
	if r.buf == nil {
		return fmt.Errorf("%w: record %q: %s", ErrInvalidConfig, r.key, r.cfg.problem())
	}
	if !r.buf.Push(v) {
		return fmt.Errorf("record %q: %w", r.key, ErrClosed)
	}
	if r.signal != nil || r.keeper != nil {
		r.stored(v) // not inlined: checked here, so a plain record pays no call
	}
	return nil
}

// Producer returns a producer for the record, for code outside its
// sources. It is safe for concurrent use.
func (r *Record[T]) Producer() *Producer[T] { return &Producer[T]{rec: r} }

// Subscribe returns a new subscription to the record. The caller must
// Close it when done.
func (r *Record[T]) Subscribe() (*Subscription[T], error) {
	if r.buf == nil {
		return nil, fmt.Errorf("%w: record %q: %s", ErrInvalidConfig, r.key, r.cfg.problem())
	}
	return &Subscription[T]{rec: r, r: r.buf.Subscribe()}, nil
}

// subscribeStage returns a subscription owned by a stage: Close on it is
// a no-op, and it is profiled into prof when prof is not nil.
func (r *Record[T]) subscribeStage(rs *runState, prof *stage) *Subscription[T] {
	s := &Subscription[T]{rec: r, r: r.stageReader(), owned: true, subProfile: subProfile{prof: prof}, busy: &rs.busy}
	rs.pending = append(rs.pending, s.r.Pending)
	return s
}

// stageReader returns a reader for a stage: one that skips a restored
// value unless the persister gives restored values to stages.
func (r *Record[T]) stageReader() buffer.Reader[T] {
	if sk, ok := r.buf.(interface{ SubscribeSkipRestored() buffer.Reader[T] }); ok && persistence && r.skipRestored {
		return sk.SubscribeSkipRestored()
	}
	return r.buf.Subscribe()
}

// Peek returns the value a subscriber would receive without consuming it:
// the current value of a Latest record, the pending value of a Mailbox.
// A Ring has no canonical latest value; Peek reports false for it.
func (r *Record[T]) Peek() (T, bool) {
	if r.buf == nil {
		var zero T
		return zero, false
	}
	return r.buf.Peek()
}

func (r *Record[T]) stats() buffer.Stats {
	if r.buf == nil {
		return buffer.Stats{}
	}
	return r.buf.Stats()
}

func (r *Record[T]) resetStats() {
	if r.buf != nil {
		r.buf.ResetStats()
	}
}

func (r *Record[T]) closeBuffer() {
	if r.buf != nil {
		r.buf.Close()
	}
}

func (r *Record[T]) prepare(rs *runState) {
	n := len(r.srcFns) + len(r.linksIn)
	for _, t := range r.transforms {
		n += len(t.inputs)
	}
	r.setWriters(n)
	for i, f := range r.tapFns {
		st := r.taps[i]
		sub := r.subscribeStage(rs, st)
		rs.queue(func() {
			rs.goStage(rs.stageCtx, &r.recordBase, st, false, func(ctx context.Context) error { return f(ctx, sub) })
		})
	}
	for _, t := range r.transforms {
		t.prepare(rs)
	}
}

func (r *Record[T]) launchSources(rs *runState) {
	for i, f := range r.srcFns {
		st := r.sources[i]
		p := &Producer[T]{rec: r, prof: st}
		rs.goStage(rs.srcCtx, &r.recordBase, st, true, func(ctx context.Context) error { return f(ctx, p) })
	}
}
