package aimx

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/contract"
	"github.com/aimdb-go/aimdb/internal/lograte"
)

// A Policy says what remote clients may change. The zero value is
// read-only: clients list, read and subscribe, and change nothing.
type Policy struct {
	write    bool
	writable map[string]bool
}

// ReadOnly returns the read-only policy, the default.
func ReadOnly() Policy { return Policy{} }

// ReadWrite returns a policy that lets clients write the records keyed
// by keys (record.set and write frames) and reset the DB's counters
// (profiling.reset, buffer_metrics.reset). Records that a source or a
// transform writes stay read-only whatever the policy says.
func ReadWrite(keys ...string) Policy {
	p := Policy{write: true, writable: map[string]bool{}}
	for _, k := range keys {
		p.writable[k] = true
	}
	return p
}

// CanWrite reports whether the policy lets clients write key.
func (p Policy) CanWrite(key string) bool { return p.write && p.writable[key] }

// ReadWrite reports whether the policy allows any change.
func (p Policy) ReadWrite() bool { return p.write }

// Keys returns the writable keys, sorted.
func (p Policy) Keys() []string {
	keys := make([]string, 0, len(p.writable))
	for k := range p.writable {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Defaults of ServerOptions.
const (
	DefaultMaxConnections     = 16
	DefaultMaxUnauthenticated = 16
	DefaultHelloTimeout       = 10 * time.Second
	DefaultMaxSubscriptions   = 32
	DefaultEventQueue         = 256

	DefaultMaxSubscribedRecords = 4096
	DefaultWriteTimeout         = 10 * time.Second
	DefaultMaxQueuedBytes       = 4 << 20
)

// ServerOptions configure a Server. The zero value is ready to use.
type ServerOptions struct {
	// Policy says what clients may write; the zero value is read-only.
	Policy Policy
	// Token, when set, must be presented as the "auth_token" of a hello
	// request before the server answers anything but hello and ping.
	// A wrong one is answered after a pause of 100 ms to 1 s, holding up
	// that connection only, and leaves the session unauthenticated; the
	// third on one connection closes it.
	Token string
	// MaxConnections caps the authenticated connections. A connection
	// is authenticated by a hello with the right auth_token or, with no
	// Token set, by its first valid frame; a transport that
	// authenticates itself (Dialect.Authenticated: WebSocket) and a
	// stream without a remote address (a serial line) count from the
	// start. A connection over the cap is closed: when it authenticates,
	// or at once if it counts from the start. Default 16.
	MaxConnections int
	// MaxUnauthenticated caps the network connections that have not
	// authenticated yet, apart from MaxConnections, so that sockets
	// that never authenticate cannot lock out a client that does. When
	// the cap is reached, a new connection closes the oldest
	// unauthenticated one to take its place. Default 16.
	MaxUnauthenticated int
	// HelloTimeout is how long a network connection may stay
	// unauthenticated; then it is closed. Default 10 s.
	HelloTimeout time.Duration
	// MaxSubscriptions caps the subscriptions of one connection; a sub
	// over the cap is answered "denied". Default 32.
	MaxSubscriptions int
	// MaxFrame caps the size of a received frame or line; a bigger one
	// closes its connection. Default 64 KiB (COBS: an 8 KiB run without
	// a delimiter is dropped instead).
	MaxFrame int
	// EventQueue is the number of events a connection queues for its
	// writer, besides the batch being written. When it is full, events
	// are dropped; the client sees the loss as a gap in seq. Default 256.
	EventQueue int
	// Query answers record.query. Without it, record.query is answered
	// "internal", as AimDB does when no persistence is configured.
	Query QueryFunc
	// Logger receives connection and error logs, each line with
	// component=aimx. Warnings about connections are logged at most once
	// every 10 s per message, with the count held back as "suppressed".
	// Default: the DB's.
	Logger *slog.Logger
	// Name names the server in RuntimeDir and instance.info. Default:
	// the program's name.
	Name string
	// Unlisted keeps Serve from registering its listeners in RuntimeDir.
	// By default each listener is registered while it is served, so that
	// Instances and `aimdb instance list` find it.
	Unlisted bool

	// MaxSubscribedRecords caps the records one connection's
	// subscriptions serve, counted over all of them (a record matched by
	// two subscriptions counts twice). A sub that would exceed it is
	// answered "denied"; a record added later that a growing wildcard
	// subscription would serve beyond it is not served. Both are counted
	// in ServerStats.RecordsOverCap. Default 4096.
	MaxSubscribedRecords int
	// WriteTimeout bounds each write to a connection that takes a write
	// deadline (TCP, Unix sockets, a FrameConn with a SetWriteDeadline
	// method), the wait of a reply for room in a full queue, and the
	// writing of the replies still queued when a client half-closed. A
	// client that does not take its frames within it is disconnected and
	// counted in ServerStats.SlowClosed. Default 10 s.
	WriteTimeout time.Duration
	// MaxQueuedBytes caps the bytes of the frames a connection has
	// queued for its writer, including the batch being written. An event
	// over it is dropped (the client sees a gap in seq); a reply over it
	// waits, for at most WriteTimeout, and events are dropped while it
	// waits. A single frame larger than the cap is sent when nothing else
	// is queued. Default 4 MiB.
	MaxQueuedBytes int

	// Contracts are the data contracts of the records served
	// (contract.New), described for other languages by schema.list and
	// by the WebSocket handler's GET /schemas: JSON Schema and
	// TypeScript (codec.JSONSchema).
	Contracts []contract.Versioned
}

// QueryParams are the parameters of record.query.
type QueryParams struct {
	Pattern string  // "name": a topic pattern; "#" when absent
	Limit   *uint64 // "limit": rows per record
	Start   *uint64 // "start": Unix milliseconds, inclusive
	End     *uint64 // "end": Unix milliseconds, inclusive
	// Beyond AimDB:
	Order  string  // "order": "asc" (the default, oldest first) or "desc"
	Bucket *uint64 // "bucket": milliseconds; the newest row of each record per bucket
}

// A QueryRow is one stored value returned by record.query.
type QueryRow struct {
	Topic   string          `json:"topic"`
	Payload json.RawMessage `json:"payload"`
	TS      uint64          `json:"ts"` // Unix milliseconds
}

// A QueryFunc answers record.query with rows sorted by TS.
type QueryFunc func(ctx context.Context, q QueryParams) ([]QueryRow, error)

// A Server exposes a DB over AimX. One server can serve any number of
// listeners and streams at once; all share its limits and policy.
type Server struct {
	db   *aimdb.DB
	opts ServerOptions
	log  *slog.Logger

	mu          sync.Mutex
	conns       int         // authenticated connections
	pending     []*connSlot // unauthenticated network connections, oldest first
	failWaitNow time.Duration
	lastFail    time.Time // of a wrong hello, for failWait

	reg     registry // endpoints and start time, for instance.info
	schemas schemaCache
	stats   serverCounters
	warns   lograte.Limiter
}

// NewServer returns a server for db. A nil opts is the same as
// &ServerOptions{}.
func NewServer(db *aimdb.DB, opts *ServerOptions) *Server {
	var o ServerOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = DefaultMaxConnections
	}
	if o.MaxUnauthenticated <= 0 {
		o.MaxUnauthenticated = DefaultMaxUnauthenticated
	}
	if o.HelloTimeout <= 0 {
		o.HelloTimeout = DefaultHelloTimeout
	}
	if o.MaxSubscriptions <= 0 {
		o.MaxSubscriptions = DefaultMaxSubscriptions
	}
	if o.EventQueue <= 0 {
		o.EventQueue = DefaultEventQueue
	}
	if o.Logger == nil {
		o.Logger = db.Logger()
	}
	if o.MaxSubscribedRecords <= 0 {
		o.MaxSubscribedRecords = DefaultMaxSubscribedRecords
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.MaxQueuedBytes <= 0 {
		o.MaxQueuedBytes = DefaultMaxQueuedBytes
	}
	return &Server{db: db, opts: o, log: o.Logger.With("component", "aimx"), reg: registry{started: time.Now()}}
}

// Serve accepts connections on ln until ctx ends or ln fails, and serves
// each with framing f. It closes ln and every connection before it
// returns, and returns nil when ctx ended.
//
// An accept error that passes (out of file descriptors, EMFILE or
// ENFILE; out of memory or buffers; a connection aborted before it was
// accepted; any other error that says it is temporary) is retried after
// a pause that doubles from 5 ms to 1 s, as net/http does, and is
// counted in ServerStats.AcceptRetries. Any other accept error ends
// Serve.
func (s *Server) Serve(ctx context.Context, ln net.Listener, f Framing) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	// Close again before returning: it waits for a Close that the
	// AfterFunc started, so that a Unix socket is gone from its path by
	// the time Serve returns and a new listener there stays.
	defer ln.Close()
	defer s.listed(ln)()
	var wg sync.WaitGroup
	defer wg.Wait()
	var pause time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if !temporary(err) {
				ln.Close()
				return fmt.Errorf("aimx: accept on %s: %w", ln.Addr(), err)
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			s.stats.acceptRetries.Add(1)
			s.warn("accept failed; retrying", "listener", ln.Addr(), "err", err, "retry_in", pause)
			t := time.NewTimer(pause)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil
			}
			continue
		}
		pause = 0
		wg.Go(func() {
			if err := s.ServeStream(ctx, c, f); err != nil {
				s.log.Debug("connection ended", "remote", c.RemoteAddr(), "err", err)
			}
		})
	}
}

