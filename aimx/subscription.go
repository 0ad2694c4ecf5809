package aimx

import (
	"context"
	"errors"
	"strconv"
	"sync"

	"github.com/aimdb-go/aimdb"
)

// A subscription is one sub: one pump per matched record, one seq.
type subscription struct {
	ss       *session
	id       string
	pattern  string
	wildcard bool
	grows    bool // serves the records the DB adds that match (discover.go)
	ctx      context.Context
	cancel   context.CancelFunc

	mu  sync.Mutex // orders seq and queueing across the pumps
	seq uint64

	// Of a growing subscription. The watcher takes dmu, never mu,
	// which is held while the snapshot waits for the writer.
	dmu     sync.Mutex
	recs    map[string]*served
	started bool
	pending []pending
}

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
	sub := &subscription{ss: ss, id: id, pattern: f.Topic, wildcard: wildcard, ctx: subCtx, cancel: cancel}
	if wildcard && ss.grows(f.Topic) {
		// Watch before listing the keys, so that no record added
		// meanwhile is missed; claim sorts out the ones seen twice.
		sub.grows = true
		sub.recs = map[string]*served{}
		ss.mu.Lock()
		ss.subs[id] = sub
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

	// Take every subscription before the snapshot, so that nothing
	// produced after the snapshot is missed.
	streams := make([]*aimdb.RemoteSubscription, 0, len(recs))
	kept := recs[:0]
	for _, r := range recs {
		subscribe := r.Subscribe
		if wildcard {
			subscribe = r.SubscribeLatest // its first value is the snapshot
		}
		st, err := subscribe()
		if err != nil {
			continue
		}
		if sub.grows && !sub.claim(r.Key(), r.Metadata().RecordID) {
			st.Close() // the watcher serves it
			continue
		}
		streams = append(streams, st)
		kept = append(kept, r)
	}
	recs = kept
	ss.mu.Lock()
	ss.subs[id] = sub
	ss.mu.Unlock()
	ss.srv.stats.subscriptions.Add(1)
	fail := func(err error) error {
		cancel()
		closeAll(streams)
		if sub.grows {
			sub.abandon()
		}
		ss.dropSub(id, sub)
		return err
	}
	if ss.d.AckSubscribe {
		if err := ss.queue(ctx, &Frame{T: TagSubscribed, Sub: id}, true); err != nil {
			return fail(err)
		}
	}
	if wildcard {
		if err := sub.snapshot(ctx, recs, streams); err != nil {
			return fail(err)
		}
	}
	if sub.grows {
		// It ends when unsubscribed or when the session ends, not when
		// its records do: others may appear.
		for i, st := range streams {
			ss.wg.Go(func() { sub.pump(subCtx, recs[i].Key(), st) })
		}
		sub.start()
		return nil
	}
	var pumps sync.WaitGroup
	for i, st := range streams {
		pumps.Add(1)
		ss.wg.Go(func() {
			defer pumps.Done()
			sub.pump(subCtx, recs[i].Key(), st)
		})
	}
	// When every pump has ended (records closed, or no match at all) the
	// subscription is over and its id may be used again.
	ss.wg.Go(func() {
		pumps.Wait()
		cancel()
		ss.dropSub(id, sub)
	})
	return nil
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

func closeAll(streams []*aimdb.RemoteSubscription) {
	for _, st := range streams {
		st.Close()
	}
}

// snapshot sends one snap per matched record that holds a value, seq
// 1..N, the last one flagged. Each snapshot is the first value of the
// record's subscription (SubscribeLatest), so that nothing produced
// meanwhile is missed or sent twice.
func (sub *subscription) snapshot(ctx context.Context, recs []*aimdb.RemoteRecord, streams []*aimdb.RemoteSubscription) error {
	var snaps []Frame
	for i, r := range recs {
		data, _, err := streams[i].TryRecv()
		if err != nil {
			continue
		}
		snaps = append(snaps, Frame{T: TagSnap, Topic: r.Key(), Sub: sub.id, Data: data})
	}
	sub.mu.Lock()
	defer sub.mu.Unlock()
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

// pump sends the values of st as events until ctx ends or the record
// closes, then closes st. A growing subscription continues with a new
// instance under the same key.
func (sub *subscription) pump(ctx context.Context, key string, st *aimdb.RemoteSubscription) {
	defer func() { st.Close() }()
	f := Frame{T: TagEvent, Sub: sub.id}
	var buf []byte // the queue copies each event
	if sub.wildcard {
		f.Topic = key
	}
	for {
		data, missed, err := st.Recv(ctx)
		if err != nil {
			if errors.Is(err, aimdb.ErrClosed) || ctx.Err() != nil {
				if next := sub.ended(ctx, key, err); next != nil {
					st.Close()
					st = next
					continue
				}
				return
			}
			sub.ss.srv.log.Warn("subscription: skipping a value", "record", key, "err", err)
			continue
		}
		f.Data = data
		sub.mu.Lock()
		if ctx.Err() != nil { // unsubscribed while the value was taken
			sub.mu.Unlock()
			sub.ended(ctx, key, ctx.Err())
			return
		}
		sub.seq += missed + 1
		f.Seq = sub.seq
		b, err := f.AppendJSON(buf[:0])
		if cap(b) <= keepBuf {
			buf = b[:0]
		}
		if err != nil {
			sub.ss.srv.log.Warn("subscription: skipping a value", "record", key, "err", err)
		} else if !sub.ss.out.pushEvent(b) {
			// Dropped: the client sees the gap in seq.
			sub.ss.srv.stats.eventsDropped.Add(1)
		}
		sub.mu.Unlock()
	}
}

func (ss *session) unsubscribe(id string) {
	ss.mu.Lock()
	sub := ss.subs[id]
	ss.mu.Unlock()
	if sub != nil {
		ss.dropSub(id, sub)
		sub.cancel()
	}
}
