package aimdb

import (
	"context"
	"errors"
	"reflect"
)

// TransformFamily makes out a family derived from the family named by in:
// each value v of an instance of in becomes f(v) in the instance of out
// with the same captures ("station.17.temperature" feeds
// "station.17.temperature_f"), when f reports true. Both families must
// capture the same names; Run checks it. Output instances are created on
// their first value. One goroutine serves every instance; calls to f are
// serialized, and values of one instance arrive in order.
func TransformFamily[In, Out any](out *Family[Out], in FamilyKey[In], f func(In) (Out, bool), opts ...StageOption) {
	t := &transform{
		inputs: []string{in.tmpl},
		types:  []reflect.Type{reflect.TypeFor[In]()},
		stage:  newStage(stageTransform, 0, opts),
	}
	t.prepare = func(rs *runState) {
		inFam := rs.db.famByTmpl[in.tmpl].(*Family[In])
		fi := newFanIn(1)
		fi.busy = &rs.busy
		rs.pending = append(rs.pending, fi.queued)
		var rl rateLimit
		inFam.subscribeInto(fi, func(fr *famReader[In], v In) {
			o, ok := timed(t.stage, v, f)
			if !ok {
				return
			}
			tgt, _ := fr.target.(*Record[Out])
			fr.target = produceDerived(out, tgt, inFam.fs.tmpl.names, fr.rec.inst.values, o, &rl)
		}, true)
		rs.queue(func() {
			rs.goStage(rs.stageCtx, &out.recordBase, t.stage, true, func(ctx context.Context) error {
				return runFanIn(ctx, fi, out.logger)
			})
		})
	}
	out.addTransform(t, f == nil)
}

// produceDerived produces o into the instance of out with the captures
// names = vals, tgt when it is that instance already; it returns the
// instance, for the caller to keep.
func produceDerived[Out any](out *Family[Out], tgt *Record[Out], names, vals []string, o Out, rl *rateLimit) *Record[Out] {
	for range 2 { // a second time if the instance was evicted meanwhile
		if tgt == nil || tgt.evicted.Load() {
			ov := reorder(names, vals, out.fs.tmpl.names)
			var err error
			if tgt, err = out.instance(out.fs.tmpl.fill(ov), ov); err != nil {
				if ok, held := rl.allow(); ok && !errors.Is(err, ErrClosed) {
					out.logger().Warn("aimdb: derived value not stored", "err", err, "suppressed", held)
				}
				return nil
			}
		}
		if err := tgt.produce(o); err == nil || !tgt.evicted.Load() {
			return tgt
		}
		tgt = nil
	}
	return nil
}

// joinState is a join's state for one output instance: the latest value
// of each input and which inputs delivered one.
type joinState[Out any] struct {
	seen uint32
	out  *Record[Out]
	key  string // the output instance's key
	refs int    // input readers bound to the state; at 0 it is forgotten
}

// joinFamilyInput subscribes input bit of a family join: each value is
// stored by set into the state of its output instance, and the join fires
// once every input has delivered a value.
func joinFamilyInput[X, S, Out any](fi *fanIn, fam *Family[X], out *Family[Out], bit int, all uint32,
	states map[string]*S, base func(*S) *joinState[Out], set func(*S, X), fire func(*S) (Out, bool), st *stage, rl *rateLimit) {
	sub := fam.subscribeInto(fi, func(fr *famReader[X], v X) {
		s, _ := fr.target.(*S)
		if s == nil {
			ov := reorder(fam.fs.tmpl.names, fr.rec.inst.values, out.fs.tmpl.names)
			key := out.fs.tmpl.fill(ov)
			if s = states[key]; s == nil {
				s = new(S)
				base(s).key = key
				states[key] = s
			}
			base(s).refs++
			fr.target = s
		}
		set(s, v)
		js := base(s)
		js.seen |= 1 << bit
		if js.seen != all {
			return
		}
		o, ok := timed(st, struct{}{}, func(struct{}) (Out, bool) { return fire(s) })
		if ok {
			js.out = produceDerived(out, js.out, fam.fs.tmpl.names, fr.rec.inst.values, o, rl)
		}
	}, true)
	// An evicted input instance unbinds its reader; a state no input reader
	// holds is forgotten, so that idle eviction bounds the join's memory.
	// Both run in the join's goroutine, which alone uses states.
	sub.onDrop = func(fr *famReader[X]) {
		if s, ok := fr.target.(*S); ok {
			js := base(s)
			if js.refs--; js.refs == 0 {
				delete(states, js.key)
			}
		}
	}
}

