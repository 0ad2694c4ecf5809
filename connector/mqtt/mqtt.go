// Package mqtt is the MQTT connector: it links records to topics on an
// MQTT broker, speaking MQTT 5 (paho.golang) by default and MQTT 3.1.1
// (paho.mqtt.golang) as an option.
//
//	d, err := mqtt.NewDialer("mqtts://user:pass@broker.example:8883", mqtt.Options{ClientID: "edge-1"})
//	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": d}})
//	temps.LinkTo("mqtt://station/1/temperature", codec.JSON[Temperature]{}, mqtt.QoS(1))
//	all.LinkFrom("mqtt://station/+/temperature", codec.JSON[Temperature]{})
//
// The link scheme is "mqtt" whatever the broker's scheme. Link URLs take
// the parameters qos (0, 1 or 2; default 1) and retain (true or false;
// default false), in the query or as Go options (QoS, Retain), which win.
// Inbound topics may hold the wildcards '+' and '#': every matching
// message is delivered, and the concrete topic reaches an
// aimdb.TopicDecoder and aimdb.RouteTopic.
//
// The DB owns the connection (see package connector): this package
// dials once per Dial, with a clean session, and reports a lost
// connection; the DB reconnects with backoff and subscribes again.
// Outbound QoS 1 and 2 messages are pipelined: up to Options.MaxInflight
// of them await their acknowledgement at once, sent in order. Inbound
// messages are routed to their links by one lookup, however many links
// share the connection.
// Credentials are used to log in and appear nowhere else: not in errors,
// logs, metadata, or the Dialer's String.
package mqtt

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector"
)

// Protocol selects the MQTT protocol version.
type Protocol int

const (
	// V5 is MQTT 5.0, the default.
	V5 Protocol = iota
	// V311 is MQTT 3.1.1.
	V311
)

func (p Protocol) String() string {
	if p == V311 {
		return "3.1.1"
	}
	return "5"
}

// Options configure a Dialer. The zero value is ready to use.
type Options struct {
	// ClientID identifies the DB to the broker. Two clients with one id
	// disconnect each other. If empty, it is "aimdb-" and 16 random hex
	// digits, fixed for the Dialer's lifetime.
	ClientID string

	// Protocol is V5 (default) or V311.
	Protocol Protocol

	// TLSConfig is the base TLS configuration of an mqtts:// broker; it
	// is cloned. If nil, the system roots verify the broker.
	TLSConfig *tls.Config
	// CAFile names a PEM file of CA certificates that verify the broker
	// instead of the system roots.
	CAFile string
	// CertFile and KeyFile name a PEM client certificate and its key.
	CertFile, KeyFile string

	// KeepAlive is the MQTT keep-alive interval. If zero, it is 30s.
	KeepAlive time.Duration
	// ConnectTimeout bounds dialling, the TLS handshake and CONNECT. If
	// zero, it is 10s.
	ConnectTimeout time.Duration

	// MaxPacketSize, when positive, is the biggest MQTT packet, in
	// bytes, the DB accepts: MQTT 5 sends it in CONNECT, and the broker
	// drops for this client every message that would make a bigger
	// packet (a message's packet is its payload, its topic and about 10
	// bytes). MQTT 3.1.1 has no such property; it is ignored there. If
	// zero, there is no limit.
	MaxPacketSize int

	// MaxInflight bounds the QoS 1 and 2 messages published and not yet
	// acknowledged by the broker: the DB sends the next message without
	// waiting for the previous one's acknowledgement, up to this window,
	// in order. In MQTT 5 the broker's receive maximum lowers it. If the
	// connection is lost, the messages in flight are sent again (at least
	// once). If zero, it is DefaultMaxInflight; at most 65535 (MQTT's
	// packet identifiers).
	MaxInflight int
}

// DefaultMaxInflight is the default of Options.MaxInflight.
const DefaultMaxInflight = 128

// A Dialer connects to one MQTT broker. It is safe for concurrent use.
type Dialer struct {
	broker   string // the broker URL without userinfo
	addr     string // host:port
	user     string
	pass     string
	hasPass  bool
	tls      *tls.Config // nil for mqtt://
	clientID string
	opts     Options
}

var (
	_ connector.Dialer        = (*Dialer)(nil)
	_ connector.LinkValidator = (*Dialer)(nil)
)

// NewDialer returns a Dialer for the broker at the URL
// mqtt://[user[:password]@]host[:port] (port 1883) or
// mqtts://[user[:password]@]host[:port] (port 8883, TLS). The user name
// and password, percent-encoded in the URL, are sent only in CONNECT.
func NewDialer(broker string, o Options) (*Dialer, error) {
	u, err := url.Parse(broker)
	if err != nil {
		// url.Error repeats the URL, which may hold a password.
		return nil, fmt.Errorf("mqtt: malformed broker URL %q", connector.Redact(broker))
	}
	d := &Dialer{opts: o, clientID: o.ClientID}
	port := ""
	switch u.Scheme {
	case "mqtt":
		port = "1883"
	case "mqtts":
		port = "8883"
	default:
		return nil, fmt.Errorf("mqtt: broker URL scheme %q: want mqtt or mqtts", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, errors.New("mqtt: broker URL has no host")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("mqtt: broker URL must be scheme://[user:pass@]host[:port]")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("mqtt: broker URL port %q out of range", p)
		}
		port = p
	}
	d.addr = net.JoinHostPort(u.Hostname(), port)
	if u.User != nil {
		d.user = u.User.Username()
		d.pass, d.hasPass = u.User.Password()
	}
	u.User = nil
	d.broker = u.String()
	if u.Scheme == "mqtts" {
		if d.tls, err = tlsConfig(o, u.Hostname()); err != nil {
			return nil, err
		}
	} else if o.CAFile != "" || o.CertFile != "" || o.TLSConfig != nil {
		return nil, errors.New("mqtt: TLS options given for a plain mqtt:// broker; use mqtts://")
	}
	if d.clientID == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		d.clientID = "aimdb-" + hex.EncodeToString(b[:])
	}
	if d.opts.KeepAlive <= 0 {
		d.opts.KeepAlive = 30 * time.Second
	}
	if d.opts.ConnectTimeout <= 0 {
		d.opts.ConnectTimeout = 10 * time.Second
	}
	if d.opts.MaxInflight <= 0 {
		d.opts.MaxInflight = DefaultMaxInflight
	}
	d.opts.MaxInflight = min(d.opts.MaxInflight, 65535)
	if o.Protocol != V5 && o.Protocol != V311 {
		return nil, fmt.Errorf("mqtt: unknown protocol %d", o.Protocol)
	}
	return d, nil
}

