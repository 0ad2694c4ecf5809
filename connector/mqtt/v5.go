package mqtt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/aimdb-go/aimdb/connector"
	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
)

// v5 is an MQTT 5 session on the plain paho client: no automatic
// reconnect, the DB owns that.
type v5 struct {
	c    *paho.Client
	mu   sync.Mutex
	subs []sub
}

func (d *Dialer) dial5(ctx context.Context, conn net.Conn) (*v5, error) {
	s := &v5{}
	s.c = paho.NewClient(paho.ClientConfig{
		Conn:               packets.NewThreadSafeConn(conn),
		OnPublishReceived:  []func(paho.PublishReceived) (bool, error){s.received},
		OnClientError:      func(error) {},
		OnServerDisconnect: func(*paho.Disconnect) {},
	})
	cp := &paho.Connect{
		ClientID:   d.clientID,
		KeepAlive:  uint16(min(d.opts.KeepAlive.Seconds(), 65535)),
		CleanStart: true,
	}
	if d.user != "" {
		cp.Username, cp.UsernameFlag = d.user, true
		if d.hasPass {
			cp.Password, cp.PasswordFlag = []byte(d.pass), true
		}
	}
	ca, err := s.c.Connect(ctx, cp)
	if err != nil {
		if ca != nil && ca.ReasonCode >= 0x80 {
			return nil, fmt.Errorf("refused: %s (reason code %#x)", ca.Properties.ReasonString, ca.ReasonCode)
		}
		return nil, err
	}
	return s, nil
}

func (s *v5) received(pr paho.PublishReceived) (bool, error) {
	m := connector.Message{Topic: pr.Packet.Topic, Payload: pr.Packet.Payload}
	s.mu.Lock()
	subs := s.subs
	s.mu.Unlock()
	for _, sb := range subs {
		if connector.MatchTopic(sb.filter, m.Topic) {
			sb.deliver(&m)
		}
	}
	return true, nil
}

func (s *v5) Subscribe(ctx context.Context, l *connector.Link, deliver func(*connector.Message)) error {
	qos, _, err := LinkParams(l)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.subs = append(s.subs[:len(s.subs):len(s.subs)], sub{l.Topic, deliver})
	s.mu.Unlock()
	sa, err := s.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: l.Topic, QoS: qos}}})
	if err != nil {
		if sa != nil && len(sa.Reasons) > 0 && sa.Reasons[0] >= 0x80 {
			return fmt.Errorf("subscribe %q refused (reason code %#x)", l.Topic, sa.Reasons[0])
		}
		return s.lost(err)
	}
	if len(sa.Reasons) > 0 && sa.Reasons[0] >= 0x80 {
		return fmt.Errorf("subscribe %q refused (reason code %#x)", l.Topic, sa.Reasons[0])
	}
	return nil
}

func (s *v5) Publish(ctx context.Context, m *connector.Message) error {
	qos, retain, err := LinkParams(m.Link)
	if err != nil {
		return err
	}
	pr, err := s.c.Publish(ctx, &paho.Publish{Topic: m.Topic, QoS: qos, Retain: retain, Payload: m.Payload})
	if err == nil {
		return nil
	}
	if pr != nil && pr.ReasonCode >= 0x80 || errors.Is(err, paho.ErrInvalidArguments) {
		return err // the broker or the client refused this message
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return s.lost(err)
}

// lost wraps a transport error as connector.ErrNotConnected.
func (s *v5) lost(err error) error {
	return fmt.Errorf("%w: %v", connector.ErrNotConnected, err)
}

func (s *v5) Done() <-chan struct{} { return s.c.Done() }

func (s *v5) Close() error {
	if closed(s.c.Done()) {
		return nil
	}
	err := s.c.Disconnect(&paho.Disconnect{ReasonCode: 0})
	<-s.c.Done()
	return err
}
