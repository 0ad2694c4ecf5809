package aimx

import (
	"context"
	"errors"
	"strconv"
	"sync"

	"github.com/aimdb-go/aimdb"
)

// A subscription is one sub. One goroutine serves it, whatever the
// number of records it matches: the stream of each record notifies the
// subscription when it may hold values (RemoteSubscription.Notify), and
// the goroutine drains the ready streams into the session's queue,
// numbering what it sends with the subscription's one seq.
type subscription struct {
	ss       *session
	id       string
	pattern  string
	wildcard bool
	grows    bool // serves the records the DB adds that match (discover.go)
	ctx      context.Context
	cancel   context.CancelFunc

	seq uint64 // the snapshot's, then the goroutine's
	ev  Frame  // the goroutine's event frame
	buf []byte // the goroutine's encoding buffer

	bell chan struct{} // capacity 1: a stream became ready
	done chan struct{} // closed when the goroutine ended

	// mu guards the fields below. Notify functions (in producing
	// goroutines) and the watcher take it. It is never held while
	// calling a stream: a notify function may run under the lock of the
	// stream's buffer.
	mu     sync.Mutex
	ready  []*stream // ready[head:] may hold values, each at most once
	head   int
	recs   map[string]*served // the records served, by key
	closed bool               // the goroutine ended: records added later are closed at once
}

// A stream is one record's RemoteSubscription within a subscription.
type stream struct {
	sub    *subscription
	key    string
	st     *aimdb.RemoteSubscription
	queued bool // in sub.ready; guarded by sub.mu
}

// served is a record a subscription serves under its key. Each counts
// once against the session's MaxSubscribedRecords.
type served struct {
	id   uint32 // RecordID: a new instance under the same key has another
	cur  *stream
	next *stream // a new instance under the key, served once cur ended
}

// drainBatch is how many values the goroutine takes from one stream
// before it turns to the next ready one.
const drainBatch = 64

func (ss *session) subscribe(ctx context.Context, f *Frame) error {
	id := strconv.FormatUint(f.ID, 10)
	if !ss.readable(f.Topic) {
		return ss.replyErr(ctx, f.ID, CodeDenied)
	}
	ss.mu.Lock()
	_, live := ss.subs[id]
	n := len(ss.subs)
	ss.mu.Unlock()
	if live || n >= ss.srv.opts.MaxSubscriptions {
		return ss.replyErr(ctx, f.ID, CodeDenied)
	}

	wildcard := IsWildcard(f.Topic)
	subCtx, cancel := context.WithCancel(ctx)
	sub := &subscription{
		ss: ss, id: id, pattern: f.Topic, wildcard: wildcard, ctx: subCtx, cancel: cancel,
		ev:   Frame{T: TagEvent, Sub: id},
		bell: make(chan struct{}, 1),
		done: make(chan struct{}),
		recs: map[string]*served{},
	}
	if wildcard && ss.grows(f.Topic) {
		// Watch before listing the keys, so that no record added
		// meanwhile is missed; claim sorts out the ones seen twice.
		sub.grows = true
		ss.addSub(sub)
		ss.mu.Lock()
		ss.watch()
		ss.mu.Unlock()
	}
	var recs []*aimdb.RemoteRecord
	if wildcard {
		for _, k := range ss.srv.db.Keys() {
			if !MatchTopic(f.Topic, k) {
				continue
			}
			if r, err := ss.srv.db.Remote(k); err == nil {
				recs = append(recs, r)
			}
		}
		if len(recs) == 0 && !sub.grows {
			cancel()
			// AimDB accepts such a sub and never sends anything; a
			// refusal ends the client's wait (a conforming client ends a
			// subscription on an error reply with its id).
			return ss.replyErr(ctx, f.ID, CodeNotFound)
		}
	} else {
		r, err := ss.srv.db.Remote(f.Topic)
		if err != nil {
			cancel()
			return ss.replyErr(ctx, f.ID, errCode(err))
		}
		recs = append(recs, r)
	}
	if !ss.reserve(len(recs)) {
		ss.srv.stats.recordsOverCap.Add(uint64(len(recs)))
		ss.srv.log.Debug("sub refused: MaxSubscribedRecords reached", "pattern", f.Topic,
			"records", len(recs), "max", ss.srv.opts.MaxSubscribedRecords)
		sub.finish()
		return ss.replyErr(ctx, f.ID, CodeDenied)
	}

	// Take every stream before the snapshot, so that nothing produced
	// after the snapshot is missed.
	streams := make([]*stream, 0, len(recs))
	for _, r := range recs {
		subscribe := r.Subscribe
		if wildcard {
			subscribe = r.SubscribeLatest // its first value is the snapshot
		}
		st, err := subscribe()
		if err != nil {
			continue
		}
		var rid uint32
		if sub.grows {
			rid = r.Metadata().RecordID
		}
		s := sub.newStream(r.Key(), st)
		if !sub.claim(r.Key(), rid, s) {
			st.Close() // the watcher serves it
			continue
		}
		streams = append(streams, s)
	}
	ss.release(len(recs) - len(streams))
	if !sub.grows {
		ss.addSub(sub)
	}
	if ss.d.AckSubscribe {
		if err := ss.queue(ctx, &Frame{T: TagSubscribed, Sub: id}, true); err != nil {
			sub.finish()
			return err
		}
	}
	if wildcard {
		if err := sub.snapshot(ctx, streams); err != nil {
			sub.finish()
			return err
		}
	}
	// A growing subscription ends when unsubscribed or when the session
	// ends, not when its records do: others may appear. Another ends
	// when its last record closed, and its id may be used again.
	ss.wg.Go(sub.serve)
	return nil
}

