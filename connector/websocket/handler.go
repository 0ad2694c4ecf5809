package websocket

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/internal/lograte"
	"github.com/coder/websocket"
)

// Permissions say what one WebSocket client may do. They narrow the AimX
// server's policy and never widen it: a write to a record must also be
// allowed by the server's aimx.Policy.
type Permissions struct {
	// Subscribe lists the patterns the client may subscribe within: a
	// sub is allowed when one of them contains the requested pattern
	// (aimx.PatternContains), so a grant "station.#" allows
	// "station.1.temperature" and "station.*.temperature" but not "#".
	Subscribe []string
	// Write lists the topics the client may write: a write, record.set
	// or a write routed to a "ws://" link is allowed when its topic
	// matches one of them (aimx.MatchTopic). Empty: the client writes
	// nothing.
	Write []string
}

// ReadOnly returns the default permissions: subscribe to anything,
// write nothing.
func ReadOnly() Permissions { return Permissions{Subscribe: []string{"#"}} }

// CanSubscribe reports whether p allows a subscription to pattern.
func (p Permissions) CanSubscribe(pattern string) bool {
	for _, g := range p.Subscribe {
		if aimx.PatternContains(g, pattern) {
			return true
		}
	}
	return false
}

// CanWrite reports whether p allows writing topic.
func (p Permissions) CanWrite(topic string) bool {
	for _, g := range p.Write {
		if aimx.MatchTopic(g, topic) {
			return true
		}
	}
	return false
}

// An AuthFunc decides, at the upgrade, what the client behind r may do.
// An error refuses the upgrade with HTTP 401 and the error's text.
type AuthFunc func(r *http.Request) (Permissions, error)

// ErrBadToken is the error of TokenAuth for a missing or wrong token.
var ErrBadToken = errors.New("websocket: missing or wrong token")

// TokenAuth returns an AuthFunc that grants p to clients presenting
// token, as "Authorization: Bearer <token>" or as the query parameter
// "token" (browsers cannot set headers on a WebSocket), and refuses
// everyone else. The comparison takes constant time.
func TokenAuth(token string, p Permissions) AuthFunc {
	return func(r *http.Request) (Permissions, error) {
		got := requestToken(r)
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			return Permissions{}, ErrBadToken
		}
		return p, nil
	}
}

// requestToken returns the token r presents, as TokenAuth reads it.
func requestToken(r *http.Request) string {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		got = r.URL.Query().Get("token")
	}
	return got
}

// Defaults of HandlerOptions.
const (
	DefaultMaxConnections = aimx.DefaultMaxConnections
	DefaultMaxMessageSize = 64 << 10
	DefaultWriteTimeout   = 10 * time.Second
	DefaultBusQueue       = 256
	DefaultPath           = "/ws"

	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
)

// HandlerOptions configure a Handler. The zero value is ready to use:
// everyone may subscribe to anything and write nothing, and only pages
// served from the handler's own host may connect.
type HandlerOptions struct {
	// Auth decides each client's permissions at the upgrade, and a
	// connection it lets through is authenticated: the WebSocket dialect
	// has no hello, so aimx.ServerOptions.Token is not asked of it again.
	// Default: ReadOnly() for every client that presents the server's
	// Token as TokenAuth reads it (everyone, when the server has none).
	Auth AuthFunc
	// OriginPatterns lists the origins, besides the request's own host,
	// whose pages may connect (coder/websocket's
	// AcceptOptions.OriginPatterns, matched with path.Match: "example.com",
	// "*.example.com", "http://localhost:*"). Other origins get HTTP 403.
	OriginPatterns []string
	// InsecureSkipVerify accepts every origin. Prefer OriginPatterns.
	InsecureSkipVerify bool
	// AllowedHosts lists the host names (path.Match patterns, without
	// the port) that a request arriving on a loopback address may name
	// in its Host besides "localhost", "*.localhost" and IP addresses;
	// others get HTTP 403 (see CheckHost: the defence against DNS
	// rebinding). Requests on other addresses are not checked. Default:
	// none.
	AllowedHosts []string
	// MaxConnections caps the open WebSocket connections; an upgrade over
	// the cap is answered HTTP 503. Default 16. The AimX server's own
	// ServerOptions.MaxConnections applies too (a connection over it is
	// closed at once), so raise both together.
	MaxConnections int
	// MaxMessageSize caps one received message; a bigger one closes the
	// connection. Default 64 KiB.
	MaxMessageSize int64
	// WriteTimeout bounds each message written to a client. A client that
	// takes longer to read is disconnected, so that a stuck browser holds
	// nothing up. Default 10 s.
	WriteTimeout time.Duration
	// Bus, if set, serves the "ws://" links of the DB (see Bus).
	Bus *Bus
	// BusQueue is the number of "ws://" link values a connection buffers
	// for its writer; when it is full, values are dropped and the
	// client sees a gap in seq. Default 256.
	BusQueue int
	// Path is where Mux mounts the upgrade. Default "/ws".
	Path string
	// ReadHeaderTimeout bounds reading a request's headers in Serve and
	// ListenAndServe (http.Server.ReadHeaderTimeout). Default 10 s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout bounds how long Serve and ListenAndServe keep an idle
	// keep-alive HTTP connection (http.Server.IdleTimeout); an open
	// WebSocket is not idle. Default 60 s.
	IdleTimeout time.Duration
	// Logger receives connection logs. Default: discarded.
	Logger *slog.Logger
}

