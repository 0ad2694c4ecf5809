package aimdb

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aimdb-go/aimdb/connector"
)

// Connection states of a link, as named in LinkMetadata.State.
const (
	LinkIdle         = "idle"         // the DB is not running
	LinkConnecting   = "connecting"   // dialling or subscribing
	LinkConnected    = "connected"    // the session is up
	LinkDisconnected = "disconnected" // waiting to dial again
	LinkStopped      = "stopped"      // the DB shut the link down
)

var stateNames = [...]string{LinkIdle, LinkConnecting, LinkConnected, LinkDisconnected, LinkStopped}

const (
	stIdle int32 = iota
	stConnecting
	stConnected
	stDisconnected
	stStopped
)

// An outMsg is one encoded value waiting to be published.
type outMsg struct {
	l       *link
	topic   string
	payload []byte
	pooled  bool        // payload is the manager's buffer (AppendEncoder): reused once the message is done
	ep      *flushEpoch // the epoch it was queued in, told when the message is done
	obid    uint64      // its id in the link's Outbox (DurableOutbox), or 0
}

// maxPooledPayload is the capacity above which a payload buffer is left
// to the garbage collector instead of being reused.
const maxPooledPayload = 64 << 10

// A linkManager owns one scheme's connector while the DB runs: it dials
// with backoff, subscribes the inbound links after every (re)connect, and
// publishes the outbound queue. Every link of the scheme shares its
// session, its state and its queue.
type linkManager struct {
	scheme string
	dialer connector.Dialer
	db     *DB
	log    *slog.Logger
	in     []*link

	state      atomic.Int32
	reconnects atomic.Uint64
	publishing atomic.Int32 // a Publish in progress (see DB.WaitIdle)
	lastErr    atomic.Pointer[string]

	quitCtx context.Context // cancelled once shutdown started and every pump returned
	quit    context.CancelFunc

	mu    sync.Mutex
	q     []outMsg // ring of len(q) slots
	head  int
	n     int
	pumps int           // outbound pumps running, plus one until shutdown starts
	space chan struct{} // closed when a slot frees up; nil when nobody waits
	items chan struct{} // wakes the publisher
	bufs  [][]byte      // payload buffers of finished messages, for the next AppendEncode
	cur   *flushEpoch   // the epoch messages are queued in now (see DB.Flush)
}

func newLinkManager(db *DB, rs *runState, scheme string) *linkManager {
	m := &linkManager{
		scheme: scheme,
		dialer: db.opts.Connectors[scheme],
		db:     db,
		log:    db.opts.Logger.With("connector", scheme),
		q:      make([]outMsg, db.opts.LinkQueueSize),
		pumps:  1,
		items:  make(chan struct{}, 1),
		cur:    &flushEpoch{},
	}
	m.quitCtx, m.quit = context.WithCancel(rs.stageCtx)
	return m
}

func (m *linkManager) addPump() {
	m.mu.Lock()
	m.pumps++
	m.mu.Unlock()
}

func (m *linkManager) pumpDone() {
	m.mu.Lock()
	m.pumps--
	if m.pumps == 0 {
		m.quit()
	}
	m.mu.Unlock()
}

func (m *linkManager) setState(s int32) {
	m.state.Store(s)
	if s != stConnected {
		// Pushers blocked on a full queue now drop the oldest instead.
		m.mu.Lock()
		m.wakePushersLocked()
		m.mu.Unlock()
	}
}

func (m *linkManager) setErr(err error) {
	s := err.Error()
	m.lastErr.Store(&s)
}

func (m *linkManager) wakePushersLocked() {
	if m.space != nil {
		close(m.space)
		m.space = nil
	}
}