// addSub registers sub under its id.
func (ss *session) addSub(sub *subscription) {
	ss.mu.Lock()
	ss.subs[sub.id] = sub
	ss.mu.Unlock()
	ss.srv.stats.subscriptions.Add(1)
}

// dropSub forgets sub under id, unless id names another subscription
// by now.
func (ss *session) dropSub(id string, sub *subscription) {
	ss.mu.Lock()
	gone := ss.subs[id] == sub
	if gone {
		delete(ss.subs, id)
		if sub.grows {
			ss.unwatchOne()
		}
	}
	ss.mu.Unlock()
	if gone {
		ss.srv.stats.subscriptions.Add(-1)
	}
}

// reserve counts n more records served by the session's subscriptions;
// it reports false, counting nothing, when they would exceed
// MaxSubscribedRecords.
func (ss *session) reserve(n int) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.subRecords+n > ss.srv.opts.MaxSubscribedRecords {
		return false
	}
	ss.subRecords += n
	return true
}

// release uncounts n records reserved.
func (ss *session) release(n int) {
	if n == 0 {
		return
	}
	ss.mu.Lock()
	ss.subRecords -= n
	ss.mu.Unlock()
}

// unsubscribe ends the subscription id. It returns once its goroutine
// ended, so that a sub after it finds the records released.
func (ss *session) unsubscribe(id string) {
	ss.mu.Lock()
	sub := ss.subs[id]
	ss.mu.Unlock()
	if sub != nil {
		ss.dropSub(id, sub)
		sub.cancel()
		<-sub.done
	}
}

// newStream makes st a stream of sub, notifying it. It must be called
// before st is received from.
func (sub *subscription) newStream(key string, st *aimdb.RemoteSubscription) *stream {
	s := &stream{sub: sub, key: key, st: st}
	st.Notify(s.notify)
	return s
}

// notify queues s, once, and wakes the goroutine. It is the notify
// function of s's RemoteSubscription: it runs in producing goroutines and
// never blocks.
func (s *stream) notify() {
	sub := s.sub
	sub.mu.Lock()
	sub.queueLocked(s)
	sub.mu.Unlock()
	sub.wake()
}

// wake wakes the goroutine, without blocking.
func (sub *subscription) wake() {
	select {
	case sub.bell <- struct{}{}:
	default:
	}
}

// queueLocked queues s unless it is queued; sub.mu is held.
func (sub *subscription) queueLocked(s *stream) {
	if !s.queued && !sub.closed {
		s.queued = true
		sub.ready = append(sub.ready, s)
	}
}

// claim records that the subscription serves s under key; it reports
// false when it serves that key already (the watcher got there first).
// s is queued, so that its first receive arms it.
func (sub *subscription) claim(key string, id uint32, s *stream) bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if _, ok := sub.recs[key]; ok || sub.closed {
		return false
	}
	sub.recs[key] = &served{id: id, cur: s}
	sub.queueLocked(s)
	return true
}

// snapshot sends one snap per stream whose record holds a value, seq
// 1..N, the last one flagged. Each snapshot is the first value of the
// record's stream (SubscribeLatest), so that nothing produced meanwhile
// is missed or sent twice. It runs before the goroutine starts.
func (sub *subscription) snapshot(ctx context.Context, streams []*stream) error {
	var snaps []Frame
	for _, s := range streams {
		data, _, err := s.st.TryRecv()
		if err != nil {
			continue
		}
		snaps = append(snaps, Frame{T: TagSnap, Topic: s.key, Sub: sub.id, Data: data})
	}
	for i := range snaps {
		sub.seq++
		snaps[i].Seq = sub.seq
		snaps[i].Last = i == len(snaps)-1
		if err := sub.ss.queue(ctx, &snaps[i], true); err != nil {
			return err
		}
	}
	return nil
}

