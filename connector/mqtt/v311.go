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
}

func (d *Dialer) dial311(ctx context.Context, conn net.Conn) (*v311, error) {
	s := &v311{done: make(chan struct{})}
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
	s.routes.add(l.Topic, deliver)
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
	return nil
}
