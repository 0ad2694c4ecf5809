// The tests start HTTP servers (httptest), which js/wasm cannot.
//go:build !js

package websocket_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/websocket"
)

func TestEndpoints(t *testing.T) {
	for _, bad := range []string{"", "http://h/ws", "tcp://h:1", "ws://", "ws://user:pw@h/ws", "ws://h/%zz"} {
		if _, err := websocket.NewDialer(bad, nil); err == nil {
			t.Errorf("NewDialer(%q) succeeded", bad)
		} else if strings.Contains(err.Error(), "pw") {
			t.Errorf("NewDialer(%q): %v shows the password", bad, err)
		}
		if _, err := websocket.Dial(context.Background(), bad, nil); err == nil {
			t.Errorf("Dial(%q) succeeded", bad)
		}
	}
}

// TestDial uses the AimX client over WebSocket: a pattern's snapshots
// then live events, calls, and a stream that survives the server going
// away and coming back.
func TestDial(t *testing.T) {
	h := startHub(t, nil, nil)
	h.temp1.Produce(Temp{20})
	h.hum1.Produce(60)
	ctx := testCtx(t)
	c, err := websocket.Dial(ctx, h.url, &aimx.ClientOptions{ReconnectDelay: 10 * time.Millisecond, Keepalive: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.Subscribe(ctx, "station.#")
	if err != nil {
		t.Fatal(err)
	}
	next := func() aimx.Update {
		t.Helper()
		u, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	for _, want := range []aimx.Update{
		{Topic: "station.1.temperature", Data: []byte(`{"celsius":20}`), Seq: 1, Snapshot: true},
		{Topic: "station.1.humidity", Data: []byte(`60`), Seq: 2, Snapshot: true, SnapshotEnd: true},
	} {
		if got := next(); got.Topic != want.Topic || string(got.Data) != string(want.Data) || got.Seq != want.Seq ||
			got.Snapshot != want.Snapshot || got.SnapshotEnd != want.SnapshotEnd {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	}
	h.temp2.Produce(Temp{18})
	if u := next(); u.Topic != "station.2.temperature" || u.Snapshot || u.Seq != 3 {
		t.Fatalf("live event %+v", u)
	}
	// Idle for a few keepalive periods: pings keep the connection.
	time.Sleep(200 * time.Millisecond)
	if got, err := aimx.Get(ctx, c, keyHum1); err != nil || got != 60 {
		t.Fatalf("Get = %v, %v", got, err)
	}
	if _, err := c.Set(ctx, "station.1.humidity", []byte("1")); !errors.Is(err, aimx.ErrDenied) {
		t.Fatalf("Set = %v; want denied", err)
	}
	if rows, err := c.Records(ctx); err != nil || len(rows) != 7 {
		t.Fatalf("Records: %d rows, %v", len(rows), err)
	}
	if _, err := c.GraphNodes(ctx); !errors.Is(err, aimx.ErrNotFound) {
		t.Fatalf("graph.nodes over WebSocket: %v; want not_found", err)
	}

	h.stop()
	h.restart()
	// After the reconnect the stream is subscribed again: snapshots
	// first, then live values.
	for {
		u := next()
		if u.SnapshotEnd {
			break
		}
	}
	h.hum1.Produce(61)
	if u := next(); u.Topic != "station.1.humidity" || string(u.Data) != "61" || u.Snapshot {
		t.Fatalf("after the reconnect: %+v", u)
	}
}

// TestClientConnector mirrors a hub's records into a DB with ws-client
// links: a pattern fans out to one local record per station, snapshots
// first; a local record writes a hub record the token allows, and a
// write the hub's policy refuses changes nothing.
func TestClientConnector(t *testing.T) {
	perms := websocket.Permissions{Subscribe: []string{"#"}, Write: []string{"config.display", "station.1.humidity"}}
	h := startHub(t, nil, &websocket.HandlerOptions{Auth: websocket.TokenAuth("tok", perms)})
	h.temp1.Produce(Temp{20})
	h.hum1.Produce(50)

	d, err := websocket.NewDialer(h.url, &websocket.DialerOptions{Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	// An outbound link names one record.
	vdb := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"ws-client": d}})
	bad := must(aimdb.Register(vdb, aimdb.NewKey[int]("local.bad"), aimdb.Mailbox()))(t)
	bad.LinkTo("ws-client://station.#", codec.JSON[int]{})
	if err := vdb.Validate(); err == nil || !strings.Contains(err.Error(), "wildcard") {
		t.Fatalf("Validate = %v; want the outbound wildcard refused", err)
	}

	db := aimdb.New(&aimdb.Options{
		Connectors:       map[string]connector.Dialer{"ws-client": d},
		ReconnectBackoff: 10 * time.Millisecond,
	})
	m1 := must(aimdb.Register(db, aimdb.NewKey[Temp]("mirror.station.1.temperature"), aimdb.Ring(8)))(t)
	m2 := must(aimdb.Register(db, aimdb.NewKey[Temp]("mirror.station.2.temperature"), aimdb.Ring(8)))(t)
	m1.LinkFrom("ws-client://station.*.temperature", codec.JSON[Temp]{}, aimdb.RouteTopic(func(topic string) string { return "mirror." + topic }))
	display := must(aimdb.Register(db, aimdb.NewKey[Display]("local.display"), aimdb.Mailbox()))(t)
	display.LinkTo("ws-client://config.display", codec.JSON[Display]{})
	hum := must(aimdb.Register(db, aimdb.NewKey[float64]("local.humidity"), aimdb.Mailbox()))(t)
	hum.LinkTo("ws-client://station.1.humidity", codec.JSON[float64]{})
	s1 := must(m1.Subscribe())(t)
	defer s1.Close()
	s2 := must(m2.Subscribe())(t)
	defer s2.Close()
	aimdbtest.Start(t, db)
	connectortest.WaitLink(t, db, "mirror.station.1.temperature", 0, 10*time.Second, "connected", func(md aimdb.LinkMetadata) bool { return md.Connected })

	ctx := testCtx(t)
	if v, err := s1.Recv(ctx); err != nil || v.Celsius != 20 {
		t.Fatalf("snapshot of station 1: %v, %v", v, err)
	}
	h.temp2.Produce(Temp{17})
	h.temp1.Produce(Temp{21})
	if v, err := s2.Recv(ctx); err != nil || v.Celsius != 17 {
		t.Fatalf("station 2: %v, %v", v, err)
	}
	if v, err := s1.Recv(ctx); err != nil || v.Celsius != 21 {
		t.Fatalf("station 1: %v, %v", v, err)
	}

	hubDisplay := must(h.display.Subscribe())(t)
	defer hubDisplay.Close()
	display.Produce(Display{Brightness: 4})
	if v, err := hubDisplay.Recv(ctx); err != nil || v.Brightness != 4 {
		t.Fatalf("the hub's config.display: %v, %v", v, err)
	}
	// The token allows writing station.1.humidity, the hub's policy does
	// not: the write is dropped without an answer.
	hum.Produce(99)
	connectortest.WaitLink(t, db, "local.humidity", 0, 10*time.Second, "published", func(md aimdb.LinkMetadata) bool { return md.Published == 1 })
	display.Produce(Display{Brightness: 5}) // sent after the refused write, on the same connection
	if v, err := hubDisplay.Recv(ctx); err != nil || v.Brightness != 5 {
		t.Fatalf("the hub's config.display: %v, %v", v, err)
	}
	if got, ok := h.hum1.Peek(); !ok || got != 50 {
		t.Fatalf("station.1.humidity = %v, %v; want 50, unchanged", got, ok)
	}

	// The hub goes away and comes back: the DB reconnects and subscribes
	// again.
	h.stop()
	connectortest.WaitLink(t, db, "mirror.station.1.temperature", 0, 10*time.Second, "disconnected", func(md aimdb.LinkMetadata) bool { return !md.Connected })
	h.restart()
	connectortest.WaitLink(t, db, "mirror.station.1.temperature", 0, 10*time.Second, "reconnected", func(md aimdb.LinkMetadata) bool { return md.Connected && md.Reconnects >= 1 })
	for { // the snapshot after the reconnect
		v, err := s1.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v.Celsius == 21 {
			break
		}
	}
	h.temp1.Produce(Temp{22})
	if v, err := s1.Recv(ctx); err != nil || v.Celsius != 22 {
		t.Fatalf("station 1 after the reconnect: %v, %v", v, err)
	}
}

// TestSubscribeRefused checks that a ws-client link the server refuses
// keeps the connector from connecting, with the reason in the metadata.
func TestSubscribeRefused(t *testing.T) {
	h := startHub(t, nil, &websocket.HandlerOptions{Auth: func(*http.Request) (websocket.Permissions, error) {
		return websocket.Permissions{Subscribe: []string{"station.#"}}, nil
	}})
	d := must(websocket.NewDialer(h.url, nil))(t)
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"ws-client": d}, ReconnectBackoff: 10 * time.Millisecond})
	r := must(aimdb.Register(db, aimdb.NewKey[int]("up"), aimdb.Latest()))(t)
	r.LinkFrom("ws-client://hub.uptime", codec.JSON[int]{})
	aimdbtest.Start(t, db)
	md := connectortest.WaitLink(t, db, "up", 0, 10*time.Second, "an error", func(md aimdb.LinkMetadata) bool { return md.LastError != "" })
	if md.Connected || !strings.Contains(md.LastError, "denied") {
		t.Fatalf("link %+v; want disconnected, denied", md)
	}
}

