package aimdb

import (
	"context"
	"errors"
	"maps"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Run validates the DB, starts every stage and blocks until ctx is done or,
// under the StopDB policy, a stage fails. It then shuts down gracefully:
// sources are stopped; records are closed in topological order once their
// writers have returned, so taps and transforms drain what is buffered;
// stage contexts are cancelled if draining takes longer than
// Options.ShutdownTimeout. Run returns only after every goroutine it
// started has returned.
//
// Run returns nil when ctx ended the run, a *StageError when a stage
// failed under StopDB, an *InvalidConfigError (before starting anything)
// when the configuration is invalid, and ErrStarted if Run was called
// before. A DB runs once: after an invalid configuration too. Done and
// Err report the end of the run to other goroutines.
func (db *DB) Run(ctx context.Context) (err error) {
	db.mu.Lock()
	if db.state != configuring {
		db.mu.Unlock()
		return ErrStarted
	}
	defer func() {
		db.runErr = err
		close(db.done)
	}()
	v := db.validateLocked()
	if err := v.err(); err != nil {
		db.state = stopped
		db.mu.Unlock()
		return err
	}
	db.state = running
	order := v.order
	snap := maps.Clone(db.index)
	db.byKey.Store(&snap)
	db.mu.Unlock()

	rs := newRunState(db, ctx)
	rs.startServices(order)
	for _, c := range order {
		c.restore(ctx, false)
	}
	for _, c := range order {
		c.prepare(rs)
	}
	rs.prepareLinks(order)
	for _, c := range order {
		c.restore(ctx, true)
	}
	for _, start := range rs.queued {
		start()
	}
	rs.queued = nil
	for _, c := range order {
		c.launchSources(rs)
	}
	db.run.Store(rs)
	close(db.started)
	db.opts.Logger.Info("aimdb: running", "records", len(order))

	select {
	case <-ctx.Done():
	case <-rs.failed:
	}
	rs.shutdown(order)

	db.mu.Lock()
	db.state = stopped
	db.mu.Unlock()
	db.opts.Logger.Info("aimdb: stopped")
	return rs.failure
}

// runState is what one Run owns: the stage contexts, the goroutines and
// the first fatal stage failure.
type runState struct {
	db   *DB
	opts *Options

	stageCtx     context.Context // taps and transforms; cancelled when draining times out
	cancelStages context.CancelFunc
	srcCtx       context.Context // sources; cancelled when shutdown starts
	stopSources  context.CancelFunc

	wg      sync.WaitGroup
	queued  []func()
	busy    atomic.Int64                    // consumer stages not waiting for a value (see DB.WaitIdle)
	pending []func() bool                   // the stages' readers: a value waits for them
	links   map[string]*linkManager         // by scheme
	marks   []func([]flushMark) []flushMark // the outbound pumps' progress (see DB.Flush)

	stopServices chan struct{} // closed once every record was closed at shutdown

	failOnce sync.Once
	failed   chan struct{}
	failure  error
}

func newRunState(db *DB, ctx context.Context) *runState {
	rs := &runState{db: db, opts: &db.opts, failed: make(chan struct{}), stopServices: make(chan struct{})}
	base := context.WithoutCancel(ctx) // stages outlive ctx while draining
	rs.stageCtx, rs.cancelStages = context.WithCancel(base)
	rs.srcCtx, rs.stopSources = context.WithCancel(rs.stageCtx)
	return rs
}

// startServices starts the distinct services of the records' persisters.
func (rs *runState) startServices(order []recordCore) {
	if !persistence {
		return
	}
	seen := map[Service]bool{}
	for _, c := range order {
		svc := c.base().service
		if svc == nil || seen[svc] {
			continue
		}
		seen[svc] = true
		rs.wg.Go(func() {
			if err := svc.Run(rs.stageCtx, rs.stopServices); err != nil && rs.stageCtx.Err() == nil {
				rs.db.opts.Logger.Error("aimdb: service failed", "err", err)
			}
		})
	}
}

// goConsumer runs f in a goroutine owned by rs that consumes values, like
// a tap: it counts as busy except while it waits for a value.
func (rs *runState) goConsumer(f func()) {
	rs.busy.Add(1)
	rs.wg.Go(func() {
		defer rs.busy.Add(-1)
		f()
	})
}

// queue adds a goroutine to start once every subscription is taken.
func (rs *runState) queue(start func()) { rs.queued = append(rs.queued, start) }

func (rs *runState) fail(err error) {
	rs.failOnce.Do(func() {
		rs.failure = err
		close(rs.failed)
	})
}

func (rs *runState) shutdown(order []recordCore) {
	rs.stopSources()
	if rs.opts.ShutdownTimeout < 0 {
		rs.cancelStages()
	} else {
		t := time.AfterFunc(rs.opts.ShutdownTimeout, func() {
			rs.db.opts.Logger.Warn("aimdb: shutdown timeout reached, cancelling stages",
				"timeout", rs.opts.ShutdownTimeout)
			rs.cancelStages()
		})
		defer t.Stop()
	}
	for _, c := range order {
		select {
		case <-c.base().writersDone:
		case <-rs.stageCtx.Done():
		}
		c.closeBuffer()
	}
	close(rs.stopServices)
	rs.wg.Wait()
	rs.cancelStages()
	if receipts {
		rs.reportUndelivered()
	}
}

// reportUndelivered logs, per connector, how many values queued since
// the last DB.Flush were not delivered: refused, failed to encode, or
// dropped (from a full queue while disconnected, or at the shutdown
// timeout). Each link's metadata counts them too.
func (rs *runState) reportUndelivered() {
	for scheme, m := range rs.links {
		if _, pending, failed := m.seal().settle(); pending+failed > 0 {
			rs.db.opts.Logger.Warn("aimdb: shutdown: values not delivered since the last Flush",
				"connector", scheme, "count", pending+failed)
		}
	}
}

// goStage runs a stage in a goroutine owned by rs, applying the failure
// policy. A writer stage counts towards its record's writers.
func (rs *runState) goStage(ctx context.Context, rec *recordBase, st *stage, writer bool, run func(context.Context) error) {
	consumer := st.kind != stageSource
	if consumer {
		rs.busy.Add(1)
	}
	rs.wg.Go(func() {
		if consumer {
			defer rs.busy.Add(-1)
		}
		if writer {
			defer rec.writerDone()
		}
		st.running.Store(true)
		defer st.running.Store(false)
		log := rec.logger().With("stage", st.label())
		backoff := rs.opts.RestartBackoff
		for {
			started := rs.opts.Clock.Now()
			err := callStage(ctx, run)
			if rs.normalEnd(ctx, err) {
				return
			}
			st.fail(err)
			serr := &StageError{Key: rec.key, Stage: st.label(), Err: err}
			if pe, ok := errors.AsType[*PanicError](err); ok {
				log.Error("aimdb: stage panicked", "err", err, "stack", string(pe.Stack))
			} else {
				log.Error("aimdb: stage failed", "err", err)
			}
			if ctx.Err() != nil {
				return
			}
			if rs.opts.OnStageError == StopDB {
				rs.fail(serr)
				return
			}
			if rs.opts.Clock.Now().Sub(started) > rs.opts.MaxRestartBackoff {
				backoff = rs.opts.RestartBackoff
			}
			log.Info("aimdb: restarting stage", "after", backoff)
			if rs.opts.Clock.Sleep(ctx, backoff) != nil {
				return
			}
			st.restarts.Add(1)
			backoff = min(2*backoff, rs.opts.MaxRestartBackoff)
		}
	})
}

// normalEnd reports whether a stage that returned err simply finished:
// it returned nil, or shutdown ended its context or closed its record.
func (rs *runState) normalEnd(ctx context.Context, err error) bool {
	if err == nil {
		return true
	}
	stopping := rs.srcCtx.Err() != nil
	return stopping && errors.Is(err, ErrClosed) || ctx.Err() != nil && errors.Is(err, ctx.Err())
}

// callStage calls run, turning a panic into a *PanicError.
func callStage(ctx context.Context, run func(context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return run(ctx)
}
