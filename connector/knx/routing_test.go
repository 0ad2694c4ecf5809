package knx_test

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/knx"
	"github.com/aimdb-go/aimdb/internal/tooltest"
)

// multicastInterface returns an up, multicast-capable interface with an
// IPv4 address (the loopback interface usually lacks the multicast flag).
func multicastInterface(t testing.TB) string {
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagMulticast == 0 {
			continue
		}
		addrs, _ := ifi.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
				return ifi.Name
			}
		}
	}
	tooltest.Missing(t, "a multicast-capable network interface with an IPv4 address", "bring one up (ip link set dev IF multicast on)")
	return ""
}

// routingPeer is a KNXnet/IP routing multicast group on a free port.
// Routing has no server: Stop ends every session and fails dials until
// Start, as a network outage would.
type routingPeer struct {
	url string
	mu  sync.Mutex
	up  bool
	ss  []connector.Session
}

func newRoutingPeer(t testing.TB) *routingPeer {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{})
	if err != nil {
		t.Fatal(err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	return &routingPeer{url: "multicast://224.0.23.12:" + strconv.Itoa(port) + "?iface=" + multicastInterface(t), up: true}
}

func (p *routingPeer) Scheme() string { return "knx" }

func (p *routingPeer) Dialer(t testing.TB) connector.Dialer {
	d, err := knx.NewDialer(p.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &routingDialer{p: p, d: d}
}

func (p *routingPeer) Stop(t testing.TB) {
	p.mu.Lock()
	p.up = false
	ss := p.ss
	p.ss = nil
	p.mu.Unlock()
	for _, s := range ss {
		_ = s.Close()
	}
}

func (p *routingPeer) Start(t testing.TB) {
	p.mu.Lock()
	p.up = true
	p.mu.Unlock()
}

type routingDialer struct {
	p *routingPeer
	d *knx.Dialer
}

func (r *routingDialer) ValidateLink(l *connector.Link) error { return r.d.ValidateLink(l) }

func (r *routingDialer) Dial(ctx context.Context) (connector.Session, error) {
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	if !r.p.up {
		return nil, connector.ErrNotConnected
	}
	s, err := r.d.Dial(ctx)
	if err == nil {
		r.p.ss = append(r.p.ss, s)
	}
	return s, err
}

func TestConformanceRouting(t *testing.T) {
	connectortest.Run(t, newRoutingPeer(t), connectortest.Features{
		Bulk:         2000,
		LargePayload: 254,
		Topic:        nextGA,
	})
}
