package websocket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/connector"
)

// DialerOptions configure a ws-client Dialer. The zero value is ready to
// use.
type DialerOptions struct {
	// Token is sent with the upgrade ("Authorization: Bearer", or the
	// query parameter "token" in the browser).
	Token string
	// Keepalive sends an AimX ping after this much silence and drops the
	// connection when nothing arrived within as long again; the DB then
	// reconnects. Default DefaultKeepalive; negative turns it off.
	Keepalive time.Duration
	// SubscribeTimeout bounds the wait for the server to acknowledge a
	// subscription. Default 10 s.
	SubscribeTimeout time.Duration
	// HTTPClient makes the upgrade request, for example with the TLS
	// configuration of a "wss://" server whose certificate the system
	// roots do not verify. Default http.DefaultClient. The browser's
	// WebSocket ignores it.
	HTTPClient *http.Client
}

// A Dialer is the "ws-client" connector: it links records of a DB to
// the records (or "ws://" topics) of a remote AimX WebSocket server. Hand
// it to aimdb.Options.Connectors["ws-client"]:
//
//	d, err := websocket.NewDialer("ws://hub:8080/ws", nil)
//	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"ws-client": d}})
//	cfg.LinkFrom("ws-client://config.station.1", codec.JSON[Config]{})
//	temp.LinkTo("ws-client://station.1.temperature", codec.JSON[Temperature]{})
//
// LinkFrom subscribes to the remote key or pattern (the AimX grammar:
// '.' segments, '*' and '#'); each value arrives with the concrete
// record key as its topic. LinkTo sends a write frame per value with the
// payload as the codec produced it, like AimDB's WsClientConnector (no
// {"value":…} envelope). The server sets the record named by the topic if
// its policy and the client's permissions allow, or hands the payload to
// a "ws://" inbound link; it never answers a write. Payloads travel
// inside JSON frames: a payload that is not a single JSON value is sent
// as a JSON string holding its text.
//
// The DB owns the connection: it dials, reconnects with backoff,
// subscribes again after each reconnect and queues values while offline.
// The Dialer builds for GOOS=js.
type Dialer struct {
	u    *url.URL
	opts DialerOptions
}

var (
	_ connector.Dialer        = (*Dialer)(nil)
	_ connector.LinkValidator = (*Dialer)(nil)
	_ connector.Session       = (*session)(nil)
)

// NewDialer returns a Dialer for the server at endpoint ("ws://host:port/ws"
// or "wss://…"). A nil opts is the same as &DialerOptions{}.
func NewDialer(endpoint string, opts *DialerOptions) (*Dialer, error) {
	u, err := endpointURL(endpoint)
	if err != nil {
		return nil, err
	}
	d := &Dialer{u: u}
	if opts != nil {
		d.opts = *opts
	}
	if d.opts.Keepalive == 0 {
		d.opts.Keepalive = DefaultKeepalive
	}
	if d.opts.SubscribeTimeout <= 0 {
		d.opts.SubscribeTimeout = 10 * time.Second
	}
	return d, nil
}

// String returns the endpoint, without the token.
func (d *Dialer) String() string { return "ws-client " + d.u.Redacted() }

// TopicGrammar implements connector.TopicGrammar: topics are AimX
// patterns, levels separated by '.', '*' matching one level.
func (d *Dialer) TopicGrammar() (byte, string) { return '.', "*" }

// ValidateLink implements connector.LinkValidator: an outbound topic is
// one record key (no '*' or '#'), and ws-client links take no
// parameters.
func (d *Dialer) ValidateLink(l *connector.Link) error {
	if !l.Inbound && aimx.IsWildcard(l.Topic) {
		return fmt.Errorf("outbound ws-client topic %q holds a wildcard", l.Topic)
	}
	for k := range l.Params {
		return fmt.Errorf("unknown parameter %q (ws-client links take none)", k)
	}
	return nil
}

// Dial implements connector.Dialer.
func (d *Dialer) Dial(ctx context.Context) (connector.Session, error) {
	c, err := dialFrames(ctx, d.u, d.opts.Token, d.opts.HTTPClient)
	if err != nil {
		return nil, fmt.Errorf("websocket: dial %s: %w", d.u.Redacted(), err)
	}
	s := &session{d: d, c: c, done: make(chan struct{}), subs: map[string]*clientSub{}}
	s.lastIn.Store(time.Now().UnixNano())
	s.wg.Go(s.reader)
	if d.opts.Keepalive > 0 {
		s.wg.Go(s.keepalive)
	}
	return s, nil
}

type clientSub struct {
	topic   string
	deliver func(*connector.Message)
	ack     chan string // the verdict: "" accepted, else the error code
}

