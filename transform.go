package aimdb

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"sync"
)

// A transform is the writer of a derived record: a single-input Transform
// or a multi-input Join.
type transform struct {
	inputs []string
	types  []reflect.Type
	join   bool
	stage  *stage
	// prepare subscribes the inputs and queues the goroutines on rs.
	prepare func(rs *runState)
}

// verb names the method that made t, as in ".Transform()".
func (t *transform) verb() string {
	if t.join {
		return ".Join()"
	}
	return ".Transform()"
}

func (b *recordBase) addTransform(t *transform, isNil bool) {
	b.db.mu.Lock()
	defer b.db.mu.Unlock()
	if !b.db.configurable(t.verb(), b.key) {
		return
	}
	b.db.checkFunc(isNil, b.key, t.verb())
	t.stage.index = len(b.transforms)
	b.transforms = append(b.transforms, t)
}

// Transform makes out a record derived from the record named in: each
// value v of in becomes f(v) in out when f reports true, and is dropped
// when it reports false (map and filter in one). The input may be
// registered before or after out; Run checks that it exists and holds
// In.
//
// f runs in one goroutine, so it may keep state in variables it closes
// over. A ring input that lags is logged and skipped. Transform makes f the
// record's only writer, and adds an edge to the dependency graph.
func Transform[In, Out any](out *Record[Out], in Key[In], f func(In) (Out, bool), opts ...StageOption) {
	t := &transform{
		inputs: []string{in.name},
		types:  []reflect.Type{reflect.TypeFor[In]()},
		stage:  newStage(stageTransform, 0, opts),
	}
	t.prepare = func(rs *runState) {
		sub := rs.db.lookupCore(in.name).(*Record[In]).subscribeStage(rs, nil)
		log := out.logger().With("stage", t.stage.label())
		rs.queue(func() {
			rs.goStage(rs.stageCtx, &out.recordBase, t.stage, true, func(ctx context.Context) error {
				return pump(ctx, sub, log, func(v In) error {
					o, ok := timed(t.stage, v, f)
					if !ok {
						return nil
					}
					return out.produce(o)
				})
			})
		})
	}
	out.addTransform(t, f == nil)
}

// pump feeds every value of sub to each until sub ends (nil) or each or
// the context fails. Lags are logged and skipped.
func pump[T any](ctx context.Context, sub *Subscription[T], log *slog.Logger, each func(T) error) error {
	for {
		v, err := sub.Recv(ctx)
		if err != nil {
			if lag, ok := err.(*LagError); ok {
				log.Warn("aimdb: input lagged, values skipped", "input", lag.Key, "missed", lag.Missed)
				continue
			}
			if errors.Is(err, ErrClosed) {
				return nil
			}
			return err
		}
		if err := each(v); err != nil {
			if errors.Is(err, ErrClosed) {
				return nil
			}
			return err
		}
	}
}

// joinCore is the state a join's input goroutines share: which inputs
// have delivered a value, and the function that combines the latest ones.
type joinCore[Out any] struct {
	mu   sync.Mutex
	seen uint32
	all  uint32
	out  *Record[Out]
	t    *transform
	fire func() (Out, bool) // called with mu held
}

func newJoin[Out any](out *Record[Out], opts []StageOption, fire func() (Out, bool), inputs ...keyInfo) *joinCore[Out] {
	j := &joinCore[Out]{out: out, all: 1<<len(inputs) - 1, fire: fire}
	j.t = &transform{join: true, stage: newStage(stageTransform, 0, opts)}
	for _, in := range inputs {
		j.t.inputs = append(j.t.inputs, in.name)
		j.t.types = append(j.t.types, in.typ)
	}
	return j
}

type keyInfo struct {
	name string
	typ  reflect.Type
}

func info[T any](k Key[T]) keyInfo { return keyInfo{k.name, reflect.TypeFor[T]()} }

// joinInput subscribes input number bit of j and queues its goroutine.
func joinInput[X, Out any](rs *runState, j *joinCore[Out], bit int, key Key[X], set func(X)) {
	sub := rs.db.lookupCore(key.name).(*Record[X]).subscribeStage(rs, nil)
	log := j.out.logger().With("stage", j.t.stage.label())
	rs.queue(func() {
		rs.goStage(rs.stageCtx, &j.out.recordBase, j.t.stage, true, func(ctx context.Context) error {
			return pump(ctx, sub, log, func(v X) error {
				j.mu.Lock()
				defer j.mu.Unlock()
				set(v)
				j.seen |= 1 << bit
				if j.seen != j.all {
					return nil
				}
				o, ok := timed(j.t.stage, struct{}{}, func(struct{}) (Out, bool) { return j.fire() })
				if !ok {
					return nil
				}
				return j.out.produce(o)
			})
		})
	})
}

// Join2 makes out a record derived from two inputs. Once each input has
// delivered a value, every new value of either input calls f with the
// latest value of both; f's result is produced into out when it reports
// true. Calls to f are serialized, in arrival order.
func Join2[A, B, Out any](out *Record[Out], ka Key[A], kb Key[B], f func(A, B) (Out, bool), opts ...StageOption) {
	var (
		a A
		b B
	)
	j := newJoin(out, opts, func() (Out, bool) { return f(a, b) }, info(ka), info(kb))
	j.t.prepare = func(rs *runState) {
		joinInput(rs, j, 0, ka, func(v A) { a = v })
		joinInput(rs, j, 1, kb, func(v B) { b = v })
	}
	out.addTransform(j.t, f == nil)
}

// Join3 is Join2 for three inputs.
func Join3[A, B, C, Out any](out *Record[Out], ka Key[A], kb Key[B], kc Key[C], f func(A, B, C) (Out, bool), opts ...StageOption) {
	var (
		a A
		b B
		c C
	)
	j := newJoin(out, opts, func() (Out, bool) { return f(a, b, c) }, info(ka), info(kb), info(kc))
	j.t.prepare = func(rs *runState) {
		joinInput(rs, j, 0, ka, func(v A) { a = v })
		joinInput(rs, j, 1, kb, func(v B) { b = v })
		joinInput(rs, j, 2, kc, func(v C) { c = v })
	}
	out.addTransform(j.t, f == nil)
}

// timed calls f(v), timing the call when the stage samples it.
func timed[In, Out any](st *stage, v In, f func(In) (Out, bool)) (Out, bool) {
	if !st.count() {
		return f(v)
	}
	start := nanotime()
	o, ok := f(v)
	st.observe(nanotime() - start)
	return o, ok
}