// serve is the subscription's goroutine: it drains the ready streams
// until the subscription is cancelled or, unless it grows, its last
// record closed.
func (sub *subscription) serve() {
	defer close(sub.done)
	defer sub.finish()
	for {
		s, more := sub.pop()
		if s == nil {
			if !more {
				return
			}
			select {
			case <-sub.bell:
				continue
			case <-sub.ctx.Done():
				return
			}
		}
		if sub.ctx.Err() != nil {
			return
		}
		sub.drain(s)
	}
}

// pop returns the next ready stream, or nil and whether the
// subscription may still receive.
func (sub *subscription) pop() (*stream, bool) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.head == len(sub.ready) {
		sub.ready, sub.head = sub.ready[:0], 0
		return nil, sub.grows || len(sub.recs) > 0
	}
	s := sub.ready[sub.head]
	sub.ready[sub.head] = nil
	sub.head++
	if sub.head >= 64 && 2*sub.head >= len(sub.ready) {
		// Never empty for long: move the pending ones to the front.
		n := copy(sub.ready, sub.ready[sub.head:])
		clear(sub.ready[n:])
		sub.ready, sub.head = sub.ready[:n], 0
	}
	s.queued = false
	return s, true
}

// drain sends the values of s as events, at most drainBatch, and
// queues s again if it may hold more.
func (sub *subscription) drain(s *stream) {
	for range drainBatch {
		data, missed, err := s.st.TryRecv()
		switch {
		case err == nil:
			sub.event(s.key, data, missed)
		case errors.Is(err, aimdb.ErrEmpty):
			return // armed: the next value notifies
		case errors.Is(err, aimdb.ErrClosed):
			sub.ended(s)
			return
		default:
			sub.ss.srv.log.Warn("subscription: skipping a value", "record", s.key, "err", err)
		}
	}
	sub.mu.Lock()
	sub.queueLocked(s)
	sub.mu.Unlock()
}

// event queues one value as an event. A value the queue has no room for
// is dropped and counted; its seq is skipped, so the client sees the gap.
func (sub *subscription) event(key string, data []byte, missed uint64) {
	sub.seq += missed + 1
	f := &sub.ev
	f.Seq, f.Data = sub.seq, data
	if sub.wildcard {
		f.Topic = key
	}
	b, err := f.AppendJSON(sub.buf[:0])
	if cap(b) <= keepBuf {
		sub.buf = b[:0]
	}
	if err != nil {
		sub.ss.srv.log.Warn("subscription: skipping a value", "record", key, "err", err)
		return
	}
	if !sub.ss.out.pushEvent(b) {
		sub.ss.srv.stats.eventsDropped.Add(1)
	}
}

// ended is called when the stream s closed: its record was closed, or
// evicted. A growing subscription continues with a new instance under the
// same key if the watcher found one.
func (sub *subscription) ended(s *stream) {
	release := false
	var next *aimdb.RemoteSubscription
	sub.mu.Lock()
	if r := sub.recs[s.key]; r != nil && r.cur == s {
		if r.next != nil && sub.ctx.Err() == nil {
			r.cur, r.next = r.next, nil
			sub.queueLocked(r.cur)
		} else {
			if r.next != nil {
				next = r.next.st
			}
			delete(sub.recs, s.key)
			release = true
		}
	}
	sub.mu.Unlock()
	s.st.Close()
	if next != nil {
		next.Close()
	}
	if release {
		sub.ss.release(1)
	}
}

// finish ends the subscription: it closes every stream, releases its
// records and forgets it. It runs once, when the goroutine ends or when
// the subscription fails before its goroutine started.
func (sub *subscription) finish() {
	sub.cancel()
	sub.mu.Lock()
	sub.closed = true
	var sts []*aimdb.RemoteSubscription
	for _, r := range sub.recs {
		sts = append(sts, r.cur.st)
		if r.next != nil {
			sts = append(sts, r.next.st)
		}
	}
	n := len(sub.recs)
	sub.recs = map[string]*served{}
	sub.ready, sub.head = nil, 0
	sub.mu.Unlock()
	for _, st := range sts {
		st.Close()
	}
	sub.ss.release(n)
	sub.ss.dropSub(sub.id, sub)
}
