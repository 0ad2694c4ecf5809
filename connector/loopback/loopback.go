// Package loopback is an in-memory connector: a broker inside the
// process that delivers every published message to the sessions
// subscribed to a matching topic, with MQTT-style wildcards ('+', '#').
// It is the reference implementation of the connector SPI, and it can
// be stopped and started to exercise a DB's reconnect logic.
//
//	broker := loopback.New()
//	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"loop": broker.Dialer()}})
//	rec.LinkTo("loop://sensors/temp", codec.JSON[Temperature]{})
package loopback

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/aimdb-go/aimdb/connector"
)

// ErrDown is returned by Dial while the broker is stopped.
var ErrDown = errors.New("loopback: broker is down")

// A Broker is an in-memory message broker. The zero value is not usable;
// call New.
type Broker struct {
	mu       sync.Mutex
	up       bool
	sessions []*session
}

// New returns a running broker.
func New() *Broker { return &Broker{up: true} }

// Dialer returns a Dialer that opens sessions on b.
func (b *Broker) Dialer() *Dialer { return &Dialer{b: b} }

// Stop ends every session (their Done channels close) and makes Dial
// fail until Start. Subscriptions are lost, as with a broker restart
// without persistent sessions.
func (b *Broker) Stop() {
	b.mu.Lock()
	b.up = false
	ss := b.sessions
	b.sessions = nil
	b.mu.Unlock()
	for _, s := range ss {
		s.end()
	}
}

// Start lets Dial succeed again.
func (b *Broker) Start() {
	b.mu.Lock()
	b.up = true
	b.mu.Unlock()
}

// A Dialer opens sessions on a Broker.
type Dialer struct{ b *Broker }

var (
	_ connector.Dialer        = (*Dialer)(nil)
	_ connector.LinkValidator = (*Dialer)(nil)
	_ connector.Session       = (*session)(nil)
)

// Dial implements connector.Dialer.
func (d *Dialer) Dial(ctx context.Context) (connector.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.b.mu.Lock()
	defer d.b.mu.Unlock()
	if !d.b.up {
		return nil, ErrDown
	}
	s := &session{b: d.b, done: make(chan struct{})}
	d.b.sessions = append(d.b.sessions, s)
	return s, nil
}

// ValidateLink implements connector.LinkValidator: inbound topics must be
// valid filters, outbound topics must hold no wildcard. The loopback
// connector takes no parameters.
func (d *Dialer) ValidateLink(l *connector.Link) error {
	if err := connector.CheckTopic(l, "topic"); err != nil {
		return err
	}
	for k := range l.Params {
		return fmt.Errorf("unknown parameter %q (the loopback connector takes none)", k)
	}
	return nil
}

type sub struct {
	filter  string
	deliver func(*connector.Message)
}

type session struct {
	b    *Broker
	done chan struct{}
	once sync.Once

	mu     sync.Mutex // serializes deliveries and guards subs
	subs   []sub
	closed bool
}

func (s *session) end() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.done)
	})
}

func (s *session) Done() <-chan struct{} { return s.done }

func (s *session) Close() error {
	s.b.mu.Lock()
	s.b.sessions = slices.DeleteFunc(s.b.sessions, func(x *session) bool { return x == s })
	s.b.mu.Unlock()
	s.end()
	return nil
}

func (s *session) Subscribe(ctx context.Context, l *connector.Link, deliver func(*connector.Message)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return connector.ErrNotConnected
	}
	s.subs = append(s.subs, sub{l.Topic, deliver})
	return nil
}

// Publish delivers m synchronously to every matching subscription of
// every session, in the order publishes arrive.
func (s *session) Publish(ctx context.Context, m *connector.Message) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if !s.b.up || closed(s.done) {
		return connector.ErrNotConnected
	}
	in := connector.Message{Topic: m.Topic, Payload: m.Payload}
	for _, r := range s.b.sessions {
		r.mu.Lock()
		for _, sb := range r.subs {
			if !r.closed && connector.MatchTopic(sb.filter, m.Topic) {
				sb.deliver(&in)
			}
		}
		r.mu.Unlock()
	}
	return nil
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
