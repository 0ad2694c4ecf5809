// The tests start HTTP servers (httptest), which js/wasm cannot.
//go:build !js

package websocket_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/connector/websocket"
	cws "github.com/coder/websocket"
)

func TestPermissions(t *testing.T) {
	p := websocket.Permissions{Subscribe: []string{"station.#", "hub.uptime"}, Write: []string{"config.*"}}
	for _, tc := range []struct {
		pattern string
		want    bool
	}{
		{"station.#", true}, {"station.1.temperature", true}, {"station.*.temperature", true},
		{"#", false}, {"hub.#", false}, {"hub.uptime", true}, {"config.display", false},
	} {
		if got := p.CanSubscribe(tc.pattern); got != tc.want {
			t.Errorf("CanSubscribe(%q) = %v, want %v", tc.pattern, got, tc.want)
		}
	}
	for _, tc := range []struct {
		topic string
		want  bool
	}{{"config.display", true}, {"config.a.b", false}, {"station.1.temperature", false}} {
		if got := p.CanWrite(tc.topic); got != tc.want {
			t.Errorf("CanWrite(%q) = %v, want %v", tc.topic, got, tc.want)
		}
	}
	if ro := websocket.ReadOnly(); !ro.CanSubscribe("#") || ro.CanWrite("config.display") {
		t.Errorf("ReadOnly() = %+v; want subscribe # and no write", ro)
	}
}

// TestAuth checks the token at the upgrade, and that the permissions it
// grants narrow subscriptions and writes, which the server's policy
// narrows again.
func TestAuth(t *testing.T) {
	perms := websocket.Permissions{Subscribe: []string{"station.#", "config.display"}, Write: []string{"config.display", "station.#"}}
	h := startHub(t, nil, &websocket.HandlerOptions{Auth: websocket.TokenAuth("s3cret", perms)})
	h.display.Produce(Display{1})
	h.hum1.Produce(50)

	for _, tc := range []struct {
		name   string
		query  string
		header http.Header
	}{
		{"no token", "", nil},
		{"wrong token", "&token=nope", nil},
		{"wrong bearer", "", http.Header{"Authorization": {"Bearer nope"}}},
		{"not a bearer", "", http.Header{"Authorization": {"s3cret"}}},
	} {
		_, resp, err := cws.Dial(testCtx(t), h.url+"?v=3.0"+tc.query, &cws.DialOptions{HTTPHeader: tc.header})
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: err %v, response %v; want HTTP 401", tc.name, err, resp)
		}
	}
	if _, err := websocket.Dial(testCtx(t), h.url, &aimx.ClientOptions{Token: "nope", NoReconnect: true}); !errors.Is(err, websocket.ErrUnauthorized) {
		t.Errorf("Dial with a wrong token: %v; want ErrUnauthorized", err)
	}

	c := dialRaw(t, h.url+"?v=3.0&token=s3cret", nil)
	c.send(`{"t":"sub","id":1,"topic":"#"}`)
	c.expect(`{"t":"reply","id":1,"err":"denied"}`)
	c.send(`{"t":"sub","id":2,"topic":"hub.uptime"}`)
	c.expect(`{"t":"reply","id":2,"err":"denied"}`)
	// Allowed by the token and the policy.
	c.send(`{"t":"req","id":3,"method":"record.set","params":{"name":"config.display","value":{"brightness":7}}}`)
	c.expect(`{"t":"reply","id":3,"ok":{"status":"success","value":{"brightness":7}}}`)
	// Allowed by the token, not by the policy.
	c.send(`{"t":"req","id":4,"method":"record.set","params":{"name":"station.1.humidity","value":1}}`)
	c.expect(`{"t":"reply","id":4,"err":"denied"}`)
	c.send(`{"t":"write","topic":"station.1.humidity","payload":{"value":2}}`)
	c.send(`{"t":"write","topic":"config.display","payload":{"value":{"brightness":8}}}`)
	c.sync()
	c.send(`{"t":"req","id":5,"method":"record.get","params":{"name":"station.1.humidity"}}`)
	c.expect(`{"t":"reply","id":5,"ok":50}`)
	c.send(`{"t":"req","id":6,"method":"record.get","params":{"name":"config.display"}}`)
	c.expect(`{"t":"reply","id":6,"ok":{"brightness":8}}`)
	// What the token may not subscribe to, it may not read or list.
	c.send(`{"t":"req","id":7,"method":"record.get","params":{"name":"hub.uptime"}}`)
	c.expect(`{"t":"reply","id":7,"err":"denied"}`)
	c.send(`{"t":"req","id":8,"method":"record.query","params":{"name":"#"}}`)
	c.expect(`{"t":"reply","id":8,"err":"denied"}`)
	lc, err := websocket.Dial(testCtx(t), h.url, &aimx.ClientOptions{Token: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := lc.Records(testCtx(t))
	lc.Close()
	if err != nil || len(rows) == 0 {
		t.Fatalf("record.list: %d rows, %v", len(rows), err)
	}
	for _, r := range rows {
		if !perms.CanSubscribe(r.RecordKey) {
			t.Errorf("record.list shows %s, which the token may not read", r.RecordKey)
		}
	}

	// The header works as well as the query, and so does Dial.
	dialRaw(t, h.url+"?v=3.0", &cws.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer s3cret"}}}).sync()
	cl, err := websocket.Dial(testCtx(t), h.url, &aimx.ClientOptions{Token: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := cl.Set(testCtx(t), "hub.uptime", []byte("5")); !errors.Is(err, aimx.ErrDenied) {
		t.Errorf("Set of a record with a source: %v; want denied", err)
	}
}

func TestOrigin(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   *websocket.HandlerOptions
		origin string
		ok     bool
	}{
		{"no origin (not a browser)", nil, "", true},
		{"same host", nil, "http://HOST", true},
		{"foreign", nil, "http://evil.example", false},
		{"allowed by a pattern", &websocket.HandlerOptions{OriginPatterns: []string{"*.example"}}, "http://app.example", true},
		{"not matching the pattern", &websocket.HandlerOptions{OriginPatterns: []string{"*.example"}}, "http://evil.test", false},
		{"any, insecurely", &websocket.HandlerOptions{InsecureSkipVerify: true}, "http://evil.example", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startHub(t, nil, tc.opts)
			hdr := http.Header{}
			if tc.origin != "" {
				hdr.Set("Origin", strings.Replace(tc.origin, "HOST", strings.TrimPrefix(h.ts.URL, "http://"), 1))
			}
			ws, resp, err := cws.Dial(testCtx(t), h.url+"?v=3.0", &cws.DialOptions{HTTPHeader: hdr})
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				ws.CloseNow()
				return
			}
			if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("err %v, response %v; want HTTP 403", err, resp)
			}
		})
	}
}