// The methods a WebSocket client may call. hello is not served: the
// version is checked in the upgrade URL.
var methods = []string{"record.list", "record.get", "record.set", "record.query"}

// A Handler serves the AimX WebSocket dialect for an aimx.Server: mount
// it on any mux, at any path, or use Mux for the standard layout. Its
// methods are safe for concurrent use.
//
// Each upgrade is checked in order: the Host (see CheckHost, else HTTP
// 403), the AimX version in the query ("?v=3.0", else HTTP 426), the AuthFunc (else HTTP 401), the
// connection cap (else HTTP 503) and the Origin header (else HTTP 403).
// Then every text or binary message is one AimX frame, and every frame
// is sent as one text message.
type Handler struct {
	srv   *aimx.Server
	opts  HandlerOptions
	log   *slog.Logger
	start time.Time

	ctx    context.Context // ends at Close
	cancel context.CancelFunc

	muxOnce sync.Once
	mux     *http.ServeMux

	warns lograte.Limiter // upgrade warnings: one line per message every 10 s

	mu      sync.Mutex
	closed  bool
	wg      sync.WaitGroup // one per served connection
	clients atomic.Int64
}

// NewHandler returns a handler serving srv. A nil opts is the same as
// &HandlerOptions{}. Close it to end its connections.
func NewHandler(srv *aimx.Server, opts *HandlerOptions) *Handler {
	var o HandlerOptions
	if opts != nil {
		o = *opts
	}
	if o.Auth == nil {
		o.Auth = func(r *http.Request) (Permissions, error) {
			if !srv.Authenticate(requestToken(r)) {
				return Permissions{}, ErrBadToken
			}
			return ReadOnly(), nil
		}
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = DefaultMaxConnections
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.BusQueue <= 0 {
		o.BusQueue = DefaultBusQueue
	}
	if o.Path == "" {
		o.Path = DefaultPath
	}
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Handler{
		srv: srv, opts: o, log: o.Logger.With("component", "aimx-ws"), start: time.Now(),
		ctx: ctx, cancel: cancel,
	}
}

// Clients returns the number of open WebSocket connections.
func (h *Handler) Clients() int { return int(h.clients.Load()) }

// Close closes every connection, refuses later upgrades with HTTP 503,
// and returns once every connection's goroutines have returned.
func (h *Handler) Close() error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
	return nil
}

// compatible reports whether a "MAJOR.MINOR" version speaks AimX 3.
func compatible(v string) bool {
	major, _, _ := strings.Cut(v, ".")
	want, _, _ := strings.Cut(aimx.Version, ".")
	return major == want
}

