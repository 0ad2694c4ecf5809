package knx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/aimdb-go/aimdb/connector"
	"golang.org/x/net/ipv4"
)

// A router is one KNXnet/IP routing session: it receives the
// ROUTING_INDICATIONs of a multicast group and sends its own there.
// Routing has no connection and no acknowledgement: a telegram is sent
// once, at most once delivered.
type router struct {
	d     *Dialer
	recv  *net.UDPConn
	send  *net.UDPConn
	self  *net.UDPAddr // the send socket's address: our own indications come back from it
	local []net.IP     // this host's addresses
	group *net.UDPAddr

	done    chan struct{}
	endOnce sync.Once
	wg      sync.WaitGroup

	sendMu sync.Mutex
	buf    []byte

	subsMu sync.RWMutex
	subs   connector.TopicRouter[func(*connector.Message)]
}

var _ connector.Session = (*router)(nil)

func dialRouter(ctx context.Context, d *Dialer) (*router, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	group, err := net.ResolveUDPAddr("udp4", d.gateway)
	if err != nil {
		return nil, fmt.Errorf("knx: multicast group: %w", err)
	}
	var ifi *net.Interface
	if d.iface != "" {
		if ifi, err = net.InterfaceByName(d.iface); err != nil {
			return nil, fmt.Errorf("knx: interface %q: %w", d.iface, err)
		}
	}
	recv, err := listenGroup(ctx, ifi, group)
	if err != nil {
		return nil, fmt.Errorf("knx: join %v: %w", group, err)
	}
	_ = recv.SetReadBuffer(1 << 20) // bursts: routing has no flow control here
	send, err := net.ListenUDP("udp4", nil)
	if err != nil {
		recv.Close()
		return nil, fmt.Errorf("knx: %w", err)
	}
	pc := ipv4.NewPacketConn(send)
	if ifi != nil {
		if err := pc.SetMulticastInterface(ifi); err != nil {
			recv.Close()
			send.Close()
			return nil, fmt.Errorf("knx: multicast interface %q: %w", d.iface, err)
		}
	}
	_ = pc.SetMulticastLoopback(true) // other DBs and knxd on this host see our telegrams
	_ = pc.SetMulticastTTL(16)
	r := &router{d: d, recv: recv, send: send, group: group, done: make(chan struct{})}
	r.self = send.LocalAddr().(*net.UDPAddr)
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				r.local = append(r.local, n.IP)
			}
		}
	}
	r.wg.Add(1)
	go r.read()
	return r, nil
}

func (r *router) end() {
	r.endOnce.Do(func() {
		close(r.done)
		r.recv.Close()
		r.send.Close()
	})
}

// Done implements connector.Session.
func (r *router) Done() <-chan struct{} { return r.done }

// Close implements connector.Session.
func (r *router) Close() error {
	r.end()
	r.wg.Wait()
	return nil
}

// Subscribe implements connector.Session.
func (r *router) Subscribe(ctx context.Context, l *connector.Link, deliver func(*connector.Message)) error {
	f, err := canonicalFilter(l.Topic)
	if err != nil {
		return err
	}
	r.subsMu.Lock()
	defer r.subsMu.Unlock()
	select {
	case <-r.done:
		return connector.ErrNotConnected
	default:
	}
	r.subs.Add(f, deliver)
	return nil
}

// Publish implements connector.Session: it sends a ROUTING_INDICATION
// carrying a GroupValueWrite L_Data.ind to the multicast group.
func (r *router) Publish(ctx context.Context, m *connector.Message) error {
	dst, short, p, err := outbound(m)
	if err != nil {
		return err
	}
	r.sendMu.Lock()
	defer r.sendMu.Unlock()
	n := 11 + len(p)
	if short {
		n = 11
	}
	r.buf = appendHeader(r.buf[:0], svcRoutingInd, n)
	r.buf = appendLData(r.buf, codeLDataInd, r.d.src, dst, apciWrite, short, p)
	if _, err := r.send.WriteToUDP(r.buf, r.group); err != nil {
		r.end()
		return fmt.Errorf("%w: %v", connector.ErrNotConnected, err)
	}
	return nil
}

func (r *router) read() {
	defer r.wg.Done()
	defer r.end()
	buf := make([]byte, 2048)
	var one [1]byte
	var matched []func(*connector.Message)
	for {
		n, from, err := r.recv.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if from.Port == r.self.Port && r.isLocal(from.IP) {
			continue // our own indication, looped back
		}
		svc, body, err := parseHeader(buf[:n])
		if err != nil {
			r.d.refuse(err)
			continue
		}
		if svc != svcRoutingInd {
			continue // ROUTING_BUSY, ROUTING_LOST_MESSAGE, searches
		}
		tg, err := parseLData(body)
		if err != nil {
			r.d.refuse(err)
			continue
		}
		if tg.code != codeLDataInd || tg.apci != apciWrite {
			continue
		}
		r.d.st.telegrams.Add(1)
		topic := tg.dst.String()
		r.subsMu.RLock()
		matched = r.subs.Match(topic, matched[:0])
		r.subsMu.RUnlock()
		msg := connector.Message{Topic: topic, Payload: tg.payload(&one)}
		for _, deliver := range matched {
			deliver(&msg)
		}
	}
}

// isLocal reports whether ip is an address of this host.
func (r *router) isLocal(ip net.IP) bool {
	for _, l := range r.local {
		if l.Equal(ip) {
			return true
		}
	}
	return false
}

// outbound checks an outbound message and returns the telegram's group
// address, form and data.
func outbound(m *connector.Message) (dst GroupAddress, short bool, p []byte, err error) {
	if dst, err = ParseGroupAddress(m.Topic); err != nil {
		return 0, false, nil, err
	}
	frame, err := frameOf(m.Link)
	if err != nil {
		return 0, false, nil, err
	}
	p = m.Payload
	switch frame {
	case FrameAuto:
		// An empty payload makes the APCI-only telegram AimDB's Rust
		// connector sends: a short one of value 0.
		short = len(p) == 0 || len(p) == 1 && p[0] < 64
		if len(p) == 0 {
			p = []byte{0}
		}
	case FrameShort:
		if len(p) != 1 || p[0] >= 64 {
			return 0, false, nil, fmt.Errorf("knx: frame=short needs a one-byte payload below 64, have %d bytes", len(p))
		}
		short = true
	}
	if len(p) > MaxData {
		return 0, false, nil, fmt.Errorf("knx: payload of %d bytes exceeds %d", len(p), MaxData)
	}
	if len(p) == 0 {
		return 0, false, nil, errors.New("knx: frame=long needs a payload")
	}
	return dst, short, p, nil
}
