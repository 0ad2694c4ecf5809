// Package mirror is the connector that makes records of one DB follow
// records of another DB serving AimX (aimx.Server), over a Unix socket,
// TCP or a serial line, with no broker between them:
//
//	d, err := mirror.NewDialer("tcp://hub.lan:7433", nil) // or unix:///run/aimdb.sock, serial:///dev/ttyACM0?baud=115200
//	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"hub": d}})
//	temp.LinkFrom("hub://station.7.temperature", codec.JSONFor(contracts.TemperatureContract))
//	fam.LinkFrom("hub://station.{id}.humidity", codec.JSONFor(contracts.HumidityContract))
//	setpoint.LinkTo("hub://config.7.setpoint", codec.JSON[Setpoint]{})
//
// The scheme is the name the Dialer is registered under ("hub" above;
// one Dialer per serving DB), and a link's topic is a record key of the
// serving DB, or, inbound, an AimX pattern ('.' between segments, '*'
// one segment, '#' the rest) or a family template. The serving DB's
// records must be opened with RemoteAccess, with the same contract's
// JSON codec as the link's (the contract decides the wire form on both
// sides).
//
// LinkFrom subscribes to the key or pattern (AimX "sub"): the serving
// DB's newest value arrives first (its snapshot), then every value it
// produces. Each event carries the subscription's sequence number; the
// values the serving DB dropped for a slow connection, and those the
// Dialer's reader dropped, are counted in the link's "lost" metadata,
// exactly, from the gaps. After a reconnect the DB subscribes again; the
// values produced while the connection was down are not seen, except the
// newest, which the new snapshot carries (a snapshot equal to the last
// value delivered for its record is not delivered again).
//
// LinkTo sets the record with AimX record.set for each value, up to
// Options.Window requests in flight, in order: a value counts as
// published once the serving DB answered that it stored it, so DB.Flush
// covers mirror links. A refusal (the record does not exist, has no write
// policy, or the value does not decode) is counted against the link as a
// publish error, and the value is dropped; a lost connection requeues
// the values awaiting an answer.
//
// A LinkFrom to a record key the serving DB does not have is refused
// (not_found): the connection counts as failed and is retried with
// backoff, the link's last_error naming it. Link records that appear
// later (family instances) with a pattern or a family template.
//
// The DB owns the connection: it dials, reconnects with backoff,
// subscribes again and queues values while offline, as for MQTT.
package mirror

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/connector"
)

// Options configure a Dialer. The zero value is ready to use.
type Options struct {
	// Token is sent as hello's auth_token.
	Token string
	// Name is sent as hello's client name. Default "aimdb-mirror".
	Name string
	// Keepalive sends a ping after this much silence and drops the
	// connection when nothing answers within as long again; the DB then
	// reconnects. Default 30 s; negative turns it off.
	Keepalive time.Duration
	// DialTimeout bounds connecting and the hello exchange. Default 5 s.
	DialTimeout time.Duration
	// Window is how many record.set requests an outbound link keeps in
	// flight, awaiting their answers. Default 32; 1 waits for each.
	Window int
}

// A Dialer links records to the records of one AimX server. Its methods
// are safe for concurrent use.
type Dialer struct {
	endpoint string
	opts     Options

	mu   sync.Mutex
	last map[string][]byte // record key → the last payload delivered, to skip a snapshot of it
}

var (
	_ connector.Dialer        = (*Dialer)(nil)
	_ connector.LinkValidator = (*Dialer)(nil)
	_ connector.TopicGrammar  = (*Dialer)(nil)
	_ connector.Session       = (*session)(nil)
	_ connector.Pipeliner     = (*session)(nil)
)

// NewDialer returns a Dialer for the AimX server at endpoint:
// "unix:///path" (or a path), "tcp://host:port" or
// "serial:///dev/tty…?baud=115200" (COBS framing). A nil opts is the same
// as &Options{}. Errors name the endpoint.
func NewDialer(endpoint string, opts *Options) (*Dialer, error) {
	if _, err := aimx.ParseEndpoint(endpoint); err != nil {
		return nil, fmt.Errorf("mirror: %w", err)
	}
	d := &Dialer{endpoint: endpoint, last: map[string][]byte{}}
	if opts != nil {
		d.opts = *opts
	}
	if d.opts.Name == "" {
		d.opts.Name = "aimdb-mirror"
	}
	if d.opts.Window <= 0 {
		d.opts.Window = 32
	}
	if d.opts.Keepalive == 0 {
		d.opts.Keepalive = 30 * time.Second
	}
	return d, nil
}

// String returns the endpoint.
func (d *Dialer) String() string { return "mirror " + d.endpoint }

// TopicGrammar implements connector.TopicGrammar: topics are AimX keys
// and patterns, segments separated by '.', '*' matching one.
func (d *Dialer) TopicGrammar() (byte, string) { return '.', "*" }

