// The tests start HTTP servers (httptest), which js/wasm cannot.
//go:build !js

package websocket_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector/websocket"
	cws "github.com/coder/websocket"
)

type Temp struct {
	Celsius float64 `json:"celsius"`
}

type Display struct {
	Brightness int `json:"brightness"`
}

var (
	keyTemp1   = aimdb.NewKey[Temp]("station.1.temperature")
	keyTemp2   = aimdb.NewKey[Temp]("station.2.temperature")
	keyHum1    = aimdb.NewKey[float64]("station.1.humidity")
	keyDisplay = aimdb.NewKey[Display]("config.display")
	keyUptime  = aimdb.NewKey[int]("hub.uptime")
	keyCounter = aimdb.NewKey[int]("fast.counter")
	keyBlob    = aimdb.NewKey[string]("fast.blob")
)

// hub is a running DB served over WebSocket by an httptest server.
type hub struct {
	db      *aimdb.DB
	temp1   *aimdb.Record[Temp]
	temp2   *aimdb.Record[Temp]
	hum1    *aimdb.Record[float64]
	display *aimdb.Record[Display]
	counter *aimdb.Record[int]
	blob    *aimdb.Record[string]
	srv     *aimx.Server
	hopts   *websocket.HandlerOptions
	ts      *httptest.Server
	url     string // ws://…/ws

	mu sync.Mutex
	h  *websocket.Handler // nil while stopped
}

// ServeHTTP serves the upgrade with the current handler, and answers
// HTTP 503 while the hub is stopped.
func (h *hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	hd := h.h
	h.mu.Unlock()
	if hd == nil {
		http.Error(w, "stopped by the test", http.StatusServiceUnavailable)
		return
	}
	hd.ServeHTTP(w, r)
}

// stop closes the handler: every client is disconnected and upgrades
// fail until restart.
func (h *hub) stop() {
	h.mu.Lock()
	hd := h.h
	h.h = nil
	h.mu.Unlock()
	if hd != nil {
		hd.Close()
	}
}

// restart mounts a new handler for the same server.
func (h *hub) restart() {
	h.mu.Lock()
	h.h = websocket.NewHandler(h.srv, h.hopts)
	h.mu.Unlock()
}

// handler returns the current handler.
func (h *hub) handler() *websocket.Handler {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.h
}

// startHub runs a DB with these records, all with remote access:
//
//	station.1.temperature  Ring(8), passive (the test produces)
//	station.2.temperature  Ring(8), passive
//	station.1.humidity     Latest, passive
//	config.display         Latest, passive; writable by the server's policy
//	hub.uptime             Latest, with a source (never writable)
//	fast.counter           Ring(1024), passive
//	fast.blob              Ring(64), passive
//
// and serves it with the handler options given (nil: defaults) and a
// server whose policy lets clients write config.display.
func startHub(t *testing.T, sopts *aimx.ServerOptions, hopts *websocket.HandlerOptions) *hub {
	t.Helper()
	db := aimdb.New(nil)
	h := &hub{db: db}
	h.temp1 = register(t, db, keyTemp1, aimdb.Ring(8))
	h.temp2 = register(t, db, keyTemp2, aimdb.Ring(8))
	h.hum1 = register(t, db, keyHum1, aimdb.Latest())
	h.display = register(t, db, keyDisplay, aimdb.Latest())
	up := register(t, db, keyUptime, aimdb.Latest())
	up.Source(func(ctx context.Context, p *aimdb.Producer[int]) error { return p.Produce(1) })
	h.counter = register(t, db, keyCounter, aimdb.Ring(1024))
	h.blob = register(t, db, keyBlob, aimdb.Ring(64))
	stop := aimdbtest.Start(t, db)

	so := aimx.ServerOptions{Policy: aimx.ReadWrite(keyDisplay.Name(), keyUptime.Name())}
	if sopts != nil {
		so = *sopts
	}
	h.srv, h.hopts = aimx.NewServer(db, &so), hopts
	h.restart()
	// The handler's own mux serves /health and /version; /ws goes
	// through the hub, so that tests can stop and restart it.
	m := http.NewServeMux()
	m.Handle("/ws", h)
	m.Handle("/", h.h.Mux())
	h.ts = httptest.NewServer(m)
	h.url = "ws" + strings.TrimPrefix(h.ts.URL, "http") + "/ws"
	t.Cleanup(func() {
		h.stop()
		h.ts.Close()
		if err := stop(); err != nil {
			t.Errorf("db: %v", err)
		}
	})
	return h
}

func register[T any](t *testing.T, db *aimdb.DB, k aimdb.Key[T], b aimdb.Buffer) *aimdb.Record[T] {
	t.Helper()
	r, err := aimdb.Register(db, k, b)
	if err != nil {
		t.Fatal(err)
	}
	r.RemoteAccess(codec.JSON[T]{})
	return r
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// raw is a WebSocket client that speaks frames as text.
type raw struct {
	t  *testing.T
	ws *cws.Conn
}

func dialRaw(t *testing.T, url string, opts *cws.DialOptions) *raw {
	t.Helper()
	ws, _, err := cws.Dial(testCtx(t), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(-1)
	t.Cleanup(func() { ws.CloseNow() })
	return &raw{t: t, ws: ws}
}

func (c *raw) send(frame string) {
	c.t.Helper()
	if err := c.ws.Write(testCtx(c.t), cws.MessageText, []byte(frame)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *raw) recv() string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, b, err := c.ws.Read(ctx)
	if err != nil {
		c.t.Fatalf("reading a frame: %v", err)
	}
	if typ != cws.MessageText {
		c.t.Fatalf("frame sent as %v, want text", typ)
	}
	return string(b)
}

// expect receives one frame and compares it with want.
func (c *raw) expect(want string) {
	c.t.Helper()
	if got := c.recv(); got != want {
		c.t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// sync sends a ping and returns the frames received before the pong.
func (c *raw) sync() []string {
	c.t.Helper()
	c.send(`{"t":"ping"}`)
	var got []string
	for {
		f := c.recv()
		if f == `{"t":"pong"}` {
			return got
		}
		got = append(got, f)
	}
}
