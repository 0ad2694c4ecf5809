package aimx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aimdb-go/aimdb"
)

// An Error is a server's refusal: the "err" of a reply.
type Error struct {
	Code   string // not_found, denied, internal, version_mismatch or invalid_params
	Method string // the method or frame refused: "record.get", "sub", …
	Target string // the record key or pattern, when there is one
	// Reason refines Code: ReasonNoValue for a not_found record.get of
	// a record that holds no value yet. AimDB's servers send none.
	Reason string
	// Message is the server's explanation, when it sent one: why a
	// record.set value did not decode, for instance.
	Message string
}

func (e *Error) Error() string {
	s := "aimx: " + e.Method
	if e.Target != "" {
		s += " " + strconv.Quote(e.Target)
	}
	switch {
	case e.Code == CodeNotFound && e.Reason == ReasonNoValue:
		s += ": the record has no value yet (not_found: no_value)"
	case e.Code == CodeNotFound:
		s += ": not found (not_found)"
	case e.Code == CodeDenied:
		s += ": refused by the server's policy (denied)"
	case e.Code == CodeVersionMismatch:
		s += ": the server does not speak AimX " + Version + " (version_mismatch)"
	case e.Code == CodeInternal:
		s += ": failed on the server (internal)"
	case e.Code == CodeInvalidParams:
		s += ": the server refused the params (invalid_params)"
	default:
		s += ": " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is makes errors.Is(err, ErrNotFound) and the like match any Error with
// the same code and reason: ErrNotFound does not match ErrNoValue.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Method == "" && t.Code == e.Code && t.Reason == e.Reason
}

// Sentinels for errors.Is.
var (
	ErrNotFound        = &Error{Code: CodeNotFound}
	ErrDenied          = &Error{Code: CodeDenied}
	ErrInternal        = &Error{Code: CodeInternal}
	ErrVersionMismatch = &Error{Code: CodeVersionMismatch}
	// ErrNoValue matches a record.get of a record that exists but holds
	// no value yet. AimDB's servers answer that plain not_found: against
	// them it is ErrNotFound.
	ErrNoValue = &Error{Code: CodeNotFound, Reason: ReasonNoValue}
	// ErrInvalidParams matches a request whose params the server
	// refused, such as a record.set value that does not decode into the
	// record's type (Message says why). AimDB's servers answer that
	// internal.
	ErrInvalidParams = &Error{Code: CodeInvalidParams}

	// ErrDisconnected reports a call whose connection was lost before
	// the reply came; the server may or may not have executed it.
	ErrDisconnected = errors.New("aimx: connection lost")
	// ErrClientClosed reports a call on a closed client.
	ErrClientClosed = errors.New("aimx: client closed")
)

// ClientOptions configure Dial. The zero value is ready to use.
type ClientOptions struct {
	// Token is sent as hello's auth_token.
	Token string
	// StreamBuffer is the number of updates each Stream holds for its
	// reader; a Stream drops (and counts in Lost) what arrives beyond
	// it. Default StreamBuffer (256).
	StreamBuffer int
	// Name is sent as hello's client name. Default "aimdb-go".
	Name string
	// DialTimeout bounds connecting and the hello exchange. Default 5 s.
	DialTimeout time.Duration
	// NoReconnect turns reconnection off: after the connection is lost,
	// every call fails with ErrDisconnected and streams end.
	NoReconnect bool
	// ReconnectDelay is the first delay between reconnection attempts;
	// it doubles up to MaxReconnectDelay. Defaults 200 ms and 10 s.
	ReconnectDelay, MaxReconnectDelay time.Duration
	// Keepalive sends a ping after this much idle time and drops the
	// connection when no answer came within another Keepalive. Zero
	// turns keepalive off.
	Keepalive time.Duration
	// NoHello skips the hello exchange (WebSocket servers gate the
	// version at the upgrade and do not answer hello).
	NoHello bool
	// Dialer opens the frame connection. Default: the transport of the
	// endpoint (Unix socket, TCP or serial line).
	Dialer func(ctx context.Context, endpoint string) (FrameConn, error)
	// MaxFrame is the largest frame, in bytes, the client sends: a call
	// whose request is bigger fails alone, with an error that is
	// ErrFrameTooLarge and names the limit, and the connection stays up
	// (a server closes the connection on a frame over its cap).
	// Default DefaultMaxFrame, the server's default cap; for a serial
	// endpoint the largest frame whose COBS encoding fits
	// DefaultCOBSResync.
	MaxFrame int
}

// A Client is a connection to an AimX server. Its methods are safe for
// concurrent use. After a lost connection it reconnects with backoff,
// says hello again and re-opens its subscriptions.
type Client struct {
	endpoint string
	opts     ClientOptions
	nextID   atomic.Uint64
	closing  chan struct{}
	done     chan struct{}

	mu      sync.Mutex
	conn    FrameConn     // nil while disconnected
	live    chan struct{} // closed while conn is set
	gen     uint64        // connection generation
	pending map[uint64]*call
	pings   []chan struct{}
	streams map[string]*Stream
	welcome Welcome
	wmu     sync.Mutex // serializes WriteFrame
	lastIn  atomic.Int64
	closed  bool
}

type call struct {
	ch  chan Frame
	gen uint64
	// done, when set, takes the outcome instead of ch (SetAsync): the
	// reply's error, or ErrDisconnected when the connection is lost.
	done func(error)
}

// Dial connects to the AimX server at endpoint (see Endpoint for the
// forms) and says hello. Errors name the endpoint.
func Dial(ctx context.Context, endpoint string, opts *ClientOptions) (*Client, error) {
	c := &Client{
		endpoint: endpoint,
		closing:  make(chan struct{}),
		done:     make(chan struct{}),
		live:     make(chan struct{}),
		pending:  map[uint64]*call{},
		streams:  map[string]*Stream{},
	}
	if opts != nil {
		c.opts = *opts
	}
	o := &c.opts
	if o.Name == "" {
		o.Name = "aimdb-go"
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.ReconnectDelay <= 0 {
		o.ReconnectDelay = 200 * time.Millisecond
	}
	if o.MaxReconnectDelay <= 0 {
		o.MaxReconnectDelay = 10 * time.Second
	}
	if o.Dialer == nil {
		if _, err := ParseEndpoint(endpoint); err != nil {
			return nil, err
		}
		o.Dialer = dialStream
	}
	if o.MaxFrame <= 0 {
		o.MaxFrame = DefaultMaxFrame
		if e, err := ParseEndpoint(endpoint); err == nil && e.Scheme == "serial" {
			o.MaxFrame = maxCOBSFrame
		}
	}
	conn, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	c.activate(conn)
	go c.run(conn)
	return c, nil
}

// clientMaxFrame caps the frames a client reads. Replies come from the
// server the client chose to trust; a detailed record.list of a large DB
// exceeds the 64 KiB the server accepts.
const clientMaxFrame = 16 << 20

func dialStream(ctx context.Context, endpoint string) (FrameConn, error) {
	e, err := ParseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	if e.Scheme == "serial" {
		port, err := OpenSerial(e.Addr, e.Baud)
		if err != nil {
			return nil, err
		}
		return &streamConn{rw: port, r: NewFrameReader(port, COBS, 0), f: COBS}, nil
	}
	network := "unix"
	if e.Scheme == "tcp" {
		network = "tcp"
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, e.Addr)
	if err != nil {
		return nil, err
	}
	f := e.Framing()
	return &streamConn{rw: nc, r: NewFrameReader(nc, f, clientMaxFrame), f: f}, nil
}

// helloRetry is how long a client on a serial line waits for the answer
// to hello before saying it again.
const helloRetry = 500 * time.Millisecond

// connect dials and says hello. The connection is not yet live.
func (c *Client) connect(ctx context.Context) (FrameConn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer cancel()
	conn, err := c.opts.Dialer(ctx, c.endpoint)
	if err != nil {
		return nil, fmt.Errorf("aimx: cannot connect to %s: %w", c.endpoint, err)
	}
	if c.opts.NoHello {
		return conn, nil
	}
	// Hello runs before the reader starts: read frames here until its
	// reply arrives.
	id := c.nextID.Add(1)
	params, _ := json.Marshal(HelloParams{Client: c.opts.Name, Version: Version, AuthToken: c.opts.Token})
	hello := Frame{T: TagReq, ID: id, Method: "hello", Params: params}
	type result struct {
		w   Welcome
		err error
	}
	res := make(chan result, 1)
	b, _ := hello.AppendJSON(nil)
	answered, sent := make(chan struct{}), make(chan struct{})
	var resend sync.WaitGroup
	defer func() { close(answered); resend.Wait() }() // no write of its may overlap the client's
	if e, err := ParseEndpoint(c.endpoint); err == nil && e.Scheme == "serial" {
		// A serial line loses what it carries while the other end is
		// not listening yet (a device resetting, QEMU noticing its pty
		// opened): say hello again every helloRetry until answered.
		resend.Go(func() {
			select {
			case <-sent:
			case <-answered:
				return
			}
			t := time.NewTicker(helloRetry)
			defer t.Stop()
			for {
				select {
				case <-answered:
					return
				case <-t.C:
					if conn.WriteFrame(b) != nil {
						return
					}
				}
			}
		})
	}
	go func() {
		if err := conn.WriteFrame(b); err != nil {
			res <- result{err: err}
			return
		}
		close(sent)
		for {
			b, err := conn.ReadFrame()
			if err != nil {
				res <- result{err: err}
				return
			}
			f, err := ParseFrame(b)
			if err != nil || f.T != TagReply || f.ID != id {
				continue
			}
			if f.Err != "" {
				res <- result{err: &Error{Code: f.Err, Method: "hello"}}
				return
			}
			var w Welcome
			if err := json.Unmarshal(f.OK, &w); err != nil {
				res <- result{err: fmt.Errorf("aimx: hello: bad welcome: %w", err)}
				return
			}
			if !compatible(w.Version) {
				res <- result{err: fmt.Errorf("aimx: the server speaks AimX %q, not %s", w.Version, Version)}
				return
			}
			res <- result{w: w}
			return
		}
	}()
	select {
	case r := <-res:
		if r.err != nil {
			conn.Close()
			return nil, fmt.Errorf("aimx: cannot connect to %s: %w", c.endpoint, r.err)
		}
		c.mu.Lock()
		c.welcome = r.w
		c.mu.Unlock()
		return conn, nil
	case <-ctx.Done():
		conn.Close()
		<-res
		return nil, fmt.Errorf("aimx: cannot connect to %s: no answer to hello: %w", c.endpoint, ctx.Err())
	}
}

// Welcome returns the server's answer to the latest hello.
func (c *Client) Welcome() Welcome {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.welcome
}

// Endpoint returns the endpoint the client was dialed with.
func (c *Client) Endpoint() string { return c.endpoint }

// Done is closed once the client has ended: after Close, or, with
// ClientOptions.NoReconnect, once its connection was lost.
func (c *Client) Done() <-chan struct{} { return c.done }

// Close closes the connection and ends every stream. Pending calls fail
// with ErrClientClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.done
		return nil
	}
	c.closed = true
	close(c.closing)
	if c.conn != nil {
		c.conn.Close()
	}
	c.mu.Unlock()
	<-c.done
	return nil
}

