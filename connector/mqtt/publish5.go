package mqtt

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aimdb-go/aimdb/connector"
	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	"github.com/eclipse/paho.golang/paho/session"
	"github.com/eclipse/paho.golang/paho/session/state"
)

var _ connector.Pipeliner = (*v5)(nil)

// publisher5 keeps a v5 session's QoS 1 and 2 publishes in flight, up to
// its window, without a goroutine per publish. paho writes a publish sent
// with AsyncSend and returns; its session state (sessionState, below)
// then hands the final acknowledgement (PUBACK, PUBCOMP, or a refusing
// PUBREC) to the acks channel instead of to paho's waiting caller, and
// collect, the session's one extra goroutine, matches it by packet
// identifier to the message and calls its done function.
type publisher5 struct {
	slots chan struct{}              // one per publish awaiting its outcome: the window
	acks  chan packets.ControlPacket // final acknowledgements; capacity = the window, so paho never blocks on it

	// mu is held while a publish is handed to paho: publishes go on the
	// wire in call order, and sessionState knows whose publish it adds.
	mu    sync.Mutex
	cur   inflight // the publish being handed to paho
	added bool     // sessionState took cur
	gone  bool     // the connection ended: refuse new publishes

	pmu     sync.Mutex
	pending map[uint16]inflight // by packet identifier

	collected chan struct{} // closed when collect returned: every done was called
}

type inflight struct {
	m    *connector.Message
	done func(*connector.Message, error)
}

func (p *publisher5) init(window int) {
	p.slots = make(chan struct{}, window)
	p.acks = make(chan packets.ControlPacket, window)
	p.pending = make(map[uint16]inflight, window)
	p.collected = make(chan struct{})
}

// sessionState is paho's in-memory session state, but for the final
// acknowledgements of the session's pipelined publishes, which it sends
// to publisher5.acks.
type sessionState struct {
	*state.State
	s *v5
}

// AddToSession implements session.SessionManager. paho calls it from the
// goroutine publishing, so the publish it adds is publisher5.cur.
func (st *sessionState) AddToSession(ctx context.Context, pk session.Packet, resp chan<- packets.ControlPacket) error {
	pb, ok := pk.(*packets.Publish)
	if !ok {
		return st.State.AddToSession(ctx, pk, resp)
	}
	p := &st.s.pub
	if p.cur.m == nil { // not ours (paho publishes only for us, but stay safe)
		return st.State.AddToSession(ctx, pk, resp)
	}
	if err := st.State.AddToSession(ctx, pk, p.acks); err != nil {
		return err
	}
	p.added = true
	p.pmu.Lock()
	p.pending[pb.PacketID] = p.cur
	p.pmu.Unlock()
	return nil
}

// PublishWindow implements connector.Pipeliner: Options.MaxInflight,
// lowered to the broker's receive maximum.
func (s *v5) PublishWindow() int { return cap(s.pub.slots) }

// PublishAsync implements connector.Pipeliner. A QoS 0 message is
// written at once (pending false); a QoS 1 or 2 message is pending until
// the broker acknowledges it.
func (s *v5) PublishAsync(ctx context.Context, m *connector.Message, done func(*connector.Message, error)) (bool, error) {
	qos, retain, err := LinkParams(m.Link)
	if err != nil {
		return false, err
	}
	pb := &paho.Publish{Topic: m.Topic, QoS: qos, Retain: retain, Payload: m.Payload}
	p := &s.pub
	if qos == 0 {
		p.mu.Lock()
		_, err = s.c.PublishWithOptions(ctx, pb, paho.PublishOptions{})
		p.mu.Unlock()
		return false, s.publishErr(ctx, err)
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	case <-s.ctx.Done():
		return false, s.lost(errors.New("connection closed"))
	}
	p.mu.Lock()
	if p.gone {
		p.mu.Unlock()
		<-p.slots
		return false, s.lost(errors.New("connection closed"))
	}
	p.cur, p.added = inflight{m, done}, false
	_, err = s.c.PublishWithOptions(ctx, pb, paho.PublishOptions{Method: paho.PublishMethod_AsyncSend})
	added := p.added
	p.cur, p.added = inflight{}, false
	p.mu.Unlock()
	if added {
		// Written, or stored and not written (ErrNetworkErrorAfterStored):
		// either way the acknowledgement or the end of the connection
		// decides.
		return true, nil
	}
	<-p.slots
	return false, s.publishErr(ctx, err)
}

// publishErr classifies the error of a publish paho did not take.
func (s *v5) publishErr(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, paho.ErrInvalidArguments):
		return err // the client refused this message (QoS or retain above what the broker allows)
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return s.lost(err)
}

// Publish implements connector.Session: PublishAsync, waiting for the
// outcome.
func (s *v5) Publish(ctx context.Context, m *connector.Message) error {
	res := make(chan error, 1)
	pending, err := s.PublishAsync(ctx, m, func(_ *connector.Message, err error) { res <- err })
	if !pending {
		return err
	}
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// collect is the session's goroutine: it hands each final
// acknowledgement to its publish, and once the connection ended, fails
// the publishes still pending with connector.ErrNotConnected (the DB
// requeues them). Close waits for it.
func (s *v5) collect() {
	p := &s.pub
	defer close(p.collected)
	for {
		select {
		case cp := <-p.acks:
			s.ack(cp)
		case <-s.c.Done():
			// paho's goroutines have returned: no acknowledgement follows.
			s.cancel()
			p.mu.Lock() // wait for a publish being handed to paho
			p.gone = true
			p.mu.Unlock()
			for {
				select {
				case cp := <-p.acks:
					s.ack(cp)
					continue
				default:
				}
				break
			}
			p.pmu.Lock()
			left := p.pending
			p.pending = nil
			p.pmu.Unlock()
			err := s.lost(errors.New("connection lost before the broker acknowledged the message"))
			for _, f := range left {
				f.done(f.m, err)
			}
			return
		}
	}
}

// ack completes the publish a final acknowledgement is for.
func (s *v5) ack(cp packets.ControlPacket) {
	var (
		id     uint16
		code   byte
		reason string
	)
	switch pk := cp.Content.(type) {
	case *packets.Puback:
		id, code = pk.PacketID, pk.ReasonCode
		if pk.Properties != nil {
			reason = pk.Properties.ReasonString
		}
	case *packets.Pubcomp:
		id, code = pk.PacketID, pk.ReasonCode
		if pk.Properties != nil {
			reason = pk.Properties.ReasonString
		}
	case *packets.Pubrec:
		id, code = pk.PacketID, pk.ReasonCode
		if pk.Properties != nil {
			reason = pk.Properties.ReasonString
		}
	default:
		return // the session state ended without an acknowledgement: collect fails what is pending
	}
	p := &s.pub
	p.pmu.Lock()
	f, ok := p.pending[id]
	delete(p.pending, id)
	p.pmu.Unlock()
	if !ok {
		return
	}
	<-p.slots
	var err error
	if code >= 0x80 {
		err = fmt.Errorf("publish to %q refused: %s (reason code %#x)", f.m.Topic, reason, code)
	}
	f.done(f.m, err)
}