func tlsConfig(o Options, host string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.TLSConfig != nil {
		cfg = o.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt: CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt: CA file %s holds no PEM certificate", o.CAFile)
		}
		cfg.RootCAs = pool
	}
	if o.CertFile != "" || o.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt: client certificate: %w", err)
		}
		cfg.Certificates = append(cfg.Certificates, cert)
	}
	return cfg, nil
}

// ClientID returns the client id the Dialer connects with.
func (d *Dialer) ClientID() string { return d.clientID }

// String returns the broker URL without credentials.
func (d *Dialer) String() string { return d.broker }

// GoString returns the broker URL without credentials.
func (d *Dialer) GoString() string { return "mqtt.Dialer(" + d.broker + ")" }

// Dial connects to the broker with a clean session.
func (d *Dialer) Dial(ctx context.Context) (connector.Session, error) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.ConnectTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", d.addr)
	if err != nil {
		return nil, fmt.Errorf("mqtt: dial %s: %w", d.addr, err)
	}
	if d.tls != nil {
		tc := tls.Client(conn, d.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("mqtt: TLS handshake with %s: %w", d.addr, err)
		}
		conn = tc
	}
	var s connector.Session
	if d.opts.Protocol == V311 {
		s, err = d.dial311(ctx, conn)
	} else {
		s, err = d.dial5(ctx, conn)
	}
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("mqtt: connect to %s: %w", d.addr, err)
	}
	return s, nil
}

// ValidateLink checks a link's topic and parameters: inbound topics must
// be valid filters, outbound topics must hold no wildcard; qos must be
// 0, 1 or 2, retain (outbound) and no_local (inbound, MQTT 5) true or
// false; no other parameter is known.
func (d *Dialer) ValidateLink(l *connector.Link) error {
	if err := connector.CheckTopic(l, "MQTT topic"); err != nil {
		return err
	}
	for k := range l.Params {
		switch k {
		case "qos", "retain", "no_local":
		default:
			return fmt.Errorf("unknown MQTT link parameter %q (want qos, retain, no_local)", k)
		}
	}
	if _, _, err := LinkParams(l); err != nil {
		return err
	}
	if l.Inbound && l.Params.Has("retain") {
		return errors.New("retain applies to outbound links only")
	}
	if l.Params.Has("no_local") {
		noLocal, err := linkNoLocal(l)
		switch {
		case err != nil:
			return err
		case !l.Inbound:
			return errors.New("no_local applies to inbound links only")
		case noLocal && d.opts.Protocol == V311:
			return errors.New("no_local=true needs MQTT 5; the dialer speaks MQTT 3.1.1")
		}
	}
	return nil
}

// linkNoLocal returns an inbound link's no_local parameter ("true" or
// "false"; default false): with true the broker does not send the link
// the messages its own session publishes (MQTT 5's No Local option).
func linkNoLocal(l *connector.Link) (bool, error) {
	switch v := l.Params.Get("no_local"); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, fmt.Errorf("no_local %q: want true or false", v)
	}
}

// LinkParams returns the QoS and retain flag of a link: the parameters
// qos (0, 1 or 2; default 1) and retain ("true" or "false"; default
// false).
func LinkParams(l *connector.Link) (qos byte, retain bool, err error) {
	qos = 1
	if v := l.Params.Get("qos"); v != "" {
		switch v {
		case "0", "1", "2":
			qos = v[0] - '0'
		default:
			return 0, false, fmt.Errorf("qos %q: want 0, 1 or 2", v)
		}
	}
	switch v := l.Params.Get("retain"); v {
	case "", "false":
	case "true":
		retain = true
	default:
		return 0, false, fmt.Errorf("retain %q: want true or false", v)
	}
	return qos, retain, nil
}

// QoS sets a link's MQTT quality of service: 0 (at most once), 1 (at
// least once, the default) or 2 (exactly once).
func QoS(q int) aimdb.LinkOption { return aimdb.LinkParam("qos", strconv.Itoa(q)) }

// Retain sets the retain flag of an outbound link's messages.
func Retain(r bool) aimdb.LinkOption { return aimdb.LinkParam("retain", strconv.FormatBool(r)) }

// NoLocal makes an inbound link's subscription MQTT 5's No Local: the
// broker does not send it what the DB's own session publishes, so a DB
// that publishes to topics it also subscribes to does not read its own
// messages back. The links of a DB that subscribe to one filter must
// agree: a link that does not is refused when the session subscribes it
// (its state shows the error).
func NoLocal() aimdb.LinkOption { return aimdb.LinkParam("no_local", "true") }

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