// run owns the live connection: it reads frames, and reconnects after a
// loss.
func (c *Client) run(conn FrameConn) {
	defer close(c.done)
	defer c.shutdown()
	for attempt := 0; ; {
		c.readLoop(conn)
		c.deactivate()
		if c.opts.NoReconnect || c.isClosing() {
			return
		}
		for {
			delay := min(c.opts.ReconnectDelay<<min(attempt, 16), c.opts.MaxReconnectDelay)
			delay = delay/2 + rand.N(delay/2+1)
			attempt++
			select {
			case <-c.closing:
				return
			case <-time.After(delay):
			}
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-c.closing:
					cancel()
				case <-ctx.Done():
				}
			}()
			var err error
			conn, err = c.connect(ctx)
			cancel()
			if err == nil {
				attempt = 0
				break
			}
			if c.isClosing() {
				return
			}
		}
		c.activate(conn)
	}
}

func (c *Client) isClosing() bool {
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}

// activate makes conn the live connection and re-opens the streams.
func (c *Client) activate(conn FrameConn) {
	c.mu.Lock()
	c.conn = conn
	c.gen++
	c.lastIn.Store(time.Now().UnixNano())
	streams := make([]*Stream, 0, len(c.streams))
	for _, s := range c.streams {
		streams = append(streams, s)
	}
	close(c.live)
	if c.closed {
		conn.Close()
	}
	c.mu.Unlock()
	for _, s := range streams {
		s.resubscribe()
	}
	if c.opts.Keepalive > 0 {
		go c.keepalive(conn)
	}
}