func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// TestTLS mirrors a record from a hub served over TLS ("wss://"), whose
// certificate the test's HTTP client trusts.
func TestTLS(t *testing.T) {
	db := aimdb.New(nil)
	hum := register(t, db, keyHum1, aimdb.Latest())
	aimdbtest.Start(t, db)
	hum.Produce(48)
	h := websocket.NewHandler(aimx.NewServer(db, nil), nil)
	ts := httptest.NewUnstartedServer(h.Mux())
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	ts.StartTLS()
	defer ts.Close()
	defer h.Close()
	url := "wss" + strings.TrimPrefix(ts.URL, "https") + "/ws"

	plain := must(websocket.NewDialer(url, nil))(t)
	if _, err := plain.Dial(testCtx(t)); err == nil {
		t.Fatal("a certificate the system roots do not know was accepted")
	}
	d := must(websocket.NewDialer(url, &websocket.DialerOptions{HTTPClient: ts.Client()}))(t)
	mdb := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"ws-client": d}})
	m := must(aimdb.Register(mdb, aimdb.NewKey[float64]("mirror"), aimdb.Latest()))(t)
	m.LinkFrom("ws-client://station.1.humidity", codec.JSON[float64]{})
	s := must(m.Subscribe())(t)
	defer s.Close()
	aimdbtest.Start(t, mdb)
	hum.Produce(49) // the exact subscription of a Latest record starts with its value
	for {
		v, err := s.Recv(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if v == 49 {
			break
		}
	}
}
