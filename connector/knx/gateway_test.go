package knx_test

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/knx"
	"github.com/vapourismo/knx-go/knx/cemi"
	"github.com/vapourismo/knx-go/knx/knxnet"
)

// A fakeGateway is an in-process KNXnet/IP tunnelling server on
// 127.0.0.1: it accepts connections, answers keepalives, acknowledges
// TUNNELLING_REQUESTs (detecting repeats by sequence number) and sends
// every L_Data.req to the other connections as L_Data.ind. It packs and
// parses with knx-go's knxnet and cemi packages. Faults: drop ACKs,
// ignore keepalives, restart with or without DISCONNECT.
type fakeGateway struct {
	t    testing.TB
	addr *net.UDPAddr

	mu      sync.Mutex
	conn    *net.UDPConn
	clients map[byte]*fakeClient
	next    byte
	wg      sync.WaitGroup

	dropAcks      atomic.Int32 // forward, but do not acknowledge, this many requests
	dropRequests  atomic.Int32 // neither forward nor acknowledge this many requests
	muteKeepalive atomic.Bool
	forwarded     atomic.Int64
	writes        chan cemi.LDataReq // every L_Data.req forwarded, if not nil
}

type fakeClient struct {
	addr         *net.UDPAddr
	rxSeq, txSeq byte
}

func startGateway(t testing.TB) *fakeGateway {
	g := &fakeGateway{t: t, addr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, next: 1}
	g.Start(t)
	t.Cleanup(func() { g.Kill(t) })
	return g
}

// URL returns the gateway's udp:// URL.
func (g *fakeGateway) URL() string { return "udp://" + g.addr.String() }