// temporary reports whether an accept error passes: resources run out
// (file descriptors, memory, buffers) or a connection went away before
// it was accepted. The listener stays good.
func temporary(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED, syscall.ENOBUFS, syscall.ENOMEM} {
		if errors.Is(err, e) {
			return true
		}
	}
	var te interface{ Temporary() bool }
	return errors.As(err, &te) && te.Temporary()
}

// ServeStream serves one connection, such as an open serial port, with
// framing f until ctx ends, the peer hangs up, or the stream fails. It
// closes rw before it returns. A peer hanging up is not an error.
//
// When rw is a net.Conn, the connection is a network connection:
// HelloTimeout and MaxUnauthenticated apply to it, and logs name its
// remote address. Any other stream (a serial line) counts under
// MaxConnections from the start.
func (s *Server) ServeStream(ctx context.Context, rw io.ReadWriteCloser, f Framing) error {
	max := s.opts.MaxFrame
	if f == COBS {
		max = 0
	}
	sc := &streamConn{rw: rw, r: NewFrameReader(rw, f, max), f: f}
	if nc, ok := rw.(net.Conn); ok {
		return s.ServeConn(ctx, &netConn{streamConn: sc, remote: nc.RemoteAddr()}, Dialect{})
	}
	return s.ServeConn(ctx, sc, Dialect{})
}