// JoinFamily2 makes out a family derived from two families, matched on
// their captures: once the instances of both inputs with the same captures
// have each delivered a value, every new value of either calls f with the
// latest of both, and f's result goes to the instance of out with those
// captures when f reports true ("station.{id}.dew_point" from
// "station.{id}.temperature" and "station.{id}.humidity"). All three must
// capture the same names. One goroutine serves every instance.
func JoinFamily2[A, B, Out any](out *Family[Out], ka FamilyKey[A], kb FamilyKey[B], f func(A, B) (Out, bool), opts ...StageOption) {
	type state struct {
		joinState[Out]
		a A
		b B
	}
	t := &transform{join: true, stage: newStage(stageTransform, 0, opts),
		inputs: []string{ka.tmpl, kb.tmpl}, types: []reflect.Type{reflect.TypeFor[A](), reflect.TypeFor[B]()}}
	t.prepare = func(rs *runState) {
		fi := newFanIn(2)
		fi.busy = &rs.busy
		rs.pending = append(rs.pending, fi.queued)
		states := map[string]*state{}
		var rl rateLimit
		base := func(s *state) *joinState[Out] { return &s.joinState }
		fire := func(s *state) (Out, bool) { return f(s.a, s.b) }
		joinFamilyInput(fi, rs.db.famByTmpl[ka.tmpl].(*Family[A]), out, 0, 3, states, base, func(s *state, v A) { s.a = v }, fire, t.stage, &rl)
		joinFamilyInput(fi, rs.db.famByTmpl[kb.tmpl].(*Family[B]), out, 1, 3, states, base, func(s *state, v B) { s.b = v }, fire, t.stage, &rl)
		rs.queue(func() {
			rs.goStage(rs.stageCtx, &out.recordBase, t.stage, true, func(ctx context.Context) error {
				return runFanIn(ctx, fi, out.logger)
			})
		})
	}
	out.addTransform(t, f == nil)
}

// JoinFamily3 is JoinFamily2 for three families.
func JoinFamily3[A, B, C, Out any](out *Family[Out], ka FamilyKey[A], kb FamilyKey[B], kc FamilyKey[C], f func(A, B, C) (Out, bool), opts ...StageOption) {
	type state struct {
		joinState[Out]
		a A
		b B
		c C
	}
	t := &transform{join: true, stage: newStage(stageTransform, 0, opts),
		inputs: []string{ka.tmpl, kb.tmpl, kc.tmpl},
		types:  []reflect.Type{reflect.TypeFor[A](), reflect.TypeFor[B](), reflect.TypeFor[C]()}}
	t.prepare = func(rs *runState) {
		fi := newFanIn(3)
		fi.busy = &rs.busy
		rs.pending = append(rs.pending, fi.queued)
		states := map[string]*state{}
		var rl rateLimit
		base := func(s *state) *joinState[Out] { return &s.joinState }
		fire := func(s *state) (Out, bool) { return f(s.a, s.b, s.c) }
		joinFamilyInput(fi, rs.db.famByTmpl[ka.tmpl].(*Family[A]), out, 0, 7, states, base, func(s *state, v A) { s.a = v }, fire, t.stage, &rl)
		joinFamilyInput(fi, rs.db.famByTmpl[kb.tmpl].(*Family[B]), out, 1, 7, states, base, func(s *state, v B) { s.b = v }, fire, t.stage, &rl)
		joinFamilyInput(fi, rs.db.famByTmpl[kc.tmpl].(*Family[C]), out, 2, 7, states, base, func(s *state, v C) { s.c = v }, fire, t.stage, &rl)
		rs.queue(func() {
			rs.goStage(rs.stageCtx, &out.recordBase, t.stage, true, func(ctx context.Context) error {
				return runFanIn(ctx, fi, out.logger)
			})
		})
	}
	out.addTransform(t, f == nil)
}

// instanceView returns the transform as an instance of its family sees it:
// its inputs are the input instances with the same captures.
func (t *transform) instanceView(names, vals []string) *transform {
	v := &transform{types: t.types, join: t.join, stage: t.stage}
	for _, in := range t.inputs {
		if it, err := parseTemplate(in, '.', true); err == nil {
			v.inputs = append(v.inputs, it.fillNamed(names, vals))
		} else {
			v.inputs = append(v.inputs, in)
		}
	}
	return v
}
