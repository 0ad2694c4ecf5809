package knx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/aimdb-go/aimdb/connector"
)

// Options configure a Dialer. The zero value is ready to use.
type Options struct {
	// ConnectTimeout bounds one CONNECT_REQUEST and its response. If
	// zero, it is 5s.
	ConnectTimeout time.Duration
	// AckTimeout is how long a telegram waits for the gateway's
	// TUNNELLING_ACK before it is sent once more, with the same sequence
	// number; a second miss ends the session (the DB reconnects and sends
	// the telegram again). If zero, it is 1s, as KNXnet/IP specifies.
	AckTimeout time.Duration
	// HeartbeatInterval is the period of CONNECTIONSTATE_REQUEST
	// keepalives. If zero, it is 60s (gateways drop a tunnel after 120s
	// without one).
	HeartbeatInterval time.Duration
	// HeartbeatTimeout is how long each keepalive waits for its response;
	// after three unanswered attempts the session ends. If zero, it is
	// 10s.
	HeartbeatTimeout time.Duration
	// Address is the individual address routing telegrams are sent
	// from (area.line.device). If empty, it is 15.15.250. Tunnelling
	// ignores it: the gateway assigns the address of a tunnel.
	Address string
	// Logger receives warnings about refused telegrams (at most one per
	// 10s, with the count of those held back). If nil, nothing is logged.
	Logger *slog.Logger
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.ConnectTimeout <= 0 {
		r.ConnectTimeout = 5 * time.Second
	}
	if r.AckTimeout <= 0 {
		r.AckTimeout = time.Second
	}
	if r.HeartbeatInterval <= 0 {
		r.HeartbeatInterval = 60 * time.Second
	}
	if r.HeartbeatTimeout <= 0 {
		r.HeartbeatTimeout = 10 * time.Second
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	return r
}

// Stats are a Dialer's counters, summed over its sessions.
type Stats struct {
	// Telegrams counts group telegrams received (L_Data.ind) that parsed.
	Telegrams uint64 `json:"telegrams"`
	// Refused counts datagrams and telegrams that did not parse: a bad
	// KNXnet/IP header, a truncated or over-long cEMI frame, a foreign
	// channel. They are logged and never delivered.
	Refused uint64 `json:"refused"`
	// OutOfSequence counts tunnelling requests dropped for a sequence
	// number that was neither the next nor a repeat of the last.
	OutOfSequence uint64 `json:"out_of_sequence"`
	// Resent counts telegrams sent a second time after a missing ACK.
	Resent uint64 `json:"resent"`
	// AckTimeouts counts telegrams whose second send got no ACK either
	// (each ended its session).
	AckTimeouts uint64 `json:"ack_timeouts"`
	// Nacks counts telegrams the gateway acknowledged with an error
	// status (counted as publish_errors of their link too).
	Nacks uint64 `json:"nacks"`
}

type stats struct {
	telegrams, refused, outOfSeq, resent, ackTimeouts, nacks atomic.Uint64
}

// A Dialer opens KNXnet/IP tunnelling connections to one gateway. It is
// safe for concurrent use.
type Dialer struct {
	gateway string // host:port: the tunnelling server, or the routing multicast group
	routing bool
	iface   string // routing: the multicast interface ("" for the system's choice)
	src     uint16 // routing: the individual source address
	opts    Options
	st      stats
	warn    rateLimit
}

var (
	_ connector.Dialer        = (*Dialer)(nil)
	_ connector.LinkValidator = (*Dialer)(nil)
)

// NewDialer returns a Dialer for the KNXnet/IP tunnelling gateway at
// udp://host[:port] (knx://host[:port] is the same; port 3671), or for
// KNXnet/IP routing on a multicast group,
// multicast://224.0.23.12[:3671][?iface=eth0] (the KNX system group,
// on the named interface or the system's choice). o may be nil.
func NewDialer(gateway string, o *Options) (*Dialer, error) {
	u, err := url.Parse(gateway)
	if err != nil {
		return nil, fmt.Errorf("knx: malformed gateway URL %q", gateway)
	}
	if u.Scheme != "udp" && u.Scheme != "knx" && u.Scheme != "multicast" {
		return nil, fmt.Errorf("knx: gateway URL scheme %q: want udp, knx or multicast", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("knx: gateway URL %q has no host", gateway)
	}
	q := u.Query()
	iface := q.Get("iface")
	q.Del("iface")
	if (u.Path != "" && u.Path != "/") || len(q) > 0 || u.Fragment != "" || u.User != nil || iface != "" && u.Scheme != "multicast" {
		return nil, fmt.Errorf("knx: gateway URL %q: want udp://host[:port] or multicast://group[:port][?iface=name]", gateway)
	}
	routing := u.Scheme == "multicast"
	if ip := net.ParseIP(u.Hostname()); routing && (ip == nil || ip.To4() == nil || !ip.IsMulticast()) {
		return nil, fmt.Errorf("knx: gateway URL %q: routing needs an IPv4 multicast group", gateway)
	}
	port := u.Port()
	if port == "" {
		port = "3671"
	} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return nil, fmt.Errorf("knx: gateway URL %q: bad port", gateway)
	}
	d := &Dialer{gateway: net.JoinHostPort(u.Hostname(), port), routing: routing, iface: iface, opts: o.withDefaults()}
	addr := d.opts.Address
	if addr == "" {
		addr = "15.15.250"
	}
	var a, l, dev int
	if n, err := fmt.Sscanf(addr, "%d.%d.%d", &a, &l, &dev); err != nil || n != 3 || a < 0 || a > 15 || l < 0 || l > 15 || dev < 0 || dev > 255 || fmt.Sprintf("%d.%d.%d", a, l, dev) != addr {
		return nil, fmt.Errorf("knx: individual address %q: want area.line.device (0-15.0-15.0-255)", addr)
	}
	d.src = uint16(a<<12 | l<<8 | dev)
	return d, nil
}

// String returns the gateway's URL.
func (d *Dialer) String() string {
	if d.routing {
		if d.iface != "" {
			return "multicast://" + d.gateway + "?iface=" + d.iface
		}
		return "multicast://" + d.gateway
	}
	return "udp://" + d.gateway
}

// Stats returns the dialer's counters.
func (d *Dialer) Stats() Stats {
	return Stats{
		Telegrams:     d.st.telegrams.Load(),
		Refused:       d.st.refused.Load(),
		OutOfSequence: d.st.outOfSeq.Load(),
		Resent:        d.st.resent.Load(),
		AckTimeouts:   d.st.ackTimeouts.Load(),
		Nacks:         d.st.nacks.Load(),
	}
}

// Frame forms of outbound telegrams (the frame link parameter).
const (
	// FrameAuto sends a one-byte payload below 64 as a short telegram,
	// its value in the APCI octet, and anything else as data octets:
	// the rule of AimDB's Rust connector, byte for byte.
	FrameAuto = "auto"
	// FrameShort sends every payload as a short telegram; it must be one
	// byte below 64 (DPT 1, 2 and 3).
	FrameShort = "short"
	// FrameLong sends every payload as data octets, also one byte below
	// 64 (DPT 5 and 6, which a strict receiver expects in long form).
	FrameLong = "long"
)

// ValidateLink implements connector.LinkValidator. An outbound topic is
// a group address (main/middle/sub or main/sub); an inbound topic is a
// group address or a filter of '+' levels and a final '#'
// ("9/1/+", "9/#"). The one parameter is frame (auto, short or long;
// outbound only).
func (d *Dialer) ValidateLink(l *connector.Link) error {
	for k := range l.Params {
		if k != "frame" {
			return fmt.Errorf("knx: unknown link parameter %q (the KNX connector takes frame)", k)
		}
	}
	if l.Params.Has("frame") {
		if l.Inbound {
			return errors.New("knx: frame applies to outbound links only")
		}
		if _, err := frameOf(l); err != nil {
			return err
		}
	}
	if l.Inbound {
		_, err := canonicalFilter(l.Topic)
		return err
	}
	_, err := ParseGroupAddress(l.Topic)
	return err
}

func frameOf(l *connector.Link) (string, error) {
	if l == nil {
		return FrameAuto, nil
	}
	switch f := l.Params.Get("frame"); f {
	case "", FrameAuto:
		return FrameAuto, nil
	case FrameShort, FrameLong:
		return f, nil
	default:
		return "", fmt.Errorf("knx: frame %q: want auto, short or long", f)
	}
}

// Dial implements connector.Dialer: it opens a tunnelling connection
// (link layer) and returns once the gateway accepted it, or joins the
// routing multicast group.
func (d *Dialer) Dial(ctx context.Context) (connector.Session, error) {
	if d.routing {
		return dialRouter(ctx, d)
	}
	return dialTunnel(ctx, d)
}

// rateLimit lets one event through per period and counts the others.
type rateLimit struct {
	last atomic.Int64
	held atomic.Uint64
}

func (r *rateLimit) allow() (bool, uint64) {
	now := time.Now().UnixNano()
	last := r.last.Load()
	if now-last < int64(10*time.Second) || !r.last.CompareAndSwap(last, now) {
		r.held.Add(1)
		return false, 0
	}
	return true, r.held.Swap(0)
}

func (d *Dialer) refuse(err error) {
	d.st.refused.Add(1)
	if ok, held := d.warn.allow(); ok {
		d.opts.Logger.Warn("knx: telegram refused", "gateway", d.String(), "err", err, "suppressed", held)
	}
}
