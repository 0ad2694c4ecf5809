package websocket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/connector"
)

// A Bus is the "ws://" link scheme of a DB served by a Handler: the
// connector.Dialer to hand to aimdb.Options.Connectors["ws"], and the
// same value in HandlerOptions.Bus. It carries values that are not
// records of the DB, as AimDB's WebSocket connector does:
//
//   - rec.LinkTo("ws://alerts.door", c) sends each value, encoded by c
//     (which must produce JSON), to the clients subscribed to a pattern
//     matching "alerts.door", tagged with that topic. A topic that is
//     also a record key is served from the record alone.
//   - rec.LinkFrom("ws://cfg.#", c) receives the clients' write frames
//     whose topic matches the pattern, if the client's Permissions allow
//     writing that topic. The payload reaches c verbatim: no {"value":…}
//     unwrapping, which applies only to writes of records.
//
// Topics and patterns use the AimX grammar ('.' separates segments, '*'
// matches one, '#' any number). Link values get no late-join snapshot.
// Once the DB has an outbound "ws://" link, a subscription to an exact
// topic that no record has is accepted and waits for link values (up to
// 32 such subscriptions per connection; more are answered "not_found").
//
// Records need no "ws://" link to be seen: every record opened with
// RemoteAccess can be subscribed to by its key.
type Bus struct {
	outbound atomic.Bool // some record links to "ws://"
	inbound  atomic.Bool // some record links from "ws://"

	mu     sync.Mutex
	routes []*busRoute
	conns  map[*serverConn]struct{}
}

type busRoute struct {
	s       *busSession
	pattern string
	deliver func(*connector.Message)
}

// NewBus returns a bus with no links.
func NewBus() *Bus { return &Bus{conns: map[*serverConn]struct{}{}} }

var (
	_ connector.Dialer        = (*Bus)(nil)
	_ connector.LinkValidator = (*Bus)(nil)
	_ connector.Session       = (*busSession)(nil)
)

// TopicGrammar implements connector.TopicGrammar: bus topics are AimX
// patterns, levels separated by '.', '*' matching one level.
func (b *Bus) TopicGrammar() (byte, string) { return '.', "*" }

// ValidateLink implements connector.LinkValidator: an outbound topic
// holds no wildcard, and "ws://" links take no parameters.
func (b *Bus) ValidateLink(l *connector.Link) error {
	if !l.Inbound && aimx.IsWildcard(l.Topic) {
		return fmt.Errorf("outbound ws topic %q holds a wildcard", l.Topic)
	}
	for k := range l.Params {
		return fmt.Errorf("unknown parameter %q (ws links take none)", k)
	}
	if l.Inbound {
		b.inbound.Store(true)
	} else {
		b.outbound.Store(true)
	}
	return nil
}

// Dial implements connector.Dialer. The bus is in the process: dialing
// always succeeds, and the session lasts until the DB closes it.
func (b *Bus) Dial(ctx context.Context) (connector.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &busSession{b: b, done: make(chan struct{})}, nil
}

// busy reports whether connections must look at frames for the bus.
func (b *Bus) busy() bool { return b.outbound.Load() || b.inbound.Load() }

func (b *Bus) add(c *serverConn) {
	b.mu.Lock()
	b.conns[c] = struct{}{}
	b.mu.Unlock()
}

func (b *Bus) remove(c *serverConn) {
	b.mu.Lock()
	delete(b.conns, c)
	b.mu.Unlock()
}

// routed reports whether an inbound link takes writes to topic.
func (b *Bus) routed(topic string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range b.routes {
		if aimx.MatchTopic(r.pattern, topic) {
			return true
		}
	}
	return false
}

// deliver hands a client's write to every inbound link matching topic.
func (b *Bus) deliver(topic string, payload []byte) {
	b.mu.Lock()
	var rs []*busRoute
	for _, r := range b.routes {
		if aimx.MatchTopic(r.pattern, topic) {
			rs = append(rs, r)
		}
	}
	b.mu.Unlock()
	m := connector.Message{Topic: topic, Payload: payload}
	for _, r := range rs {
		r.s.mu.Lock()
		if !r.s.closed {
			r.deliver(&m)
		}
		r.s.mu.Unlock()
	}
}

// ErrNotJSON is returned by Publish on a "ws://" link whose codec did
// not produce JSON: values travel inside AimX frames.
var ErrNotJSON = errors.New("websocket: payload is not a single JSON value")

type busSession struct {
	b    *Bus
	done chan struct{}
	once sync.Once

	mu     sync.Mutex // serializes deliveries; guards closed
	closed bool
}

func (s *busSession) Done() <-chan struct{} { return s.done }

func (s *busSession) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.b.mu.Lock()
		s.b.routes = slices.DeleteFunc(s.b.routes, func(r *busRoute) bool { return r.s == s })
		s.b.mu.Unlock()
		close(s.done)
	})
	return nil
}

func (s *busSession) Subscribe(ctx context.Context, l *connector.Link, deliver func(*connector.Message)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return connector.ErrNotConnected
	}
	s.b.mu.Lock()
	s.b.routes = append(s.b.routes, &busRoute{s: s, pattern: l.Topic, deliver: deliver})
	s.b.mu.Unlock()
	s.b.inbound.Store(true)
	return nil
}

// Publish queues the value for every connected client without waiting
// for any of them: a slow client loses values (a gap in its seq), it
// never holds up the DB.
func (s *busSession) Publish(ctx context.Context, m *connector.Message) error {
	if !json.Valid(m.Payload) {
		return ErrNotJSON
	}
	s.b.outbound.Store(true)
	v := busValue{topic: m.Topic, data: slices.Clone(m.Payload)}
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	for c := range s.b.conns {
		c.enqueue(v)
	}
	return nil
}
