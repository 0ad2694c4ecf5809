package websocket

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/aimdb-go/aimdb/aimx"
	"github.com/coder/websocket"
)

// Errors of a refused upgrade (outside the browser, which does not say
// why an upgrade failed). A server speaking another AimX version is
// reported as aimx.ErrVersionMismatch.
var (
	ErrUnauthorized = errors.New("websocket: the server refused the credentials (HTTP 401)")
	ErrForbidden    = errors.New("websocket: the server refused this origin (HTTP 403)")
)

// DefaultKeepalive is the keepalive of Dial and of the ws-client
// connector: a ping after this much silence, and the connection is
// dropped when nothing answers within as long again.
const DefaultKeepalive = 30 * time.Second

// clientWriteTimeout bounds each frame a client writes.
const clientWriteTimeout = 10 * time.Second

// endpointURL checks a ws:// or wss:// URL and adds the AimX version to
// its query.
func endpointURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("websocket: endpoint %q: %v", raw, err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return nil, fmt.Errorf("websocket: endpoint %q: want ws:// or wss://", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("websocket: endpoint %q: no host", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("websocket: endpoint %q: credentials belong in the token option, not the URL", u.Redacted())
	}
	q := u.Query()
	q.Set("v", aimx.Version)
	u.RawQuery = q.Encode()
	return u, nil
}

// clientConn is a client's aimx.FrameConn over a WebSocket.
type clientConn struct {
	ws     *websocket.Conn
	ctx    context.Context
	cancel context.CancelFunc
}

// dialFrames opens a WebSocket to the endpoint (already checked by
// endpointURL) and returns it as a frame connection.
func dialFrames(ctx context.Context, u *url.URL, token string, hc *http.Client) (*clientConn, error) {
	uc := *u // dialWS may add to the query
	ws, err := dialWS(ctx, &uc, token, hc)
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(-1) // the server's frames are trusted to be sane
	cctx, cancel := context.WithCancel(context.Background())
	return &clientConn{ws: ws, ctx: cctx, cancel: cancel}, nil
}

func (c *clientConn) ReadFrame() ([]byte, error) {
	_, p, err := c.ws.Read(c.ctx)
	return p, err
}

func (c *clientConn) WriteFrame(p []byte) error { return c.writeFrame(c.ctx, p) }

// writeFrame writes one frame, bounded by ctx and the write timeout. A
// write that ctx interrupts closes the connection.
func (c *clientConn) writeFrame(ctx context.Context, p []byte) error {
	ctx, cancel := context.WithTimeout(ctx, clientWriteTimeout)
	defer cancel()
	stop := context.AfterFunc(c.ctx, cancel)
	defer stop()
	return c.ws.Write(ctx, websocket.MessageText, p)
}

func (c *clientConn) Close() error {
	c.cancel()
	c.ws.CloseNow()
	return nil
}

// Dial connects an AimX client to a WebSocket server, such as a Handler
// mounted at "ws://hub:8080/ws" ("wss://" for TLS, verified with the
// system roots), and returns it once the upgrade succeeded. The client reconnects with backoff after a lost
// connection and subscribes its streams again (see aimx.Client).
//
// In opts (nil: defaults) Token is sent with the upgrade, as
// "Authorization: Bearer" or, in the browser, as the query parameter
// "token"; Keepalive defaults to DefaultKeepalive here, and a negative
// value turns it off; NoHello and Dialer are set by Dial. Calls work as
// over any AimX transport, except that a WebSocket server answers only
// record.list, record.get, record.set and record.query.
//
// Dial builds for GOOS=js, where it uses the browser's WebSocket.
func Dial(ctx context.Context, endpoint string, opts *aimx.ClientOptions) (*aimx.Client, error) {
	var o aimx.ClientOptions
	if opts != nil {
		o = *opts
	}
	u, err := endpointURL(endpoint)
	if err != nil {
		return nil, err
	}
	if o.Keepalive == 0 {
		o.Keepalive = DefaultKeepalive
	}
	token := o.Token
	o.NoHello = true
	o.Dialer = func(ctx context.Context, _ string) (aimx.FrameConn, error) {
		return dialFrames(ctx, u, token, nil)
	}
	return aimx.Dial(ctx, endpoint, &o)
}
