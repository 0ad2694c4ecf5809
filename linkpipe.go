package aimdb

import (
	"context"
	"errors"

	"github.com/aimdb-go/aimdb/connector"
)

// A pipe is the window of messages a connector.Pipeliner session has in
// flight, oldest first: ring[head], …, ring[head+n-1] (mod len(ring)).
// Only the manager's goroutine touches it, but for done, which the
// session calls from its own goroutines and which only sends on acks.
type pipe struct {
	ring  []pipeSlot
	head  int
	n     int
	w     int // the session's window, ≤ len(ring)
	index map[*connector.Message]int
	acks  chan pipeAck // capacity len(ring): done never blocks
	gen   uint64       // the session's number: acks of an earlier one are ignored
	done  func(*connector.Message, error)
}

type pipeSlot struct {
	pub   connector.Message // handed to PublishAsync; its address names the slot
	msg   outMsg
	state int8
}

const (
	slotDone   int8 = iota // no outcome pending (free, or settled but not yet passed by head)
	slotFlight             // awaiting its outcome
	slotLost               // the session was lost before its outcome: requeue it
)

type pipeAck struct {
	gen  uint64
	slot int
	err  error
}

// newPipe returns prev (the pipe of the previous session, or nil), or a
// bigger one, ready for a new session with window w.
func newPipe(prev *pipe, w int) *pipe {
	w = max(1, w)
	p := prev
	if p == nil || len(p.ring) < w {
		p = &pipe{ring: make([]pipeSlot, w), index: make(map[*connector.Message]int, w), acks: make(chan pipeAck, w)}
		if prev != nil {
			p.gen = prev.gen
		}
		for i := range p.ring {
			p.index[&p.ring[i].pub] = i
		}
	}
	p.w = w
	p.head, p.n = 0, 0
	p.gen++
	gen, acks, index := p.gen, p.acks, p.index
	p.done = func(msg *connector.Message, err error) { acks <- pipeAck{gen, index[msg], err} }
	return p
}

// servePipelined is serve for a Pipeliner: it keeps up to the session's
// window of messages in flight, in queue order, and accounts for each as
// its outcome arrives. At shutdown it waits for the outcome of every
// message in flight. Messages whose outcome the lost session never gave
// are requeued, in order, by settle.
func (m *linkManager) servePipelined(ctx context.Context, sess connector.Session, pl connector.Pipeliner, p *pipe) bool {
	lost := sess.Done()
	quit := m.quitCtx.Done()
	stopping := false
	for {
		for p.n < p.w {
			msg, ok := m.pop()
			if !ok {
				break
			}
			if st := p.start(ctx, m, sess, pl, msg); st != gotMsg {
				return st == allDone
			}
		}
		if p.n == 0 {
			m.publishing.Store(0)
			if stopping && m.queued() == 0 {
				return true
			}
		}
		var items <-chan struct{}
		if p.n < p.w {
			items = m.items
		}
		select {
		case <-items:
		case a := <-p.acks:
			if p.ack(ctx, m, sess, a) == sessionLost {
				return false
			}
		case <-lost:
			return false
		case <-quit:
			quit, stopping = nil, true
		case <-ctx.Done():
			return true
		}
	}
}

// pop takes the next queued message, if any. A message is always either
// queued or publishing (see DB.WaitIdle).
func (m *linkManager) pop() (outMsg, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n == 0 {
		return outMsg{}, false
	}
	m.publishing.Store(1)
	return m.popLocked(), true
}

// start publishes msg in the next slot of the window.
func (p *pipe) start(ctx context.Context, m *linkManager, sess connector.Session, pl connector.Pipeliner, msg outMsg) nextStatus {
	sl := &p.ring[(p.head+p.n)%len(p.ring)]
	sl.msg = msg
	sl.pub = connector.Message{Link: msg.l.conn, Topic: msg.topic, Payload: msg.payload}
	sl.state = slotFlight
	p.n++
	pending, err := pl.PublishAsync(ctx, &sl.pub, p.done)
	if pending {
		return gotMsg
	}
	p.n-- // the newest slot: give it back
	*sl = pipeSlot{}
	return m.outcome(ctx, sess, msg, err)
}

// ack accounts for the outcome of one message in flight. It reports
// sessionLost when the outcome says the session is lost: the message
// stays in the window for settle to requeue.
func (p *pipe) ack(ctx context.Context, m *linkManager, sess connector.Session, a pipeAck) nextStatus {
	if a.gen != p.gen {
		return gotMsg
	}
	sl := &p.ring[a.slot]
	if sl.state != slotFlight {
		return gotMsg
	}
	msg := sl.msg
	switch {
	case a.err == nil:
		msg.l.published.Add(1)
		m.finish(msg, true)
		m.recycle(msg)
	case ctx.Err() != nil:
		msg.l.dropped.Add(1)
		abandon(msg)
		m.recycle(msg)
	case errors.Is(a.err, connector.ErrNotConnected) || closed(sess.Done()):
		m.setErr(a.err)
		sl.state = slotLost
		return sessionLost
	default:
		msg.l.publishErrs.Add(1)
		m.finish(msg, false)
		m.recycle(msg)
		msg.l.warn(msg.l.rec.logger(), "aimdb: publish failed; message dropped", "link", msg.l.display, "topic", msg.topic, "err", a.err)
	}
	sl.state, sl.msg, sl.pub = slotDone, outMsg{}, connector.Message{}
	for p.n > 0 && p.ring[p.head].state == slotDone {
		p.head = (p.head + 1) % len(p.ring)
		p.n--
	}
	return gotMsg
}

// settle runs after a Pipeliner session was closed, when every outcome
// has arrived: it accounts for them, then requeues, in their order, the
// messages the session lost (or drops them at the shutdown timeout).
func (m *linkManager) settle(ctx context.Context, sess connector.Session, p *pipe) {
	if p == nil || p.n == 0 {
		return
	}
	for drained := false; !drained; {
		select {
		case a := <-p.acks:
			p.ack(ctx, m, sess, a)
		default:
			drained = true
		}
	}
	for i := p.n - 1; i >= 0; i-- { // newest first: requeue puts each at the head
		sl := &p.ring[(p.head+i)%len(p.ring)]
		if sl.state == slotDone {
			continue
		}
		msg := sl.msg
		*sl = pipeSlot{}
		if ctx.Err() != nil {
			msg.l.dropped.Add(1)
			abandon(msg)
			m.recycle(msg)
		} else {
			m.requeue(msg)
		}
	}
	p.head, p.n = 0, 0
	m.publishing.Store(0)
}