// ValidateLink implements connector.LinkValidator: an outbound topic is
// one record key (no '*' or '#'), and mirror links take no parameters.
func (d *Dialer) ValidateLink(l *connector.Link) error {
	if !l.Inbound && aimx.IsWildcard(l.Topic) {
		return fmt.Errorf("outbound mirror topic %q holds a wildcard; name one record", l.Topic)
	}
	for k := range l.Params {
		return fmt.Errorf("unknown parameter %q (mirror links take none)", k)
	}
	return nil
}

// Dial implements connector.Dialer: it connects and says hello.
// mirrorStreamBuffer is the updates each inbound link's stream holds.
const mirrorStreamBuffer = 8192

func (d *Dialer) Dial(ctx context.Context) (connector.Session, error) {
	ka := max(d.opts.Keepalive, 0)
	// A burst of the serving DB waits in the stream (up to
	// mirrorStreamBuffer) rather than being dropped while the DB stores.
	c, err := aimx.Dial(ctx, d.endpoint, &aimx.ClientOptions{Token: d.opts.Token, Name: d.opts.Name,
		DialTimeout: d.opts.DialTimeout, NoReconnect: true, Keepalive: ka, StreamBuffer: mirrorStreamBuffer})
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	return &session{d: d, c: c, ctx: sctx, cancel: cancel}, nil
}

// delivered records the payload last delivered for topic; a snapshot
// equal to it is not delivered again.
func (d *Dialer) delivered(topic string, payload []byte, snapshot bool) (again bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	prev, ok := d.last[topic]
	if snapshot && ok && bytes.Equal(prev, payload) {
		return true
	}
	d.last[topic] = append(prev[:0], payload...)
	return false
}

type session struct {
	d      *Dialer
	c      *aimx.Client
	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	deliverMu sync.Mutex // one deliver at a time per session, as the SPI asks
}

func (s *session) Done() <-chan struct{} { return s.c.Done() }

// Close ends the session and waits for its readers.
func (s *session) Close() error {
	s.cancel()
	err := s.c.Close()
	s.wg.Wait()
	return err
}

// lost reports whether err means the connection is gone.
func lost(err error) bool {
	return errors.Is(err, aimx.ErrDisconnected) || errors.Is(err, aimx.ErrClientClosed)
}

// value is m's payload as the JSON value record.set carries: the payload
// itself when it is JSON (a JSON codec's output), else a JSON string.
func value(m *connector.Message) (json.RawMessage, error) {
	if json.Valid(m.Payload) {
		return m.Payload, nil
	}
	return json.Marshal(string(m.Payload))
}

// outcome maps a record.set error to the connector SPI: a lost
// connection is connector.ErrNotConnected (the DB requeues the value),
// anything else a refusal.
func outcome(err error) error {
	if err != nil && lost(err) {
		return fmt.Errorf("%w: %v", connector.ErrNotConnected, err)
	}
	return err
}

// Publish sets the record m.Topic to the payload (record.set) and
// returns once the serving DB answered.
func (s *session) Publish(ctx context.Context, m *connector.Message) error {
	v, err := value(m)
	if err != nil {
		return err
	}
	_, err = s.c.Set(ctx, m.Topic, v)
	return outcome(err)
}

// PublishWindow implements connector.Pipeliner: Options.Window.
func (s *session) PublishWindow() int { return s.d.opts.Window }

// PublishAsync implements connector.Pipeliner: it writes the record.set
// request and reports the answer to done.
func (s *session) PublishAsync(ctx context.Context, m *connector.Message, done func(*connector.Message, error)) (bool, error) {
	v, err := value(m)
	if err != nil {
		return false, err
	}
	if err := s.c.SetAsync(ctx, m.Topic, v, func(err error) { done(m, outcome(err)) }); err != nil {
		return false, outcome(err)
	}
	return true, nil
}

// Subscribe subscribes to l.Topic and delivers its values until the
// session ends. A refusal is returned as an *aimx.Error.
func (s *session) Subscribe(ctx context.Context, l *connector.Link, deliver func(*connector.Message)) error {
	st, err := s.c.Subscribe(ctx, l.Topic)
	if err != nil {
		if lost(err) {
			return fmt.Errorf("%w: %v", connector.ErrNotConnected, err)
		}
		return err
	}
	s.wg.Go(func() {
		defer st.Close()
		var m connector.Message
		for {
			u, err := st.Next(s.ctx)
			if err != nil {
				if s.ctx.Err() == nil {
					// The server ended the subscription or the connection
					// is gone: end the session, and the DB dials again and
					// subscribes anew.
					s.c.Close()
				}
				return
			}
			if s.d.delivered(u.Topic, u.Data, u.Snapshot) {
				continue
			}
			m = connector.Message{Topic: u.Topic, Payload: u.Data, Lost: u.Lost}
			s.deliverMu.Lock()
			deliver(&m)
			s.deliverMu.Unlock()
		}
	})
	return nil
}
