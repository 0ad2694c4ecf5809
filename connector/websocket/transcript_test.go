// The tests start HTTP servers (httptest), which js/wasm cannot.
//go:build !js

package websocket_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/connector/websocket"
)

// TestTranscript checks the WebSocket dialect frame by frame: the
// subscribed ack, snapshots of a pattern then live events, the methods
// served and refused, and that a read-only client's writes change
// nothing.
func TestTranscript(t *testing.T) {
	q := func(ctx context.Context, p aimx.QueryParams) ([]aimx.QueryRow, error) {
		return []aimx.QueryRow{{Topic: "station.1.temperature", Payload: json.RawMessage(`{"celsius":20}`), TS: 7}}, nil
	}
	h := startHub(t, &aimx.ServerOptions{Policy: aimx.ReadWrite("config.display"), Query: q}, nil)
	h.temp1.Produce(Temp{21.5})
	h.hum1.Produce(55)
	h.display.Produce(Display{3})
	c := dialRaw(t, h.url+"?v=3.0", nil)

	c.send(`{"t":"sub","id":1,"topic":"station.#"}`)
	c.expect(`{"t":"subscribed","sub":"1"}`)
	c.expect(`{"t":"snap","seq":1,"topic":"station.1.temperature","sub":"1","data":{"celsius":21.5}}`)
	c.expect(`{"t":"snap","seq":2,"last":true,"topic":"station.1.humidity","sub":"1","data":55}`)
	h.temp2.Produce(Temp{19})
	c.expect(`{"t":"event","seq":3,"topic":"station.2.temperature","sub":"1","data":{"celsius":19}}`)

	c.send(`{"t":"sub","id":2,"topic":"config.display"}`)
	c.expect(`{"t":"subscribed","sub":"2"}`)
	c.expect(`{"t":"event","seq":1,"sub":"2","data":{"brightness":3}}`)

	c.send(`{"t":"req","id":3,"method":"record.list","params":null}`)
	var list struct {
		OK []aimx.RecordInfo `json:"ok"`
	}
	if err := json.Unmarshal([]byte(c.recv()), &list); err != nil || len(list.OK) != 7 {
		t.Fatalf("record.list: %d rows, %v", len(list.OK), err)
	}
	for _, r := range list.OK {
		if want := r.RecordKey == "config.display"; r.Writable != want {
			t.Errorf("record.list: %s writable = %v, want %v", r.RecordKey, r.Writable, want)
		}
	}
	for _, tc := range []struct{ send, want string }{
		{`{"t":"req","id":4,"method":"record.get","params":{"name":"station.1.humidity"}}`, `{"t":"reply","id":4,"ok":55}`},
		{`{"t":"req","id":5,"method":"record.get","params":{"name":"nope"}}`, `{"t":"reply","id":5,"err":"not_found"}`},
		{`{"t":"req","id":6,"method":"record.query","params":{"name":"station.#"}}`,
			`{"t":"reply","id":6,"ok":{"records":[{"topic":"station.1.temperature","payload":{"celsius":20},"ts":7}],"total":1}}`},
		{`{"t":"req","id":7,"method":"hello","params":{"version":"3.0"}}`, `{"t":"reply","id":7,"err":"not_found"}`},
		{`{"t":"req","id":8,"method":"record.drain","params":{"name":"station.1.humidity"}}`, `{"t":"reply","id":8,"err":"not_found"}`},
		{`{"t":"req","id":9,"method":"graph.nodes","params":null}`, `{"t":"reply","id":9,"err":"not_found"}`},
		// Writable by the policy, but the default permissions are read-only.
		{`{"t":"req","id":10,"method":"record.set","params":{"name":"config.display","value":{"brightness":9}}}`, `{"t":"reply","id":10,"err":"denied"}`},
		{`{"t":"req","id":11,"method":"record.set","params":{"name":"station.1.humidity","value":1}}`, `{"t":"reply","id":11,"err":"denied"}`},
		{`{"t":"sub","id":12,"topic":"nope"}`, `{"t":"reply","id":12,"err":"not_found"}`},
	} {
		c.send(tc.send)
		c.expect(tc.want)
	}
	// Writes are never answered; refused ones change nothing.
	c.send(`{"t":"write","topic":"config.display","payload":{"value":{"brightness":9}}}`)
	c.send(`{"t":"write","topic":"station.1.humidity","payload":1}`)
	c.send(`not json`)
	if got := c.sync(); len(got) != 0 {
		t.Fatalf("frames after refused writes: %q", got)
	}
	c.send(`{"t":"req","id":13,"method":"record.get","params":{"name":"config.display"}}`)
	c.expect(`{"t":"reply","id":13,"ok":{"brightness":3}}`)

	c.send(`{"t":"unsub","sub":"1"}`)
	c.sync()
	h.temp1.Produce(Temp{22})
	if got := c.sync(); len(got) != 0 {
		t.Fatalf("events after unsub: %q", got)
	}
}

