package knx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/aimdb-go/aimdb/connector"
	"github.com/vapourismo/knx-go/knx/knxnet"
)

var (
	errAckTimeout = errors.New("knx: no TUNNELLING_ACK after two sends")
	errHeartbeat  = errors.New("knx: gateway did not answer three CONNECTIONSTATE_REQUESTs")
	errGatewayEnd = errors.New("knx: gateway ended the connection")
)

// nat is the HPAI of a client behind NAT (0.0.0.0:0, UDP): the gateway
// answers to the datagram's source.
var nat = knxnet.HostInfo{Protocol: knxnet.UDP4}

// pack packs a KNXnet/IP service with knx-go.
func pack(s knxnet.ServicePackable) []byte { return knxnet.AllocAndPack(s) }

type ackInfo struct {
	seq, status byte
}

// A tunnel is one KNXnet/IP tunnelling connection.
type tunnel struct {
	d       *Dialer
	conn    *net.UDPConn
	channel byte

	done    chan struct{}
	endOnce sync.Once
	wg      sync.WaitGroup

	sendMu sync.Mutex // one telegram in flight, as tunnelling requires
	seq    byte
	buf    []byte
	acks   chan ackInfo
	states chan byte

	subsMu sync.RWMutex
	subs   connector.TopicRouter[func(*connector.Message)]
}

var _ connector.Session = (*tunnel)(nil)

