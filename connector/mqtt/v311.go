package mqtt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/aimdb-go/aimdb/connector"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
)

// v311 is an MQTT 3.1.1 session on paho.mqtt.golang with its automatic
// reconnect turned off: the DB owns that.
type v311 struct {
	c      pahov3.Client
	done   chan struct{}
	once   sync.Once
	routes routes // MQTT 3.1.1 has no subscription identifiers

	// Pipelined publishes: paho's tokens in publish order, waited for by
	// collect, the session's one extra goroutine.
	pmu       sync.Mutex // held while a publish is handed to paho: call order is wire order
	gone      bool       // the session ended: refuse new publishes
	tokens    chan token311
	collected chan struct{}
}

type token311 struct {
	t    pahov3.Token
	m    *connector.Message
	done func(*connector.Message, error)
}

var _ connector.Pipeliner = (*v311)(nil)

func (d *Dialer) dial311(ctx context.Context, conn net.Conn) (*v311, error) {
	s := &v311{done: make(chan struct{}), tokens: make(chan token311, d.opts.MaxInflight), collected: make(chan struct{})}
	used := false
	o := pahov3.NewClientOptions().
		AddBroker("tcp://" + d.addr).
		SetCustomOpenConnectionFn(func(*url.URL, pahov3.ClientOptions) (net.Conn, error) {
			if used {
				return nil, errors.New("connection already used")
			}
			used = true
			return conn, nil
		}).
		SetClientID(d.clientID).
		SetProtocolVersion(4).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetOrderMatters(true).
		SetKeepAlive(d.opts.KeepAlive).
		SetConnectTimeout(d.opts.ConnectTimeout).
		SetConnectionLostHandler(func(pahov3.Client, error) { s.end() }).
		SetDefaultPublishHandler(func(_ pahov3.Client, msg pahov3.Message) {
			s.routes.route(msg.Topic(), msg.Payload(), 0)
		})
	if d.user != "" {
		o.SetUsername(d.user)
		if d.hasPass {
			o.SetPassword(d.pass)
		}
	}
	s.c = pahov3.NewClient(o)
	if err := wait(ctx, s.c.Connect()); err != nil {
		s.c.Disconnect(0)
		return nil, err
	}
	go s.collect()
	return s, nil
}

func (s *v311) end() { s.once.Do(func() { close(s.done) }) }

// wait waits for t or ctx.
func wait(ctx context.Context, t pahov3.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *v311) Subscribe(ctx context.Context, l *connector.Link, deliver func(*connector.Message)) error {
	qos, _, err := LinkParams(l)
	if err != nil {
		return err
	}
	// ValidateLink refuses no_local=true on MQTT 3.1.1.
	if _, err := s.routes.add(l.Topic, qos, false, deliver); err != nil {
		return err
	}
	t := s.c.Subscribe(l.Topic, qos, nil) // the default handler routes every message
	if err := wait(ctx, t); err != nil {
		return s.lost(err)
	}
	if st, ok := t.(*pahov3.SubscribeToken); ok {
		if code := st.Result()[l.Topic]; code >= 0x80 {
			return fmt.Errorf("subscribe %q refused (return code %#x)", l.Topic, code)
		}
	}
	return nil
}

func (s *v311) Publish(ctx context.Context, m *connector.Message) error {
	qos, retain, err := LinkParams(m.Link)
	if err != nil {
		return err
	}
	if closed(s.done) {
		return connector.ErrNotConnected
	}
	if err := wait(ctx, s.c.Publish(m.Topic, qos, retain, m.Payload)); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return s.lost(err)
	}
	return nil
}

// PublishWindow implements connector.Pipeliner: Options.MaxInflight.
func (s *v311) PublishWindow() int { return cap(s.tokens) }

// PublishAsync implements connector.Pipeliner: paho queues the message
// for its writer, in call order, and collect waits for its token.
func (s *v311) PublishAsync(ctx context.Context, m *connector.Message, done func(*connector.Message, error)) (bool, error) {
	qos, retain, err := LinkParams(m.Link)
	if err != nil {
		return false, err
	}
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if s.gone || closed(s.done) {
		return false, connector.ErrNotConnected
	}
	t := s.c.Publish(m.Topic, qos, retain, m.Payload)
	select {
	case s.tokens <- token311{t, m, done}:
		return true, nil
	default: // more in flight than the window: wait for this one
		if err := wait(ctx, t); err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			return false, s.lost(err)
		}
		return false, nil
	}
}

// collect waits for the tokens of the pipelined publishes in order and
// calls their done functions; once the session ended it fails those
// left with connector.ErrNotConnected. Close waits for it.
func (s *v311) collect() {
	defer close(s.collected)
	var (
		pt   token311
		held bool // pt was taken but its token had not completed
	)
wait:
	for {
		select {
		case pt = <-s.tokens:
			select {
			case <-pt.t.Done():
				s.settle(pt, nil)
			case <-s.done:
				held = true
				break wait
			}
		case <-s.done:
			break wait
		}
	}
	s.pmu.Lock() // wait for a publish being handed to paho
	s.gone = true
	s.pmu.Unlock()
	lost := fmt.Errorf("%w: connection lost before the broker acknowledged the message", connector.ErrNotConnected)
	if held {
		s.settle(pt, lost)
	}
	for {
		select {
		case pt := <-s.tokens:
			s.settle(pt, lost)
		default:
			return
		}
	}
}

// settle calls pt's done with its token's outcome, or with lost if the
// token has none yet. A publish token fails only with its connection
// (MQTT 3.1.1 has no refusing PUBACK), maybe before paho reports the
// connection lost: its error always means connector.ErrNotConnected.
func (s *v311) settle(pt token311, lost error) {
	err := lost
	select {
	case <-pt.t.Done():
		err = nil
		if e := pt.t.Error(); e != nil {
			err = fmt.Errorf("%w: %v", connector.ErrNotConnected, e)
		}
	default:
	}
	pt.done(pt.m, err)
}

func (s *v311) lost(err error) error {
	if !s.c.IsConnectionOpen() || closed(s.done) {
		return fmt.Errorf("%w: %v", connector.ErrNotConnected, err)
	}
	return err
}

func (s *v311) Done() <-chan struct{} { return s.done }

func (s *v311) Close() error {
	s.c.Disconnect(uint(250 * time.Millisecond / time.Millisecond))
	s.end()
	<-s.collected
	return nil
}
