package knx_test

import (
	"context"
	"net"
	"net/url"
	"strconv"
	"sync"
	"testing"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/knx"
	"github.com/aimdb-go/aimdb/connector/knx/knxtest"
	"github.com/aimdb-go/aimdb/internal/tooltest"
	"golang.org/x/net/ipv4"
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

// TestConformanceRouting runs the suite over multicast. Routing is not
// acknowledged: a burst bigger than the receiver's socket buffer loses
// telegrams, so the bulk run is 500.
func TestConformanceRouting(t *testing.T) {
	connectortest.Run(t, newRoutingPeer(t), connectortest.Features{
		Bulk:         500,
		LargePayload: 254,
		Topic:        nextGA,
	})
}

// TestKnxdRouting: a knxtool write on knxd's bus reaches a routing DB as
// knxd's ROUTING_INDICATION. (The other direction is covered by
// TestConformanceRouting between two DBs: knxd ignores indications sent
// from its own host.)
func TestKnxdRouting(t *testing.T) {
	k := knxtest.StartRouting(t, multicastInterface(t))
	rd, err := knx.NewDialer(k.RoutingURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	router := newDB(rd)
	temp, _ := aimdb.Register(router, aimdb.NewKey[float64]("temp"), aimdb.Ring(8))
	temp.LinkFrom("knx://9/1/0", knx.Temperature)
	sw, _ := aimdb.Register(router, aimdb.NewKey[bool]("switch"), aimdb.Ring(8))
	sw.LinkFrom("knx://1/2/5", knx.Bool{})
	subT, _ := temp.Subscribe()
	defer subT.Close()
	subS, _ := sw.Subscribe()
	defer subS.Close()
	run(t, router)
	connectortest.WaitLink(t, router, "temp", 0, wait, "connected", connected)

	k.GroupWrite(t, "9/1/0", 0x0c, 0x1a)
	k.GroupSWrite(t, "1/2/5", 1)
	if v := firstOf(t, subT); v != 21 {
		t.Errorf("routed temperature %v; want 21", v)
	}
	if v := firstOf(t, subS); !v {
		t.Error("routed switch false; want true")
	}
	if st := rd.Stats(); st.Telegrams != 2 || st.Refused != 0 {
		t.Errorf("router stats %+v; want 2 telegrams", st)
	}
}

func firstOf[T any](t *testing.T, sub *aimdb.Subscription[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	v, err := sub.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRoutingRefusesAndIgnoresOwn: a routing DB does not deliver its
// own telegrams to itself, and counts malformed datagrams on the group.
func TestRoutingRefusesAndIgnoresOwn(t *testing.T) {
	p := newRoutingPeer(t)
	d, err := knx.NewDialer(p.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	db := newDB(d)
	out, _ := aimdb.Register(db, aimdb.NewKey[float64]("out"), aimdb.Ring(8))
	out.LinkTo("knx://4/0/1", knx.Temperature)
	in, _ := aimdb.Register(db, aimdb.NewKey[float64]("in"), aimdb.Ring(8))
	in.LinkFrom("knx://4/0/+", knx.Temperature)
	sub, _ := in.Subscribe()
	defer sub.Close()
	run(t, db)
	connectortest.WaitLink(t, db, "in", 0, wait, "connected", connected)
	_ = out.Produce(5)
	connectortest.WaitLink(t, db, "out", 0, wait, "published", func(md aimdb.LinkMetadata) bool { return md.Published == 1 })

	// Another sender on the group: a malformed datagram, then a good one.
	u, _ := url.Parse(p.url)
	ifi, err := net.InterfaceByName(u.Query().Get("iface"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp4", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc := ipv4.NewPacketConn(c)
	_ = pc.SetMulticastInterface(ifi)
	_ = pc.SetMulticastLoopback(true)
	group, _ := net.ResolveUDPAddr("udp4", u.Host)
	good := append([]byte{6, 0x10, 0x05, 0x30, 0, 0}, ldataInd(t, "4/0/2", false, 0x0c, 0x1a)...)
	good[5] = byte(len(good))
	bad := append([]byte(nil), good[:len(good)-1]...) // truncated
	bad[5] = byte(len(bad))
	if _, err := c.WriteToUDP(bad, group); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteToUDP(good, group); err != nil {
		t.Fatal(err)
	}
	if v := firstOf(t, sub); v != 21 {
		t.Fatalf("received %v; want 21 from the other sender (our own 5 is not delivered)", v)
	}
	if st := d.Stats(); st.Refused != 1 || st.Telegrams != 1 {
		t.Errorf("stats %+v; want 1 refused, 1 telegram", st)
	}
}