func dialTunnel(ctx context.Context, d *Dialer) (*tunnel, error) {
	raddr, err := net.ResolveUDPAddr("udp4", d.gateway)
	if err != nil {
		return nil, fmt.Errorf("knx: resolve gateway: %w", err)
	}
	conn, err := net.DialUDP("udp4", nil, raddr)
	if err != nil {
		return nil, fmt.Errorf("knx: %w", err)
	}
	t := &tunnel{
		d:      d,
		conn:   conn,
		done:   make(chan struct{}),
		acks:   make(chan ackInfo, 1),
		states: make(chan byte, 1),
	}
	if err := t.connect(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	t.wg.Add(2)
	go t.read()
	go t.heartbeat()
	return t, nil
}

// connect sends CONNECT_REQUEST (tunnel, link layer) and waits for the
// response, resending the request once a second.
func (t *tunnel) connect(ctx context.Context) error {
	req := pack(&knxnet.ConnReq{Control: nat, Tunnel: nat, Layer: knxnet.TunnelLayerData})
	deadline := time.Now().Add(t.d.opts.ConnectTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	stop := context.AfterFunc(ctx, func() { t.conn.SetReadDeadline(time.Now()) })
	defer stop()
	defer t.conn.SetReadDeadline(time.Time{})
	buf := make([]byte, 1024)
	for {
		if _, err := t.conn.Write(req); err != nil {
			return fmt.Errorf("knx: connect: %w", err)
		}
		resend := time.Now().Add(time.Second)
		if deadline.Before(resend) {
			resend = deadline
		}
		t.conn.SetReadDeadline(resend)
		for {
			n, err := t.conn.Read(buf)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if time.Now().Before(deadline) {
					break // resend
				}
				return fmt.Errorf("knx: no CONNECT_RESPONSE from %s within %v", t.d.String(), t.d.opts.ConnectTimeout)
			}
			if err != nil {
				return fmt.Errorf("knx: connect: %w", err)
			}
			svc, body, err := parseHeader(buf[:n])
			if err != nil || svc != svcConnRes {
				continue
			}
			if len(body) < 2 {
				t.d.refuse(errors.New("knx: CONNECT_RESPONSE truncated"))
				continue
			}
			if st := knxnet.ErrCode(body[1]); st != knxnet.NoError {
				return fmt.Errorf("knx: gateway refused the connection: %v (status %#02x)", st, byte(st))
			}
			t.channel = body[0]
			return nil
		}
	}
}

func (t *tunnel) end() {
	t.endOnce.Do(func() {
		close(t.done)
		t.conn.Close()
	})
}

// Done implements connector.Session.
func (t *tunnel) Done() <-chan struct{} { return t.done }

// Close implements connector.Session: it sends DISCONNECT_REQUEST and
// closes the socket.
func (t *tunnel) Close() error {
	select {
	case <-t.done:
	default:
		_, _ = t.conn.Write(pack(&knxnet.DiscReq{Channel: t.channel, Control: nat}))
	}
	t.end()
	t.wg.Wait()
	return nil
}

// Subscribe implements connector.Session.
func (t *tunnel) Subscribe(ctx context.Context, l *connector.Link, deliver func(*connector.Message)) error {
	f, err := canonicalFilter(l.Topic)
	if err != nil {
		return err
	}
	t.subsMu.Lock()
	defer t.subsMu.Unlock()
	select {
	case <-t.done:
		return connector.ErrNotConnected
	default:
	}
	t.subs.Add(f, deliver)
	return nil
}

// Publish implements connector.Session: it sends a GroupValueWrite and
// returns once the gateway acknowledged it.
func (t *tunnel) Publish(ctx context.Context, m *connector.Message) error {
	dst, short, p, err := outbound(m)
	if err != nil {
		return err
	}

	t.sendMu.Lock()
	defer t.sendMu.Unlock()
	seq := t.seq
	t.buf = t.buf[:0]
	cemiLen := 11 + len(p)
	if short {
		cemiLen = 11
	}
	t.buf = appendHeader(t.buf, svcTunnelReq, 4+cemiLen)
	t.buf = append(t.buf, 4, t.channel, seq, 0)
	t.buf = appendLData(t.buf, codeLDataReq, 0, dst, apciWrite, short, p)
	select {
	case <-t.acks: // a stale ACK
	default:
	}
	timer := time.NewTimer(t.d.opts.AckTimeout)
	defer timer.Stop()
	for attempt := 0; ; attempt++ {
		if _, err := t.conn.Write(t.buf); err != nil {
			t.end()
			return fmt.Errorf("%w: %v", connector.ErrNotConnected, err)
		}
	wait:
		select {
		case a := <-t.acks:
			if a.seq != seq {
				goto wait
			}
			t.seq++
			if a.status != 0 {
				t.d.st.nacks.Add(1)
				return fmt.Errorf("knx: gateway refused the telegram to %v: %v (status %#02x)", dst, knxnet.ErrCode(a.status), a.status)
			}
			return nil
		case <-timer.C:
			if attempt == 0 {
				t.d.st.resent.Add(1)
				timer.Reset(t.d.opts.AckTimeout)
				continue
			}
			t.d.st.ackTimeouts.Add(1)
			t.end()
			return fmt.Errorf("%w: %w", connector.ErrNotConnected, errAckTimeout)
		case <-t.done:
			// The ACK may have arrived just before the session ended.
			select {
			case a := <-t.acks:
				if a.seq == seq && a.status == 0 {
					return nil
				}
			default:
			}
			return connector.ErrNotConnected
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// heartbeat sends CONNECTIONSTATE_REQUEST every HeartbeatInterval and
// ends the session after three unanswered ones or an error status.
func (t *tunnel) heartbeat() {
	defer t.wg.Done()
	o := &t.d.opts
	tick := time.NewTicker(o.HeartbeatInterval)
	defer tick.Stop()
	req := pack(&knxnet.ConnStateReq{Channel: t.channel, Control: nat})
	for {
		select {
		case <-t.done:
			return
		case <-tick.C:
		}
		ok := false
		for range 3 {
			select {
			case <-t.states:
			default:
			}
			if _, err := t.conn.Write(req); err != nil {
				t.end()
				return
			}
			timer := time.NewTimer(o.HeartbeatTimeout)
			select {
			case st := <-t.states:
				timer.Stop()
				if st != 0 {
					t.d.opts.Logger.Warn("knx: gateway reports the connection broken", "gateway", t.d.String(), "status", st)
					t.end()
					return
				}
				ok = true
			case <-timer.C:
			case <-t.done:
				timer.Stop()
				return
			}
			if ok {
				break
			}
		}
		if !ok {
			t.d.opts.Logger.Warn(errHeartbeat.Error(), "gateway", t.d.String())
			t.end()
			return
		}
	}
}

// read is the session's receive loop: it dispatches every datagram and
// delivers group writes to the subscriptions, in order.
func (t *tunnel) read() {
	defer t.wg.Done()
	defer t.end()
	buf := make([]byte, 2048)
	var rxSeq byte
	var one [1]byte
	var matched []func(*connector.Message)
	for {
		n, err := t.conn.Read(buf)
		if err != nil {
			return
		}
		svc, body, err := parseHeader(buf[:n])
		if err != nil {
			t.d.refuse(err)
			continue
		}
		switch svc {
		case svcTunnelReq:
			if len(body) < 4 || body[0] != 4 {
				t.d.refuse(errors.New("knx: TUNNELLING_REQUEST with a malformed connection header"))
				continue
			}
			if body[1] != t.channel {
				t.d.refuse(fmt.Errorf("knx: TUNNELLING_REQUEST for channel %d, not %d", body[1], t.channel))
				continue
			}
			seq := body[2]
			switch seq {
			case rxSeq:
				rxSeq++
			case rxSeq - 1:
				t.ack(seq) // a repeat: ACK again, deliver once
				continue
			default:
				t.d.st.outOfSeq.Add(1)
				continue
			}
			t.ack(seq)
			tg, err := parseLData(body[4:])
			if err != nil {
				t.d.refuse(err)
				continue
			}
			if tg.code != codeLDataInd || tg.apci != apciWrite {
				continue // our own confirmations, reads and responses
			}
			t.d.st.telegrams.Add(1)
			topic := tg.dst.String()
			t.subsMu.RLock()
			matched = t.subs.Match(topic, matched[:0])
			t.subsMu.RUnlock()
			msg := connector.Message{Topic: topic, Payload: tg.payload(&one)}
			for _, deliver := range matched {
				deliver(&msg)
			}
		case svcTunnelAck:
			if len(body) < 4 || body[0] != 4 || body[1] != t.channel {
				t.d.refuse(errors.New("knx: malformed or foreign TUNNELLING_ACK"))
				continue
			}
			select {
			case t.acks <- ackInfo{seq: body[2], status: body[3]}:
			default:
			}
		case svcConnStateRes:
			if len(body) < 2 || body[0] != t.channel {
				t.d.refuse(errors.New("knx: malformed or foreign CONNECTIONSTATE_RESPONSE"))
				continue
			}
			select {
			case t.states <- body[1]:
			default:
			}
		case svcDiscReq:
			if len(body) < 1 || body[0] != t.channel {
				t.d.refuse(errors.New("knx: malformed or foreign DISCONNECT_REQUEST"))
				continue
			}
			_, _ = t.conn.Write(pack(&knxnet.DiscRes{Channel: t.channel}))
			t.d.opts.Logger.Warn(errGatewayEnd.Error(), "gateway", t.d.String())
			return
		case svcDiscRes, svcConnRes:
		default:
			t.d.refuse(fmt.Errorf("knx: unexpected KNXnet/IP service %#04x", svc))
		}
	}
}

func (t *tunnel) ack(seq byte) {
	_, _ = t.conn.Write(pack(&knxnet.TunnelRes{Channel: t.channel, SeqNumber: seq}))
}