// TestBinaryMessages checks that a frame sent as a binary message is
// served like a text one.
func TestBinaryMessages(t *testing.T) {
	h := startHub(t, nil, nil)
	h.hum1.Produce(40)
	c := dialRaw(t, h.url+"?v=3.0", nil)
	if err := c.ws.Write(testCtx(t), 2 /* binary */, []byte(`{"t":"req","id":1,"method":"record.get","params":{"name":"station.1.humidity"}}`)); err != nil {
		t.Fatal(err)
	}
	c.expect(`{"t":"reply","id":1,"ok":40}`)
}

// TestUpgradeVersion checks the version gate: a missing or incompatible
// "v" is answered HTTP 426 before anything else.
func TestUpgradeVersion(t *testing.T) {
	h := startHub(t, nil, nil)
	for _, v := range []string{"", "?v=", "?v=2.0", "?v=garbage", "?v=30"} {
		resp, err := http.Get("http" + strings.TrimPrefix(h.url, "ws") + v)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUpgradeRequired || !strings.Contains(string(body), "incompatible AimX protocol version (server speaks 3.0)") {
			t.Errorf("%q: %d %q; want 426 and the reason", v, resp.StatusCode, body)
		}
	}
	for _, v := range []string{"?v=3.0", "?v=3", "?v=3.7"} {
		c := dialRaw(t, h.url+v, nil)
		c.sync()
	}
}

func TestHealthAndVersion(t *testing.T) {
	h := startHub(t, nil, nil)
	c := dialRaw(t, h.url+"?v=3.0", nil)
	c.sync()
	for _, tc := range []struct{ path, want string }{
		{"/version", `{"aimx":"3.0"}`},
		{"/health", `{"status":"ok","clients":1,"uptime_secs":0}`},
	} {
		resp, err := http.Get(h.ts.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := strings.TrimSpace(string(body)); got != tc.want || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("GET %s = %s (%s); want %s", tc.path, got, resp.Header.Get("Content-Type"), tc.want)
		}
	}
}

// TestServe runs the standalone server: Serve answers on the listener
// until its context ends, then returns with every connection closed.
func TestServe(t *testing.T) {
	h := startHub(t, nil, nil)
	h.hum1.Produce(42)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hd := websocket.NewHandler(h.srv, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hd.Serve(ctx, ln) }()
	c := dialRaw(t, "ws://"+ln.Addr().String()+"/ws?v=3.0", nil)
	c.send(`{"t":"req","id":1,"method":"record.get","params":{"name":"station.1.humidity"}}`)
	c.expect(`{"t":"reply","id":1,"ok":42}`)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, _, err := c.ws.Read(testCtx(t)); err == nil {
		t.Fatal("the connection outlived Serve")
	}
	if hd.Clients() != 0 {
		t.Fatalf("%d clients after Serve returned", hd.Clients())
	}
}
