package aimx

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"

	"github.com/aimdb-go/aimdb"
)

// session is one served connection. Its reader goroutine handles frames
// in order, requests to completion; its writer goroutine writes replies
// and events. Each subscription runs pumps that feed the writer.
type session struct {
	srv  *Server
	conn FrameConn
	d    Dialect

	replies chan []byte // never dropped
	events  chan []byte // dropped when full; seq still advances

	authed bool      // the token was presented (or none is required)
	slot   *connSlot // the connection's place under the server's caps

	mu      sync.Mutex
	subs    map[string]*subscription
	cursors map[string]*aimdb.RemoteSubscription // record.drain cursors
	wg      sync.WaitGroup
	closing bool   // run is waiting for wg: no more goroutines
	growing int    // subscriptions that grow with new records
	unwatch func() // cancels the DB.WatchRecords watcher, while growing > 0
}

func newSession(s *Server, c FrameConn, d Dialect) *session {
	return &session{
		srv: s, conn: c, d: d,
		replies: make(chan []byte, 16),
		events:  make(chan []byte, s.opts.EventQueue),
		authed:  s.opts.Token == "" || d.Authenticated,
		subs:    map[string]*subscription{},
		cursors: map[string]*aimdb.RemoteSubscription{},
	}
}

func (ss *session) run(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent)
	stop := context.AfterFunc(ctx, func() { ss.conn.Close() })
	writerDone := make(chan error, 1)
	go func() { writerDone <- ss.writer(ctx) }()

	err := ss.reader(ctx)
	cancel()
	stop()
	ss.conn.Close()
	ss.mu.Lock()
	ss.closing = true
	if ss.unwatch != nil {
		ss.unwatch()
		ss.unwatch = nil
	}
	for _, sub := range ss.subs {
		sub.cancel()
	}
	ss.mu.Unlock()
	ss.wg.Wait()
	for _, c := range ss.cursors {
		c.Close()
	}
	werr := <-writerDone
	if errors.Is(err, errPeerGone) || parent.Err() != nil {
		err = nil
	}
	if err == nil && werr != nil && !errors.Is(werr, context.Canceled) {
		err = werr
	}
	return err
}

var errPeerGone = errors.New("aimx: peer closed the connection")

func (ss *session) reader(ctx context.Context) error {
	for {
		b, err := ss.conn.ReadFrame()
		if err != nil {
			if errors.Is(err, ErrFrameTooLarge) {
				ss.srv.stats.oversize.Add(1)
				ss.srv.warn("closing connection: frame too large", "remote", ss.slot.remote, "err", err)
				return err
			}
			if why := ss.srv.whyClosed(ss.slot); why != nil {
				return why // HelloTimeout, or room for a new connection
			}
			return errPeerGone
		}
		f, err := ParseFrame(b)
		if err != nil {
			ss.srv.stats.malformed.Add(1)
			ss.srv.log.Debug("skipping malformed frame", "err", err)
			continue
		}
		if err := ss.handle(ctx, &f); err != nil {
			return err
		}
	}
}

func (ss *session) writer(ctx context.Context) error {
	for {
		var b []byte
		select {
		case b = <-ss.replies:
		case b = <-ss.events:
			ss.srv.stats.events.Add(1)
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := ss.conn.WriteFrame(b); err != nil {
			ss.conn.Close()
			return err
		}
	}
}

// send queues a reply. It blocks while the writer is behind.
func (ss *session) send(ctx context.Context, f *Frame) error {
	return ss.sendOn(ctx, ss.replies, f)
}

// sendOn queues a frame that must not be lost on ch: replies go on
// ss.replies, subscription frames (acks, snapshots) on ss.events, so
// that they stay in order with the subscription's events.
func (ss *session) sendOn(ctx context.Context, ch chan []byte, f *Frame) error {
	b, err := f.AppendJSON(nil)
	if err != nil {
		return err
	}
	select {
	case ch <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (ss *session) reply(ctx context.Context, id uint64, ok any) error {
	var raw json.RawMessage
	switch v := ok.(type) {
	case json.RawMessage:
		raw = v
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return ss.replyErr(ctx, id, CodeInternal)
		}
		raw = b
	}
	return ss.send(ctx, &Frame{T: TagReply, ID: id, OK: raw})
}

func (ss *session) replyErr(ctx context.Context, id uint64, code string) error {
	ss.srv.stats.errorReplies.Add(1)
	return ss.send(ctx, &Frame{T: TagReply, ID: id, Err: code})
}

func (ss *session) handle(ctx context.Context, f *Frame) error {
	if ss.srv.opts.Token == "" {
		// With no token to present, a valid frame authenticates.
		if err := ss.srv.promote(ss.slot); err != nil {
			return err
		}
	}
	if !ss.authed {
		switch {
		case f.T == TagPing:
		case f.T == TagReq && f.Method == "hello":
		case f.T == TagReq || f.T == TagSub:
			return ss.replyErr(ctx, f.ID, CodeDenied)
		default:
			return nil // write, unsub: no reply, ever
		}
	}
	switch f.T {
	case TagReq:
		ss.srv.stats.requests.Add(1)
		return ss.request(ctx, f)
	case TagSub:
		return ss.subscribe(ctx, f)
	case TagUnsub:
		ss.unsubscribe(f.Sub)
	case TagWrite:
		ss.write(f)
	case TagPing:
		return ss.send(ctx, &Frame{T: TagPong})
	}
	return nil // frames a server does not act on are skipped
}

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
		if err := ss.sendOn(ctx, ss.events, &Frame{T: TagSubscribed, Sub: id}); err != nil {
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
		if err := sub.ss.sendOn(ctx, sub.ss.events, &snaps[i]); err != nil {
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
		b, err := f.AppendJSON(nil)
		if err != nil {
			sub.ss.srv.log.Warn("subscription: skipping a value", "record", key, "err", err)
		} else {
			select {
			case sub.ss.events <- b:
			default:
				// Dropped: the client sees the gap in seq.
				sub.ss.srv.stats.eventsDropped.Add(1)
			}
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

// write handles a write frame: never answered, errors only logged.
func (ss *session) write(f *Frame) {
	payload := f.Payload
	var wrapped struct {
		Value json.RawMessage `json:"value"`
	}
	if json.Unmarshal(payload, &wrapped) == nil && len(wrapped.Value) > 0 {
		payload = wrapped.Value
	}
	if code := ss.set(f.Topic, payload); code != "" {
		ss.srv.log.Debug("write refused", "record", f.Topic, "err", code)
	}
}

// set writes a record on behalf of the client and returns an error code,
// or "" on success: setValue's code.
func (ss *session) set(key string, value json.RawMessage) string {
	return ss.setValue(key, value).code
}

// errCode maps a DB error to an AimX error code.
func errCode(err error) string {
	switch {
	case errors.Is(err, aimdb.ErrUnknownKey), errors.Is(err, aimdb.ErrNoValue):
		return CodeNotFound
	case errors.Is(err, aimdb.ErrHasWriter):
		return CodeDenied
	default:
		return CodeInternal
	}
}
