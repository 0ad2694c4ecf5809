// The tests start HTTP servers (httptest), which js/wasm cannot.
//go:build !js

package websocket_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/connector/websocket"
	cws "github.com/coder/websocket"
)

// hostTransport sends every request with Host host, as a browser does
// for a page whose name the DNS resolves to the server.
type hostTransport string

func (h hostTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Host = strings.Replace(string(h), "PORT", r.URL.Port(), 1)
	return http.DefaultTransport.RoundTrip(r)
}

// TestDNSRebinding: on a loopback listener, an upgrade naming a foreign
// Host, with the matching Origin (a page on evil.example rebound to
// 127.0.0.1), is refused with HTTP 403; loopback names, IP addresses and
// the allowed hosts pass.
func TestDNSRebinding(t *testing.T) {
	for _, tc := range []struct {
		host    string
		allowed []string
		ok      bool
	}{
		{"evil.example:PORT", nil, false},
		{"evil.example.:PORT", nil, false},
		{"localhost:PORT", nil, true},
		{"app.localhost:PORT", nil, true},
		{"127.0.0.1:PORT", nil, true},
		{"[::1]:PORT", nil, true},
		{"hub.lan:PORT", []string{"*.lan"}, true},
		{"hub.lan.evil.example:PORT", []string{"*.lan"}, false},
	} {
		t.Run(tc.host, func(t *testing.T) {
			h := startHub(t, nil, &websocket.HandlerOptions{AllowedHosts: tc.allowed})
			origin := "http://" + strings.Replace(tc.host, "PORT", h.ts.URL[strings.LastIndex(h.ts.URL, ":")+1:], 1)
			ws, resp, err := cws.Dial(testCtx(t), h.url+"?v=3.0", &cws.DialOptions{
				HTTPClient: &http.Client{Transport: hostTransport(tc.host)},
				HTTPHeader: http.Header{"Origin": {origin}},
			})
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				ws.CloseNow()
				return
			}
			if err == nil {
				ws.CloseNow()
			}
			if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("err %v, response %v; want HTTP 403", err, resp)
			}
		})
	}
}

// serve runs h.Serve on a loopback port until the test ends and returns
// its address.
func serve(t *testing.T, opts *websocket.HandlerOptions) string {
	t.Helper()
	db := aimdb.New(nil)
	h := websocket.NewHandler(aimx.NewServer(db, nil), opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return ln.Addr().String()
}

// TestServeChecksHost: Serve applies CheckHost to every route of the
// mux, not only to the upgrade.
func TestServeChecksHost(t *testing.T) {
	addr := serve(t, nil)
	for host, want := range map[string]int{"evil.example": 403, "localhost": 200} {
		c := &http.Client{Transport: hostTransport(host)}
		resp, err := c.Get("http://" + addr + "/health")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET /health with Host %s: %s; want %d", host, resp.Status, want)
		}
	}
}

// TestServeTimeouts: Serve drops a client that sends its headers too
// slowly, and an idle keep-alive connection.
func TestServeTimeouts(t *testing.T) {
	addr := serve(t, &websocket.HandlerOptions{ReadHeaderTimeout: 100 * time.Millisecond, IdleTimeout: 100 * time.Millisecond})
	closed := func(c net.Conn, r io.Reader) bool {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := io.Copy(io.Discard, r)
		return err == nil // EOF: the server closed it
	}
	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	io.WriteString(slow, "GET /health HTTP/1.1\r\nHost: localhost\r\n") // and never the end
	if !closed(slow, slow) {
		t.Error("a client that never finishes its headers is still connected after 5 s")
	}

	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	io.WriteString(idle, "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
	br := bufio.NewReader(idle)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if !closed(idle, br) {
		t.Error("an idle keep-alive connection is still open after 5 s")
	}
}