// push queues msg. While connected it waits for room (the record's buffer
// absorbs bursts); otherwise a full queue drops its oldest message. It
// reports false when ctx ended first. When msg.pooled, it also returns a
// spare buffer (of a message already done) for the caller's next
// AppendEncode, or nil.
func (m *linkManager) push(ctx context.Context, msg outMsg) (spare []byte, ok bool) {
	m.mu.Lock()
	for m.n == len(m.q) || m.state.Load() == stStopped {
		if m.state.Load() == stStopped {
			// The manager gave up at the shutdown timeout.
			if receipts {
				m.cur.fail(1)
			}
			m.mu.Unlock()
			msg.l.dropped.Add(1)
			return nil, false
		}
		if m.state.Load() != stConnected {
			old := m.popLocked()
			old.l.dropped.Add(1)
			m.finish(old, false)
			m.recycleLocked(old)
			break
		}
		if m.space == nil {
			m.space = make(chan struct{})
		}
		ch := m.space
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			msg.l.dropped.Add(1)
			m.failed(1)
			return nil, false
		}
		m.mu.Lock()
	}
	if receipts {
		msg.ep = m.cur
		m.cur.queued()
	}
	m.q[(m.head+m.n)%len(m.q)] = msg
	m.n++
	if msg.pooled && len(m.bufs) > 0 {
		spare = m.bufs[len(m.bufs)-1]
		m.bufs[len(m.bufs)-1] = nil
		m.bufs = m.bufs[:len(m.bufs)-1]
	}
	m.mu.Unlock()
	select {
	case m.items <- struct{}{}:
	default:
	}
	return spare, true
}

// failed counts n values of the current epoch that were not delivered and
// never queued (they failed to encode, a lagging pump missed them, or
// the queue was shut).
func (m *linkManager) failed(n uint64) {
	if !receipts {
		return
	}
	m.mu.Lock()
	m.cur.fail(n)
	m.mu.Unlock()
}

// seal starts a new epoch and returns the one it ends (see DB.Flush).
func (m *linkManager) seal() *flushEpoch {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.cur
	m.cur = &flushEpoch{}
	m.cur.follow(e)
	return e
}

// recycleLocked keeps the payload buffer of a message that is done (sent,
// refused or dropped) for a later AppendEncode.
func (m *linkManager) recycleLocked(msg outMsg) {
	if msg.pooled && cap(msg.payload) <= maxPooledPayload && len(m.bufs) < len(m.q) {
		m.bufs = append(m.bufs, msg.payload[:0])
	}
}

// recycle is recycleLocked for a caller without m.mu.
func (m *linkManager) recycle(msg outMsg) {
	if msg.pooled {
		m.mu.Lock()
		m.recycleLocked(msg)
		m.mu.Unlock()
	}
}

func (m *linkManager) popLocked() outMsg {
	msg := m.q[m.head]
	m.q[m.head] = outMsg{}
	m.head = (m.head + 1) % len(m.q)
	m.n--
	m.wakePushersLocked()
	return msg
}

// requeue puts msg back at the head of the queue after a failed publish;
// if the queue filled up meanwhile, msg is the oldest and is dropped.
func (m *linkManager) requeue(msg outMsg) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n == len(m.q) {
		msg.l.dropped.Add(1)
		m.finish(msg, false)
		m.recycleLocked(msg)
		return
	}
	m.head = (m.head - 1 + len(m.q)) % len(m.q)
	m.q[m.head] = msg
	m.n++
}

func (m *linkManager) queued() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n
}

// finished reports whether shutdown started, every pump returned and the
// queue is empty: nothing is left to publish.
func (m *linkManager) finished() bool {
	return m.quitCtx.Err() != nil && m.queued() == 0
}

type nextStatus int

const (
	gotMsg nextStatus = iota
	sessionLost
	allDone
)

// next returns the next message to publish, waiting for one.
func (m *linkManager) next(ctx context.Context, lost <-chan struct{}) (outMsg, nextStatus) {
	for {
		m.mu.Lock()
		if m.n > 0 {
			msg := m.popLocked()
			m.publishing.Store(1) // cleared once published: never neither queued nor publishing
			m.mu.Unlock()
			return msg, gotMsg
		}
		m.mu.Unlock()
		select {
		case <-m.items:
		case <-lost:
			return outMsg{}, sessionLost
		case <-m.quitCtx.Done():
			if ctx.Err() != nil || m.queued() == 0 {
				return outMsg{}, allDone
			}
		}
	}
}