// ServeHTTP upgrades the request and serves the connection until the
// client leaves or the handler is closed.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !hostAllowed(r, h.opts.AllowedHosts) {
		h.log.Debug("upgrade refused: host not allowed", "remote", r.RemoteAddr, "host", r.Host)
		http.Error(w, "host not allowed: "+r.Host, http.StatusForbidden)
		return
	}
	if !compatible(r.URL.Query().Get("v")) {
		http.Error(w, "incompatible AimX protocol version (server speaks "+aimx.Version+")", http.StatusUpgradeRequired)
		return
	}
	perms, err := h.opts.Auth(r)
	if err != nil {
		h.warns.Warn(h.log, lograte.DefaultEvery, "upgrade refused", "remote", r.RemoteAddr, "err", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	if h.clients.Load() >= int64(h.opts.MaxConnections) {
		h.mu.Unlock()
		h.warns.Warn(h.log, lograte.DefaultEvery, "upgrade refused: too many connections", "remote", r.RemoteAddr, "max", h.opts.MaxConnections)
		http.Error(w, "too many connections", http.StatusServiceUnavailable)
		return
	}
	h.clients.Add(1)
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()
	defer h.clients.Add(-1)

	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		OriginPatterns:     h.opts.OriginPatterns,
		InsecureSkipVerify: h.opts.InsecureSkipVerify,
	})
	if err != nil {
		// Accept answered the request (403 for a foreign origin).
		h.warns.Warn(h.log, lograte.DefaultEvery, "upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	ws.SetReadLimit(h.opts.MaxMessageSize)
	h.serve(ws, perms, r.RemoteAddr)
}

func (h *Handler) serve(ws *websocket.Conn, perms Permissions, remote string) {
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	c := newServerConn(ctx, h, ws, perms)
	c.remote = remoteAddr(remote)
	var wg sync.WaitGroup
	if b := h.opts.Bus; b != nil {
		b.add(c)
		defer b.remove(c)
		wg.Go(c.busWriter)
	}
	d := aimx.Dialect{
		AckSubscribe: true,
		NoHello:      true,
		Methods:      methods,
		Authorized: func(op aimx.Op, topic string) bool {
			if op == aimx.OpSubscribe {
				return perms.CanSubscribe(topic)
			}
			return perms.CanWrite(topic)
		},
	}
	h.log.Debug("client connected", "remote", remote)
	err := h.srv.ServeAuthenticatedConn(ctx, c, d) // Auth let it in
	cancel()
	c.Close()
	wg.Wait()
	h.log.Debug("client left", "remote", remote, "err", err)
}

// Health is the body of GET /health.
type Health struct {
	Status     string `json:"status"` // "ok"
	Clients    int    `json:"clients"`
	UptimeSecs int64  `json:"uptime_secs"`
}

// Mux returns the handler's mux, the same one on every call: the
// handler at its Path ("/ws"), GET /health (Health as JSON), GET
// /version ({"aimx":"3.0"}) and GET /schemas, the JSON Schema of the
// server's data contracts (aimx.ServerOptions.Contracts; with
// ?format=typescript their TypeScript declarations). Routes added to it, such as a page that
// connects to the hub, are served by Serve and ListenAndServe too.
func (h *Handler) Mux() *http.ServeMux {
	h.muxOnce.Do(func() {
		m := http.NewServeMux()
		m.Handle(h.opts.Path, h)
		m.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, Health{Status: "ok", Clients: h.Clients(), UptimeSecs: int64(time.Since(h.start).Seconds())})
		})
		m.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, map[string]string{"aimx": aimx.Version})
		})
		m.HandleFunc("GET /schemas", h.serveSchemas)
		h.mux = m
	})
	return h.mux
}

// serveSchemas serves GET /schemas: the JSON Schema document of the
// server's contracts, or with ?format=typescript their TypeScript
// declarations.
func (h *Handler) serveSchemas(w http.ResponseWriter, r *http.Request) {
	s, err := h.srv.Schemas()
	if err != nil {
		http.Error(w, "the data contracts cannot be exported: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	switch f := r.URL.Query().Get("format"); f {
	case "", "jsonschema":
		w.Header().Set("Content-Type", "application/schema+json")
		w.Write(s.JSONSchema)
	case "typescript":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, s.TypeScript)
	default:
		http.Error(w, fmt.Sprintf("format %q: want jsonschema or typescript", f), http.StatusBadRequest)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

// Serve serves h.Mux() on ln, behind CheckHost with
// HandlerOptions.AllowedHosts and with the options' HTTP timeouts, until
// ctx ends, then closes the handler and the listener and returns nil
// once every connection has ended.
func (h *Handler) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           CheckHost(h.Mux(), h.opts.AllowedHosts),
		ReadHeaderTimeout: h.opts.ReadHeaderTimeout,
		IdleTimeout:       h.opts.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		h.Close()
		return fmt.Errorf("websocket: serving %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	h.Close()
	<-errc
	return nil
}

// ListenAndServe listens on the TCP address addr (":8080") and serves
// h.Mux() there until ctx ends (see Serve).
func (h *Handler) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("websocket: listen on %s: %w", addr, err)
	}
	return h.Serve(ctx, ln)
}
