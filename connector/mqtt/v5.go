package mqtt

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"sync"
	"time"

	"github.com/aimdb-go/aimdb/connector"
	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
)

// v5 is an MQTT 5 session on the plain paho client: no automatic
// reconnect, the DB owns that. Each broker filter is subscribed with a
// subscription identifier, which routes (see routes) uses to send every
// message to its links once.
type v5 struct {
	c      *paho.Client
	ctx    context.Context // cancelled when the connection ends
	routes routes
	mu     sync.Mutex
	noSubs bool // the broker refuses subscription identifiers
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
	if n := d.opts.MaxPacketSize; n > 0 {
		mps := uint32(min(int64(n), math.MaxUint32))
		cp.Properties = &paho.ConnectProperties{MaximumPacketSize: &mps}
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
	// paho keeps a QoS 1/2 publish in flight across a lost connection
	// until its packet timeout; the DB wants it back at once to requeue.
	var cancel context.CancelFunc
	s.ctx, cancel = context.WithCancel(context.Background())
	go func() {
		<-s.c.Done()
		cancel()
	}()
	return s, nil
}

// opCtx returns a context that ends with ctx or with the connection.
func (s *v5) opCtx(ctx context.Context) (context.Context, func()) {
	c, cancel := context.WithCancel(s.ctx)
	stop := context.AfterFunc(ctx, cancel)
	return c, func() { stop(); cancel() }
}

func (s *v5) received(pr paho.PublishReceived) (bool, error) {
	id := 0
	if p := pr.Packet.Properties; p != nil && p.SubscriptionIdentifier != nil {
		id = *p.SubscriptionIdentifier
	}
	s.routes.route(pr.Packet.Topic, pr.Packet.Payload, id)
	return true, nil
}

func (s *v5) Subscribe(ctx context.Context, l *connector.Link, deliver func(*connector.Message)) error {
	qos, _, err := LinkParams(l)
	if err != nil {
		return err
	}
	id := s.routes.add(l.Topic, deliver)
	s.mu.Lock()
	var props *paho.SubscribeProperties
	if !s.noSubs {
		props = &paho.SubscribeProperties{SubscriptionIdentifier: &id}
	}
	s.mu.Unlock()
	req := &paho.Subscribe{Properties: props, Subscriptions: []paho.SubscribeOptions{{Topic: l.Topic, QoS: qos}}}
	octx, done := s.opCtx(ctx)
	defer done()
	sa, err := s.c.Subscribe(octx, req)
	// 0x91, "packet identifier in use": some brokers (mochi) share one
	// identifier space between their publishes to the client and the
	// client's own requests, so a SUBSCRIBE can collide with a message in
	// flight. It is transient; ask again with a new identifier.
	for try := 0; try < 5 && sa != nil && len(sa.Reasons) > 0 && sa.Reasons[0] == 0x91; try++ {
		select {
		case <-octx.Done():
		case <-time.After(time.Duration(try+1) * 10 * time.Millisecond):
		}
		sa, err = s.c.Subscribe(octx, req)
	}
	if props != nil && errors.Is(err, paho.ErrInvalidArguments) {
		s.mu.Lock()
		s.noSubs = true
		s.mu.Unlock()
		req.Properties = nil
		sa, err = s.c.Subscribe(octx, req)
	}
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
	octx, done := s.opCtx(ctx)
	defer done()
	pr, err := s.c.Publish(octx, &paho.Publish{Topic: m.Topic, QoS: qos, Retain: retain, Payload: m.Payload})
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