// deactivate fails the calls in flight on the lost connection.
func (c *Client) deactivate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn = nil
	c.live = make(chan struct{})
	var async []func(error)
	for id, p := range c.pending {
		if p.done != nil {
			async = append(async, p.done)
		} else {
			close(p.ch)
		}
		delete(c.pending, id)
	}
	if len(async) > 0 {
		// The callbacks must not run under c.mu; they do not block.
		defer func() {
			for _, done := range async {
				done(fmt.Errorf("aimx: record.set: %w", ErrDisconnected))
			}
		}()
	}
	for _, p := range c.pings {
		close(p)
	}
	c.pings = nil
}

// shutdown ends the streams when run returns: closed by Close, or
// disconnected for good (NoReconnect), when calls keep failing with
// ErrDisconnected.
func (c *Client) shutdown() {
	reason := ErrClientClosed
	c.mu.Lock()
	if c.isClosing() {
		c.closed = true
	} else {
		reason = ErrDisconnected
	}
	streams := c.streams
	c.streams = map[string]*Stream{}
	c.mu.Unlock()
	for _, s := range streams {
		s.end(reason)
	}
}

func (c *Client) keepalive(conn FrameConn) {
	t := time.NewTicker(c.opts.Keepalive / 2)
	defer t.Stop()
	var pingSent int64
	for {
		select {
		case <-c.closing:
			return
		case <-t.C:
		}
		c.mu.Lock()
		current := c.conn == conn
		c.mu.Unlock()
		if !current {
			return
		}
		idle := time.Since(time.Unix(0, c.lastIn.Load()))
		switch {
		case pingSent != 0 && c.lastIn.Load() < pingSent && time.Since(time.Unix(0, pingSent)) > c.opts.Keepalive:
			conn.Close() // no answer: the reader notices and reconnects
			return
		case idle >= c.opts.Keepalive && (pingSent == 0 || c.lastIn.Load() >= pingSent):
			pingSent = time.Now().UnixNano()
			b, _ := (&Frame{T: TagPing}).AppendJSON(nil)
			c.write(conn, b)
		}
	}
}