// Start listens again at the same address.
func (g *fakeGateway) Start(t testing.TB) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.conn != nil {
		return
	}
	var conn *net.UDPConn
	var err error
	for range 50 { // the port may linger briefly after a restart
		if conn, err = net.ListenUDP("udp4", g.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	g.addr = conn.LocalAddr().(*net.UDPAddr)
	g.conn = conn
	g.clients = map[byte]*fakeClient{}
	g.wg.Add(1)
	go g.serve(conn)
}

// Stop sends DISCONNECT_REQUEST to every client and closes the socket,
// as a gateway that shuts down cleanly.
func (g *fakeGateway) Stop(t testing.TB) {
	g.mu.Lock()
	if g.conn != nil {
		for ch, c := range g.clients {
			g.sendLocked(c, &knxnet.DiscReq{Channel: ch, Control: knxnet.HostInfo{Protocol: knxnet.UDP4}})
		}
	}
	g.mu.Unlock()
	g.Kill(t)
}

// Kill closes the socket without telling the clients, as a gateway that
// loses power.
func (g *fakeGateway) Kill(t testing.TB) {
	g.mu.Lock()
	conn := g.conn
	g.conn = nil
	g.mu.Unlock()
	if conn != nil {
		conn.Close()
		g.wg.Wait()
	}
}

// Scheme implements connectortest.Peer.
func (g *fakeGateway) Scheme() string { return "knx" }

// Dialer implements connectortest.Peer.
func (g *fakeGateway) Dialer(t testing.TB) connector.Dialer { return g.dialer(t) }

func (g *fakeGateway) dialer(t testing.TB) *knx.Dialer {
	d, err := knx.NewDialer(g.URL(), &knx.Options{
		ConnectTimeout:    time.Second,
		AckTimeout:        200 * time.Millisecond,
		HeartbeatInterval: 100 * time.Millisecond,
		HeartbeatTimeout:  100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (g *fakeGateway) sendLocked(c *fakeClient, s knxnet.ServicePackable) {
	if g.conn != nil {
		_, _ = g.conn.WriteToUDP(knxnet.AllocAndPack(s), c.addr)
	}
}

// sendRaw sends a TUNNELLING_REQUEST with the raw cEMI frame to every
// client, each with its next sequence number.
func (g *fakeGateway) sendRaw(cemiFrame []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for ch, c := range g.clients {
		b := []byte{6, 0x10, 0x04, 0x20, 0, 0, 4, ch, c.txSeq, 0}
		b = append(b, cemiFrame...)
		b[4], b[5] = byte(len(b)>>8), byte(len(b))
		c.txSeq++
		_, _ = g.conn.WriteToUDP(b, c.addr)
	}
}

// sendDatagram sends b as is to every client.
func (g *fakeGateway) sendDatagram(b []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.clients {
		_, _ = g.conn.WriteToUDP(b, c.addr)
	}
}

func (g *fakeGateway) serve(conn *net.UDPConn) {
	defer g.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				g.t.Errorf("fake gateway: %v", err)
			}
			return
		}
		var srv knxnet.Service
		if _, err := knxnet.Unpack(buf[:n], &srv); err != nil {
			g.t.Errorf("fake gateway: client sent a datagram knx-go cannot parse (% x): %v", buf[:n], err)
			continue
		}
		g.mu.Lock()
		g.handleLocked(srv, from, buf[6:n])
		g.mu.Unlock()
	}
}

func (g *fakeGateway) handleLocked(srv knxnet.Service, from *net.UDPAddr, body []byte) {
	switch req := srv.(type) {
	case *knxnet.ConnReq:
		ch := g.next
		g.next++
		c := &fakeClient{addr: from}
		g.clients[ch] = c
		self, _ := knxnet.HostInfoFromAddress(g.addr)
		g.sendLocked(c, &knxnet.ConnRes{Channel: ch, Status: knxnet.NoError, Control: self})
	case *knxnet.ConnStateReq:
		if g.muteKeepalive.Load() {
			return
		}
		var st knxnet.ErrCode = knxnet.NoError
		if _, ok := g.clients[req.Channel]; !ok {
			st = knxnet.ErrConnectionID
		}
		g.sendLocked(&fakeClient{addr: from}, &knxnet.ConnStateRes{Channel: req.Channel, Status: st})
	case *knxnet.DiscReq:
		delete(g.clients, req.Channel)
		g.sendLocked(&fakeClient{addr: from}, &knxnet.DiscRes{Channel: req.Channel})
	case *knxnet.TunnelReq:
		c, ok := g.clients[req.Channel]
		if !ok {
			return
		}
		if g.dropRequests.Load() > 0 {
			g.dropRequests.Add(-1)
			return
		}
		ack := &knxnet.TunnelRes{Channel: req.Channel, SeqNumber: req.SeqNumber}
		switch req.SeqNumber {
		case c.rxSeq:
			c.rxSeq++
		case c.rxSeq - 1: // a repeat: acknowledge, do not forward again
			g.sendLocked(c, ack)
			return
		default:
			g.t.Errorf("fake gateway: sequence number %d, want %d", req.SeqNumber, c.rxSeq)
			return
		}
		if g.dropAcks.Load() > 0 {
			g.dropAcks.Add(-1)
		} else {
			g.sendLocked(c, ack)
		}
		ldr, ok := req.Payload.(*cemi.LDataReq)
		if !ok {
			g.t.Errorf("fake gateway: tunnelled %T, want L_Data.req", req.Payload)
			return
		}
		if g.writes != nil {
			g.writes <- *ldr
		}
		// Forward the frame verbatim, as L_Data.ind.
		raw := append([]byte(nil), body[4:]...)
		raw[0] = 0x29
		for ch, o := range g.clients {
			if ch == req.Channel {
				continue
			}
			b := []byte{6, 0x10, 0x04, 0x20, 0, 0, 4, ch, o.txSeq, 0}
			b = append(b, raw...)
			b[4], b[5] = byte(len(b)>>8), byte(len(b))
			o.txSeq++
			_, _ = g.conn.WriteToUDP(b, o.addr)
		}
		g.forwarded.Add(1)
	case *knxnet.TunnelRes, *knxnet.DiscRes:
	default:
		g.t.Errorf("fake gateway: unexpected %T", srv)
	}
}