type session struct {
	d    *Dialer
	c    *clientConn
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup

	wmu    sync.Mutex // serializes writes
	nextID atomic.Uint64
	lastIn atomic.Int64

	mu   sync.Mutex
	subs map[string]*clientSub
}

func (s *session) Done() <-chan struct{} { return s.done }

func (s *session) end() {
	s.once.Do(func() {
		close(s.done)
		s.c.Close()
	})
}

// Close ends the session and waits for its goroutines.
func (s *session) Close() error {
	s.end()
	s.wg.Wait()
	return nil
}

func (s *session) write(ctx context.Context, f *aimx.Frame) error {
	b, err := f.AppendJSON(nil)
	if err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	select {
	case <-s.done:
		return connector.ErrNotConnected
	default:
	}
	if err := s.c.writeFrame(ctx, b); err != nil {
		s.end()
		return fmt.Errorf("%w: %v", connector.ErrNotConnected, err)
	}
	return nil
}

// Publish sends the payload as a write frame to the message's topic. It
// returns once the frame is written; a write that ctx interrupts ends
// the session.
func (s *session) Publish(ctx context.Context, m *connector.Message) error {
	payload := json.RawMessage(m.Payload)
	if !json.Valid(payload) {
		b, err := json.Marshal(string(m.Payload))
		if err != nil {
			return err
		}
		payload = b
	}
	return s.write(ctx, &aimx.Frame{T: aimx.TagWrite, Topic: m.Topic, Payload: payload})
}

// Subscribe sends a sub frame and waits for the server's
// acknowledgement; a refusal is returned as an *aimx.Error.
func (s *session) Subscribe(ctx context.Context, l *connector.Link, deliver func(*connector.Message)) error {
	id := s.nextID.Add(1)
	sid := strconv.FormatUint(id, 10)
	sub := &clientSub{topic: l.Topic, deliver: deliver, ack: make(chan string, 1)}
	s.mu.Lock()
	s.subs[sid] = sub
	s.mu.Unlock()
	if err := s.write(ctx, &aimx.Frame{T: aimx.TagSub, ID: id, Topic: l.Topic}); err != nil {
		return err
	}
	t := time.NewTimer(s.d.opts.SubscribeTimeout)
	defer t.Stop()
	select {
	case code := <-sub.ack:
		if code != "" {
			return &aimx.Error{Code: code, Method: "sub", Target: l.Topic}
		}
		return nil
	case <-s.done:
		return connector.ErrNotConnected
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		s.end()
		return fmt.Errorf("%w: no acknowledgement of the subscription to %q", connector.ErrNotConnected, l.Topic)
	}
}

// reader delivers events in arrival order until the connection fails.
func (s *session) reader() {
	defer s.end()
	var m connector.Message
	for {
		b, err := s.c.ReadFrame()
		if err != nil {
			return
		}
		s.lastIn.Store(time.Now().UnixNano())
		f, err := aimx.ParseFrame(b)
		if err != nil {
			continue
		}
		switch f.T {
		case aimx.TagEvent, aimx.TagSnap:
			s.mu.Lock()
			sub := s.subs[f.Sub]
			s.mu.Unlock()
			if sub == nil {
				continue
			}
			m.Topic, m.Payload = f.Topic, f.Data
			if m.Topic == "" {
				m.Topic = sub.topic
			}
			sub.deliver(&m)
		case aimx.TagSubscribed, aimx.TagReply:
			id := f.Sub
			if f.T == aimx.TagReply {
				id = strconv.FormatUint(f.ID, 10)
			}
			s.mu.Lock()
			sub := s.subs[id]
			if f.Err != "" {
				delete(s.subs, id)
			}
			s.mu.Unlock()
			if sub != nil {
				select {
				case sub.ack <- f.Err:
				default:
				}
			}
		}
	}
}

// keepalive pings after a silence and ends the session when nothing
// answers.
func (s *session) keepalive() {
	k := s.d.opts.Keepalive
	t := time.NewTicker(k / 2)
	defer t.Stop()
	var pinged time.Time
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		last := time.Unix(0, s.lastIn.Load())
		switch {
		case !pinged.IsZero() && last.Before(pinged) && time.Since(pinged) > k:
			s.end() // the DB reconnects
			return
		case time.Since(last) >= k && (pinged.IsZero() || !last.Before(pinged)):
			pinged = time.Now()
			if err := s.write(context.Background(), &aimx.Frame{T: aimx.TagPing}); err != nil && !errors.Is(err, connector.ErrNotConnected) {
				s.end()
			}
		}
	}
}