func (c *Client) readLoop(conn FrameConn) {
	var in interner // sub ids and topics repeat: parse them once
	for {
		b, err := conn.ReadFrame()
		if err != nil {
			conn.Close()
			return
		}
		c.lastIn.Store(time.Now().UnixNano())
		f, err := parseFrame(b, &in)
		if err != nil {
			continue
		}
		switch f.T {
		case TagReply:
			c.mu.Lock()
			p := c.pending[f.ID]
			delete(c.pending, f.ID)
			s := c.streams[strconv.FormatUint(f.ID, 10)]
			c.mu.Unlock()
			switch {
			case p != nil && p.done != nil:
				var err error
				if f.Err != "" {
					err = &Error{Code: f.Err, Method: "record.set", Reason: f.Reason, Message: f.Message}
				}
				p.done(err)
			case p != nil:
				p.ch <- f
			case s != nil && f.Err != "":
				s.refused(f.Err)
			}
		case TagEvent, TagSnap:
			c.mu.Lock()
			s := c.streams[f.Sub]
			c.mu.Unlock()
			if s != nil {
				s.deliver(&f)
			}
		case TagPong:
			c.mu.Lock()
			if len(c.pings) > 0 {
				close(c.pings[0])
				c.pings = c.pings[1:]
			}
			c.mu.Unlock()
		}
	}
}

// liveConn waits for a live connection.
func (c *Client) liveConn(ctx context.Context) (FrameConn, uint64, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, 0, ErrClientClosed
		}
		conn, gen, live := c.conn, c.gen, c.live
		c.mu.Unlock()
		if conn != nil {
			return conn, gen, nil
		}
		if c.opts.NoReconnect {
			return nil, 0, ErrDisconnected
		}
		select {
		case <-live:
		case <-c.closing:
			return nil, 0, ErrClientClosed
		case <-ctx.Done():
			return nil, 0, fmt.Errorf("aimx: %s: waiting for the connection: %w", c.endpoint, ctx.Err())
		}
	}
}

// maxCOBSFrame is the largest frame whose COBS encoding, one byte more
// per 254 and one at the start, fits DefaultCOBSResync.
const maxCOBSFrame = DefaultCOBSResync - DefaultCOBSResync/254 - 2

// A frameLimitError is a request the client did not send because its
// frame is over ClientOptions.MaxFrame. It is ErrFrameTooLarge.
type frameLimitError struct {
	what        string // the method, or "write" and the key
	size, limit int
}

