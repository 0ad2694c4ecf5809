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
	"github.com/eclipse/paho.golang/paho/session/state"
)

// v5 is an MQTT 5 session on the plain paho client: no automatic
// reconnect, the DB owns that. Once two of its filters overlap, each is
// subscribed with a subscription identifier, which routes uses to send
// every message to its links once.
type v5 struct {
	c      *paho.Client
	ctx    context.Context // cancelled when the connection ends
	cancel context.CancelFunc
	routes routes
	mu     sync.Mutex
	idsOn  bool // two filters overlap: subscribe with subscription identifiers
	noSubs bool // the broker refuses subscription identifiers
	pub    publisher5
}

func (d *Dialer) dial5(ctx context.Context, conn net.Conn) (*v5, error) {
	s := &v5{}
	s.c = paho.NewClient(paho.ClientConfig{
		Conn:               packets.NewThreadSafeConn(conn),
		Session:            &sessionState{State: state.NewInMemory(), s: s},
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
	window := d.opts.MaxInflight
	if ca.Properties != nil && ca.Properties.ReceiveMaximum != nil {
		window = min(window, int(*ca.Properties.ReceiveMaximum))
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.pub.init(max(window, 1))
	go s.collect()
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

// Subscribe subscribes l's filter. Once two filters overlap, every
// filter carries its subscription identifier (see routes): the filters
// subscribed before then are subscribed again with theirs, keeping the
// subscription (retain handling 1: no retained message is sent again).
func (s *v5) Subscribe(ctx context.Context, l *connector.Link, deliver func(*connector.Message)) error {
	qos, _, err := LinkParams(l)
	if err != nil {
		return err
	}
	noLocal, err := linkNoLocal(l)
	if err != nil {
		return err
	}
	rt, err := s.routes.add(l.Topic, qos, noLocal, deliver)
	if err != nil {
		return err
	}
	s.mu.Lock()
	var again []*route
	if !s.noSubs && !s.idsOn && s.routes.overlap() {
		s.idsOn = true
		again = s.routes.all(rt)
	}
	s.mu.Unlock()
	for _, prev := range again {
		if err := s.subscribe(ctx, prev.name, prev.qos, prev.id, 1, prev.noLocal); err != nil {
			return err
		}
	}
	return s.subscribe(ctx, l.Topic, qos, rt.id, 0, noLocal)
}

// subscribe subscribes filter at qos, with subscription identifier id if
// the session sends identifiers, and the No Local option if noLocal.
func (s *v5) subscribe(ctx context.Context, filter string, qos byte, id int, retainHandling byte, noLocal bool) error {
	s.mu.Lock()
	var props *paho.SubscribeProperties
	if s.idsOn && !s.noSubs {
		props = &paho.SubscribeProperties{SubscriptionIdentifier: &id}
	}
	s.mu.Unlock()
	req := &paho.Subscribe{Properties: props, Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: qos, RetainHandling: retainHandling, NoLocal: noLocal}}}
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
			return fmt.Errorf("subscribe %q refused (reason code %#x)", filter, sa.Reasons[0])
		}
		return s.lost(err)
	}
	if len(sa.Reasons) > 0 && sa.Reasons[0] >= 0x80 {
		return fmt.Errorf("subscribe %q refused (reason code %#x)", filter, sa.Reasons[0])
	}
	return nil
}

// lost wraps a transport error as connector.ErrNotConnected.
func (s *v5) lost(err error) error {
	return fmt.Errorf("%w: %v", connector.ErrNotConnected, err)
}

func (s *v5) Done() <-chan struct{} { return s.c.Done() }

// Close disconnects, then waits until every pending publish has its
// outcome (see collect).
func (s *v5) Close() error {
	var err error
	if !closed(s.c.Done()) {
		err = s.c.Disconnect(&paho.Disconnect{ReasonCode: 0})
		<-s.c.Done()
	}
	<-s.pub.collected
	return err
}