// run is the manager's goroutine. It returns once shutdown has flushed the
// queue, or when ctx (the stage context) is cancelled by the shutdown
// timeout; messages still queued then are counted as dropped.
func (m *linkManager) run(ctx context.Context) {
	defer m.stop()
	o := &m.db.opts
	backoff := o.ReconnectBackoff
	everConnected := false
	// The window of a Pipeliner session, kept across sessions. (A local,
	// not a field: a field's type metadata would reach every build, and
	// the Cortex-M3 test binary has no flash to spare.)
	var win *pipe
	for !m.finished() && ctx.Err() == nil {
		m.state.Store(stConnecting)
		sess, err := m.connect(ctx)
		if err != nil {
			if ctx.Err() != nil || m.finished() {
				return
			}
			m.setErr(err)
			m.setState(stDisconnected)
			d := jitter(backoff)
			m.log.Warn("aimdb: connector could not connect", "err", err, "retry_in", d)
			m.sleep(ctx, d)
			backoff = min(2*backoff, o.MaxReconnectBackoff)
			continue
		}
		if everConnected {
			m.reconnects.Add(1)
		}
		everConnected = true
		m.setState(stConnected)
		m.log.Info("aimdb: connector connected")
		since := o.Clock.Now()
		var done bool
		done, win = m.serve(ctx, sess, win)
		m.setState(stDisconnected)
		if err := sess.Close(); err != nil && !done {
			m.log.Debug("aimdb: connector session close", "err", err)
		}
		m.settle(ctx, sess, win)
		if done {
			return
		}
		m.log.Warn("aimdb: connector connection lost; reconnecting")
		if o.Clock.Now().Sub(since) > o.MaxReconnectBackoff {
			backoff = o.ReconnectBackoff
		}
		m.sleep(ctx, jitter(backoff))
		backoff = min(2*backoff, o.MaxReconnectBackoff)
	}
}

// sleep waits d on the DB clock. It wakes early at shutdown if nothing is
// queued, so an unreachable peer does not hold shutdown up.
func (m *linkManager) sleep(ctx context.Context, d time.Duration) {
	sctx := m.quitCtx
	if sctx.Err() != nil {
		sctx = ctx
	}
	_ = m.db.opts.Clock.Sleep(sctx, d)
}