func (e *frameLimitError) Error() string {
	return fmt.Sprintf("aimx: %s: request of %d bytes exceeds the %s frame limit", e.what, e.size, sizeText(e.limit))
}

func (e *frameLimitError) Is(target error) bool { return target == ErrFrameTooLarge }

// sizeText writes n bytes in KiB or MiB when it is a whole number of
// them.
func sizeText(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d-byte", n)
}

// checkSize refuses a frame over the limit before it is sent.
func (c *Client) checkSize(what string, b []byte) error {
	if len(b) > c.opts.MaxFrame {
		return &frameLimitError{what: what, size: len(b), limit: c.opts.MaxFrame}
	}
	return nil
}

// write sends one frame. A frame over the limit is not sent: its error
// leaves the connection up.
func (c *Client) write(conn FrameConn, b []byte) error {
	if err := c.checkSize("frame", b); err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return conn.WriteFrame(b)
}

// Call sends a request and decodes the reply's result into result (a
// pointer, or nil to discard it). A refusal is an *Error.
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	raw, err := c.call(ctx, method, params, "")
	if err != nil {
		return err
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(raw, result); err != nil {
		return fmt.Errorf("aimx: %s: decoding the result: %w", method, err)
	}
	return nil
}

func (c *Client) call(ctx context.Context, method string, params any, target string) (json.RawMessage, error) {
	var raw json.RawMessage
	switch p := params.(type) {
	case nil:
	case json.RawMessage:
		raw = p
	default:
		b, err := json.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("aimx: %s: encoding params: %w", method, err)
		}
		raw = b
	}
	conn, gen, err := c.liveConn(ctx)
	if err != nil {
		return nil, err
	}
	id := c.nextID.Add(1)
	b, err := (&Frame{T: TagReq, ID: id, Method: method, Params: raw}).AppendJSON(nil)
	if err != nil {
		return nil, fmt.Errorf("aimx: %s: %w", method, err)
	}
	if err := c.checkSize(method, b); err != nil {
		return nil, err
	}
	p := &call{ch: make(chan Frame, 1), gen: gen}
	c.mu.Lock()
	if c.conn != conn {
		c.mu.Unlock()
		return nil, ErrDisconnected
	}
	c.pending[id] = p
	c.mu.Unlock()
	if err := c.write(conn, b); err != nil {
		conn.Close()
	}
	select {
	case f, ok := <-p.ch:
		if !ok {
			if c.isClosing() {
				return nil, ErrClientClosed
			}
			return nil, fmt.Errorf("aimx: %s: %w", method, ErrDisconnected)
		}
		if f.Err != "" {
			return nil, &Error{Code: f.Err, Method: method, Target: target, Reason: f.Reason, Message: f.Message}
		}
		return f.OK, nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return nil, fmt.Errorf("aimx: %s: %w", method, ctx.Err())
	}
}

// Ping sends a ping and waits for the pong, and returns the round trip.
func (c *Client) Ping(ctx context.Context) (time.Duration, error) {
	conn, _, err := c.liveConn(ctx)
	if err != nil {
		return 0, err
	}
	ch := make(chan struct{})
	c.mu.Lock()
	if c.conn != conn {
		c.mu.Unlock()
		return 0, ErrDisconnected
	}
	c.pings = append(c.pings, ch)
	c.mu.Unlock()
	start := time.Now()
	b, _ := (&Frame{T: TagPing}).AppendJSON(nil)
	if err := c.write(conn, b); err != nil {
		conn.Close()
	}
	select {
	case <-ch:
		c.mu.Lock()
		lost := c.conn != conn
		c.mu.Unlock()
		if lost {
			return 0, fmt.Errorf("aimx: ping: %w", ErrDisconnected)
		}
		return time.Since(start), nil
	case <-ctx.Done():
		return 0, fmt.Errorf("aimx: ping: %w", ctx.Err())
	}
}