func TestConnectionLimit(t *testing.T) {
	h := startHub(t, nil, &websocket.HandlerOptions{MaxConnections: 2})
	a := dialRaw(t, h.url+"?v=3.0", nil)
	dialRaw(t, h.url+"?v=3.0", nil).sync()
	_, resp, err := cws.Dial(testCtx(t), h.url+"?v=3.0", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third connection: err %v, response %v; want HTTP 503", err, resp)
	}
	a.ws.CloseNow()
	waitFor(t, "a free slot", func() bool { return h.handler().Clients() < 2 })
	dialRaw(t, h.url+"?v=3.0", nil).sync()
}

func TestMessageSizeLimit(t *testing.T) {
	h := startHub(t, nil, &websocket.HandlerOptions{MaxMessageSize: 1024})
	c := dialRaw(t, h.url+"?v=3.0", nil)
	c.send(`{"t":"req","id":1,"method":"record.get","params":{"name":"` + strings.Repeat("x", 900) + `"}}`)
	c.expect(`{"t":"reply","id":1,"err":"not_found"}`)
	c.send(`{"t":"req","id":2,"method":"record.get","params":{"name":"` + strings.Repeat("x", 2000) + `"}}`)
	if _, _, err := c.ws.Read(testCtx(t)); cws.CloseStatus(err) != cws.StatusMessageTooBig {
		t.Fatalf("after an oversized message: %v; want close status %v", err, cws.StatusMessageTooBig)
	}
	waitFor(t, "the connection to end", func() bool { return h.handler().Clients() == 0 })
}

func TestSubscriptionLimit(t *testing.T) {
	h := startHub(t, &aimx.ServerOptions{MaxSubscriptions: 2}, nil)
	c := dialRaw(t, h.url+"?v=3.0", nil)
	c.send(`{"t":"sub","id":1,"topic":"station.1.temperature"}`)
	c.expect(`{"t":"subscribed","sub":"1"}`)
	c.send(`{"t":"sub","id":2,"topic":"station.2.temperature"}`)
	c.expect(`{"t":"subscribed","sub":"2"}`)
	c.send(`{"t":"sub","id":3,"topic":"station.1.humidity"}`)
	c.expect(`{"t":"reply","id":3,"err":"denied"}`)
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
