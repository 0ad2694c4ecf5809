package websocket_test

import (
	"context"
	"net/http/httptest"
	"strings"
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
)

// hub is a running DB served over WebSocket by an httptest server.
type hub struct {
	db      *aimdb.DB
	temp1   *aimdb.Record[Temp]
	temp2   *aimdb.Record[Temp]
	hum1    *aimdb.Record[float64]
	display *aimdb.Record[Display]
	counter *aimdb.Record[int]
	h       *websocket.Handler
	ts      *httptest.Server
	url     string // ws://…/ws
}

// startHub runs a DB with these records, all with remote access:
//
//	station.1.temperature  Ring(8), passive (the test produces)
//	station.2.temperature  Ring(8), passive
//	station.1.humidity     Latest, passive
//	config.display         Latest, passive; writable by the server's policy
//	hub.uptime             Latest, with a source (never writable)
//	fast.counter           Ring(1024), passive
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
	stop := aimdbtest.Start(t, db)

	so := aimx.ServerOptions{Policy: aimx.ReadWrite(keyDisplay.Name(), keyUptime.Name())}
	if sopts != nil {
		so = *sopts
	}
	h.h = websocket.NewHandler(aimx.NewServer(db, &so), hopts)
	h.ts = httptest.NewServer(h.h.Mux())
	h.url = "ws" + strings.TrimPrefix(h.ts.URL, "http") + "/ws"
	t.Cleanup(func() {
		h.h.Close()
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