// A RecordInfo is one row of record.list: aimdb.RecordMetadata as it
// crossed the wire, with the origin kept as raw JSON.
type RecordInfo struct {
	RecordID               uint32               `json:"record_id"`
	RecordKey              string               `json:"record_key"`
	Name                   string               `json:"name"`
	TypeID                 string               `json:"type_id"`
	Origin                 json.RawMessage      `json:"origin"`
	BufferType             string               `json:"buffer_type"`
	BufferCapacity         int                  `json:"buffer_capacity,omitempty"`
	ProducerCount          int                  `json:"producer_count"`
	ConsumerCount          int                  `json:"consumer_count"`
	Writable               bool                 `json:"writable"`
	OutboundConnectorCount int                  `json:"outbound_connector_count"`
	SchemaType             string               `json:"schema_type,omitempty"`    // the contract's name, when the record's type declares one
	SchemaVersion          uint32               `json:"schema_version,omitempty"` // the contract's current version
	Entity                 string               `json:"entity,omitempty"`
	RemoteAccess           bool                 `json:"remote_access,omitempty"`
	Family                 string               `json:"family,omitempty"` // the template of the record's family, for an instance
	ProducedCount          uint64               `json:"produced_count"`
	ConsumedCount          uint64               `json:"consumed_count"`
	DroppedCount           uint64               `json:"dropped_count"`
	Occupancy              []int                `json:"occupancy,omitempty"`
	StageProfiling         []aimdb.StageProfile `json:"stage_profiling,omitempty"`
	SignalStats            []aimdb.SignalStats  `json:"signal_stats,omitempty"`
	Links                  []aimdb.LinkMetadata `json:"links,omitempty"`
}