// jitter returns a duration in [d/2, d].
func jitter(d time.Duration) time.Duration {
	if d < 2 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

func (m *linkManager) connect(ctx context.Context) (connector.Session, error) {
	dctx := ctx
	if m.queued() == 0 {
		dctx = m.quitCtx
	}
	sess, err := m.dialer.Dial(dctx)
	if err != nil {
		return nil, err
	}
	for _, l := range m.in {
		if err := sess.Subscribe(dctx, l.conn, l.receive); err != nil {
			_ = sess.Close()
			return nil, errors.New("subscribe " + l.display + ": " + err.Error())
		}
	}
	return sess, nil
}

// serve publishes queued messages on sess until it is lost (false) or
// everything is flushed at shutdown (true). A connector.Pipeliner session
// gets up to its window of messages in flight (servePipelined), in win
// or a new pipe, which serve returns.
func (m *linkManager) serve(ctx context.Context, sess connector.Session, win *pipe) (bool, *pipe) {
	if pl, ok := sess.(connector.Pipeliner); ok {
		win = newPipe(win, pl.PublishWindow())
		return m.servePipelined(ctx, sess, pl, win), win
	}
	for {
		msg, st := m.next(ctx, sess.Done())
		switch st {
		case sessionLost:
			return false, win
		case allDone:
			return true, win
		}
		pub := connector.Message{Link: msg.l.conn, Topic: msg.topic, Payload: msg.payload}
		err := sess.Publish(ctx, &pub)
		m.publishing.Store(0)
		switch m.outcome(ctx, sess, msg, err) {
		case sessionLost:
			return false, win
		case allDone:
			return true, win
		}
	}
}

// outcome accounts for the result of publishing msg: published, dropped
// at the shutdown timeout (allDone), requeued because the session was
// lost (sessionLost), or refused by the connector.
func (m *linkManager) outcome(ctx context.Context, sess connector.Session, msg outMsg, err error) nextStatus {
	if err == nil {
		msg.l.published.Add(1)
		m.finish(msg, true)
		m.recycle(msg)
		return gotMsg
	}
	if ctx.Err() != nil {
		msg.l.dropped.Add(1)
		abandon(msg)
		m.recycle(msg)
		return allDone
	}
	if errors.Is(err, connector.ErrNotConnected) || closed(sess.Done()) {
		m.setErr(err)
		m.requeue(msg)
		return sessionLost
	}
	msg.l.publishErrs.Add(1)
	m.finish(msg, false)
	m.recycle(msg)
	msg.l.warn(msg.l.rec.logger(), "aimdb: publish failed; message dropped", "link", msg.l.display, "topic", msg.topic, "err", err)
	return gotMsg
}

// stop marks the links stopped and counts what is left in the queue as
// dropped.
func (m *linkManager) stop() {
	m.mu.Lock()
	m.state.Store(stStopped)
	left := m.n
	for m.n > 0 {
		msg := m.popLocked()
		msg.l.dropped.Add(1)
		abandon(msg)
	}
	m.bufs = nil
	m.mu.Unlock()
	if left > 0 {
		m.log.Warn("aimdb: shutdown timeout: queued messages dropped", "dropped", left)
	}
}

// stopInbound ends the inbound links at shutdown: later messages are
// ignored, and each link stops counting as a writer of its record.
func (m *linkManager) stopInbound() {
	for _, l := range m.in {
		l.stopMu.Lock()
		l.stopped = true
		l.stopMu.Unlock()
		l.rec.writerDone()
	}
}

// receive is the deliver function inbound links subscribe with.
func (l *link) receive(msg *connector.Message) {
	l.stopMu.RLock()
	defer l.stopMu.RUnlock()
	if l.stopped {
		msg.Refused = true
		return
	}
	l.deliver(msg)
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// startLinks creates one manager per scheme in use, prepares the outbound
// pumps, and queues the managers' goroutines. Run calls it after every
// record was prepared.
func (rs *runState) prepareLinks(order []recordCore) {
	rs.links = map[string]*linkManager{}
	var schemes []string
	get := func(s string) *linkManager {
		m, ok := rs.links[s]
		if !ok {
			m = newLinkManager(rs.db, rs, s)
			rs.links[s] = m
			schemes = append(schemes, s)
		}
		return m
	}
	for _, c := range order {
		b := c.base()
		for _, l := range b.linksIn {
			m := get(l.scheme)
			m.in = append(m.in, l)
			l.mgr.Store(m)
		}
		for _, l := range b.linksOut {
			m := get(l.scheme)
			l.mgr.Store(m)
			l.prepare(rs, m)
		}
	}
	for _, s := range schemes {
		m := rs.links[s]
		rs.queue(func() {
			rs.wg.Go(func() { m.run(rs.stageCtx) })
			rs.wg.Go(func() {
				<-rs.srcCtx.Done()
				m.stopInbound()
				m.pumpDone()
			})
		})
	}
}

// LinkMetadata describes one link of a record: its connection state and
// counters. Credentials never appear in it.
type LinkMetadata struct {
	Direction    string `json:"direction"` // "in" (LinkFrom) or "out" (LinkTo)
	Protocol     string `json:"protocol"`  // the URL scheme
	Address      string `json:"address"`   // the link URL without userinfo
	State        string `json:"state"`     // idle, connecting, connected, disconnected or stopped
	Connected    bool   `json:"connected"`
	Reconnects   uint64 `json:"reconnects"`           // successful connections after the first
	Published    uint64 `json:"published"`            // out: messages the connector took
	Received     uint64 `json:"received"`             // in: messages delivered by the connector
	Lost         uint64 `json:"lost,omitempty"`       // in: values the peer sent that never arrived (gaps in its sequence numbers)
	DecodeErrors uint64 `json:"decode_errors"`        // in: payloads that failed to decode, not stored
	Dropped      uint64 `json:"dropped"`              // out: messages dropped by the offline queue, a lag or shutdown
	EncodeErrors uint64 `json:"encode_errors"`        // out: values that failed to encode
	PublishErrs  uint64 `json:"publish_errors"`       // out: messages the connector refused
	Queued       int    `json:"queued"`               // out: messages waiting in the scheme's queue (shared)
	LastError    string `json:"last_error,omitempty"` // the connector's last connection error
}

func (l *link) metadata() LinkMetadata {
	md := LinkMetadata{
		Direction:    "out",
		Protocol:     l.scheme,
		Address:      l.display,
		State:        LinkIdle,
		Published:    l.published.Load(),
		Received:     l.received.Load(),
		Lost:         l.lost.Load(),
		DecodeErrors: l.decodeErrors.Load(),
		Dropped:      l.dropped.Load(),
		EncodeErrors: l.encodeErrors.Load(),
		PublishErrs:  l.publishErrs.Load(),
	}
	if l.inbound {
		md.Direction = "in"
	}
	m := l.mgr.Load()
	if m == nil && l.parent != nil {
		m = l.parent.mgr.Load()
	}
	if m != nil {
		s := m.state.Load()
		md.State = stateNames[s]
		md.Connected = s == stConnected
		md.Reconnects = m.reconnects.Load()
		if !l.inbound {
			md.Queued = m.queued()
		}
		if e := m.lastErr.Load(); e != nil {
			md.LastError = *e
		}
	}
	return md
}