// A Dialect adjusts the protocol to a transport. The zero value is the
// dialect of Unix sockets, TCP and serial lines.
type Dialect struct {
	// AckSubscribe answers a successful sub with a "subscribed" frame.
	AckSubscribe bool
	// NoHello answers hello "not_found"; the transport checked the
	// version already (WebSocket does, in the upgrade URL).
	NoHello bool
	// Authenticated says the transport has authenticated the client
	// (the WebSocket handler does, at the upgrade): the session answers
	// from its first frame, without waiting for hello's auth_token, and
	// the connection counts under MaxConnections from the start.
	Authenticated bool
	// Authorized, when set, is asked before each subscription (with the
	// pattern) and each write (with the key) and refuses with "denied"
	// what it does not allow. What a client may not subscribe to it may
	// not read either: record.get, record.drain and record.query are
	// refused and record.list leaves such records out. It narrows the
	// server's Policy; it never widens it.
	Authorized func(op Op, topic string) bool
	// Methods, when set, limits the methods served; others are answered
	// "not_found".
	Methods []string
}

// Op names an operation a Dialect's Authorized hook decides.
type Op int

// The operations.
const (
	OpSubscribe Op = iota
	OpWrite
)

// A FrameConn carries whole frames. ReadFrame's slice is valid until the
// next call. WriteFrame is called from one goroutine at a time, but
// concurrently with ReadFrame. Close unblocks both, and may be called
// more than once and concurrently with the others.
//
// A FrameConn of a network connection also has a method
//
//	RemoteAddr() net.Addr
//
// that returns the peer's address: logs name it, and HelloTimeout and
// MaxUnauthenticated apply only to connections that have the method. A
// server gives a FrameConn that also has a method
// SetWriteDeadline(time.Time) error a deadline of
// ServerOptions.WriteTimeout before each batch of writes.
type FrameConn interface {
	ReadFrame() ([]byte, error)
	WriteFrame(p []byte) error
	Close() error
}