// OriginKind returns the kind of the record's origin: "source",
// "passive", "link", "transform" or "transform_join".
func (r *RecordInfo) OriginKind() string {
	var s string
	if json.Unmarshal(r.Origin, &s) == nil {
		return s
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(r.Origin, &m) == nil {
		for k := range m {
			return k
		}
	}
	return ""
}

// Records calls record.list, asking for full rows: counters, stage
// profiles and link states included.
func (c *Client) Records(ctx context.Context) ([]RecordInfo, error) {
	var rows []RecordInfo
	return rows, c.Call(ctx, "record.list", map[string]bool{"detail": true}, &rows)
}

// RecordsMatching is Records for the records whose key pattern matches
// (MatchTopic), such as the instances of one family: record.list with
// params {"pattern": pattern}, an extension of this package's server.
func (c *Client) RecordsMatching(ctx context.Context, pattern string) ([]RecordInfo, error) {
	var rows []RecordInfo
	return rows, c.Call(ctx, "record.list", map[string]any{"detail": true, "pattern": pattern}, &rows)
}

// Get calls record.get and returns the record's current value as JSON.
// It fails with an error matching ErrNotFound for an unknown key, and
// ErrNoValue for a record that holds no value yet.
func (c *Client) Get(ctx context.Context, key string) (json.RawMessage, error) {
	return c.call(ctx, "record.get", map[string]string{"name": key}, key)
}

// Set calls record.set with the JSON value. A value that does not decode
// into the record's type fails with an error matching ErrInvalidParams
// whose Message gives the codec's reason.
func (c *Client) Set(ctx context.Context, key string, value json.RawMessage) (SetResult, error) {
	var res SetResult
	raw, err := c.call(ctx, "record.set", map[string]any{"name": key, "value": value}, key)
	if err == nil {
		err = json.Unmarshal(raw, &res)
	}
	return res, err
}

// SetAsync sends record.set for key, as Set does, without waiting for the
// answer: it returns once the request is written (or failed to be), and
// done is called exactly once with the outcome, nil when the server
// stored the value, from the client's reader goroutine or, when the
// connection is lost first, with an error matching ErrDisconnected. done
// must not block. Requests go on the wire in the order of the calls. If
// SetAsync returns an error, done is not called.
func (c *Client) SetAsync(ctx context.Context, key string, value json.RawMessage, done func(error)) error {
	raw, err := json.Marshal(map[string]any{"name": key, "value": value})
	if err != nil {
		return fmt.Errorf("aimx: record.set: encoding params: %w", err)
	}
	conn, gen, err := c.liveConn(ctx)
	if err != nil {
		return err
	}
	id := c.nextID.Add(1)
	b, err := (&Frame{T: TagReq, ID: id, Method: "record.set", Params: raw}).AppendJSON(nil)
	if err != nil {
		return fmt.Errorf("aimx: record.set: %w", err)
	}
	if err := c.checkSize("record.set", b); err != nil {
		return err
	}
	c.mu.Lock()
	if c.conn != conn {
		c.mu.Unlock()
		return fmt.Errorf("aimx: record.set: %w", ErrDisconnected)
	}
	c.pending[id] = &call{gen: gen, done: func(err error) {
		var e *Error
		if errors.As(err, &e) {
			e.Target = key
		}
		done(err)
	}}
	c.mu.Unlock()
	if err := c.write(conn, b); err != nil {
		conn.Close() // the reader fails the call
	}
	return nil
}

// Drain calls record.drain: the values that arrived since the previous
// drain of key on this connection, at most limit of them (0: no limit).
// The first drain of a ring opens the cursor and returns nothing. On a
// Mailbox a drain takes the pending value from the record's own
// consumer, so this package's server refuses it (ErrDenied) unless its
// write policy names the record.
func (c *Client) Drain(ctx context.Context, key string, limit uint64) (DrainResult, error) {
	p := map[string]any{"name": key}
	if limit > 0 {
		p["limit"] = limit
	}
	var res DrainResult
	raw, err := c.call(ctx, "record.drain", p, key)
	if err == nil {
		err = json.Unmarshal(raw, &res)
	}
	return res, err
}

// Query calls record.query.
func (c *Client) Query(ctx context.Context, q QueryParams) (QueryResult, error) {
	p := map[string]any{}
	if q.Pattern != "" {
		p["name"] = q.Pattern
	}
	if q.Limit != nil {
		p["limit"] = *q.Limit
	}
	if q.Start != nil {
		p["start"] = *q.Start
	}
	if q.End != nil {
		p["end"] = *q.End
	}
	if q.Order != "" {
		p["order"] = q.Order
	}
	if q.Bucket != nil {
		p["bucket"] = *q.Bucket
	}
	var res QueryResult
	raw, err := c.call(ctx, "record.query", p, q.Pattern)
	if err == nil {
		err = json.Unmarshal(raw, &res)
	}
	return res, err
}

// Write sends a write frame: the server sets the record if its policy
// allows, and never answers, not even with an error. Use Set to learn
// the outcome.
func (c *Client) Write(ctx context.Context, key string, value json.RawMessage) error {
	conn, _, err := c.liveConn(ctx)
	if err != nil {
		return err
	}
	payload, err := json.Marshal(map[string]json.RawMessage{"value": value})
	if err != nil {
		return fmt.Errorf("aimx: write %q: %w", key, err)
	}
	b, err := (&Frame{T: TagWrite, Topic: key, Payload: payload}).AppendJSON(nil)
	if err != nil {
		return fmt.Errorf("aimx: write %q: %w", key, err)
	}
	if err := c.checkSize(fmt.Sprintf("write %q", key), b); err != nil {
		return err
	}
	return c.write(conn, b)
}

// GraphNode is a node of graph.nodes as it crossed the wire.
type GraphNode struct {
	Key             string          `json:"key"`
	Origin          json.RawMessage `json:"origin"`
	BufferType      string          `json:"buffer_type"`
	BufferCapacity  *int            `json:"buffer_capacity"`
	TapCount        int             `json:"tap_count"`
	HasOutboundLink bool            `json:"has_outbound_link"`
}

// GraphEdge is an edge of graph.edges as it crossed the wire.
type GraphEdge struct {
	From     *string         `json:"from"`
	To       *string         `json:"to"`
	EdgeType json.RawMessage `json:"edge_type"`
}

// GraphNodes calls graph.nodes.
func (c *Client) GraphNodes(ctx context.Context) ([]GraphNode, error) {
	var v []GraphNode
	return v, c.Call(ctx, "graph.nodes", nil, &v)
}

// GraphEdges calls graph.edges.
func (c *Client) GraphEdges(ctx context.Context) ([]GraphEdge, error) {
	var v []GraphEdge
	return v, c.Call(ctx, "graph.edges", nil, &v)
}

// TopoOrder calls graph.topo_order.
func (c *Client) TopoOrder(ctx context.Context) ([]string, error) {
	var v []string
	return v, c.Call(ctx, "graph.topo_order", nil, &v)
}

// ResetProfiling calls profiling.reset.
func (c *Client) ResetProfiling(ctx context.Context) error {
	return c.Call(ctx, "profiling.reset", nil, nil)
}

// ResetBufferMetrics calls buffer_metrics.reset.
func (c *Client) ResetBufferMetrics(ctx context.Context) error {
	return c.Call(ctx, "buffer_metrics.reset", nil, nil)
}