type streamConn struct {
	rw  io.ReadWriteCloser
	r   *FrameReader
	f   Framing
	buf []byte
}

// streamChunk is the size from which a streamConn writes what it has
// framed of a batch: a batch takes one write per streamChunk bytes.
const streamChunk = 64 << 10

func (c *streamConn) ReadFrame() ([]byte, error) { return c.r.ReadFrame() }
func (c *streamConn) WriteFrame(p []byte) error  { return c.writeFrames([][]byte{p}) }
func (c *streamConn) Close() error               { return c.rw.Close() }

// writeFrames frames the frames into one buffer and writes it, in
// chunks of about streamChunk bytes. A frame of streamChunk bytes or more
// is written from where it is, with its framing around it, not copied.
func (c *streamConn) writeFrames(frames [][]byte) error {
	buf := c.buf[:0]
	var err error
	for _, p := range frames {
		if len(p) >= streamChunk && c.f != COBS {
			if len(buf) > 0 {
				if _, err = c.rw.Write(buf); err != nil {
					break
				}
				buf = buf[:0]
			}
			var hdr [4]byte
			bufs := net.Buffers{p, []byte{'\n'}}
			if c.f == LengthPrefixed {
				binary.BigEndian.PutUint32(hdr[:], uint32(len(p)))
				bufs = net.Buffers{hdr[:], p}
			}
			if _, err = bufs.WriteTo(c.rw); err != nil {
				break
			}
			continue
		}
		buf = AppendFrame(buf, c.f, p)
		if len(buf) >= streamChunk {
			if _, err = c.rw.Write(buf); err != nil {
				break
			}
			buf = buf[:0]
		}
	}
	if err == nil && len(buf) > 0 {
		_, err = c.rw.Write(buf)
	}
	if cap(buf) <= keepBuf {
		c.buf = buf[:0]
	} else {
		c.buf = nil
	}
	return err
}

// SetWriteDeadline sets the stream's write deadline, if it takes one.
func (c *streamConn) SetWriteDeadline(t time.Time) error {
	if d, ok := c.rw.(deadlineConn); ok {
		return d.SetWriteDeadline(t)
	}
	return nil
}

// netConn is a streamConn over a net.Conn.
type netConn struct {
	*streamConn
	remote net.Addr
}

func (c *netConn) RemoteAddr() net.Addr { return c.remote }

// ServeConn serves one frame connection in dialect d until ctx ends or
// the connection fails, then closes it. Transports other than byte
// streams (WebSocket) use it.
//
// A connection over the server's caps (MaxConnections,
// MaxUnauthenticated) is closed and ServeConn returns an error saying
// which; so does a connection closed for not authenticating within
// HelloTimeout, or after three hellos with a wrong auth_token.
func (s *Server) ServeConn(ctx context.Context, c FrameConn, d Dialect) error {
	sl := newSlot(c)
	if err := s.admit(sl, d.Authenticated || !sl.network); err != nil {
		c.Close()
		return err
	}
	defer s.release(sl)
	sess := newSession(s, c, d)
	sess.slot = sl
	return sess.run(ctx)
}
