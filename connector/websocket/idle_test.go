// The tests start HTTP servers (httptest), which js/wasm cannot.
//go:build !js

package websocket_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/connector/websocket"
)

// TestIdleAimXSockets opens 64 AimX sockets that never send a frame on
// the server the handler serves, then checks that a WebSocket client
// still connects and lists the records: an upgrade is authenticated, so
// it does not wait behind unauthenticated sockets.
func TestIdleAimXSockets(t *testing.T) {
	for _, token := range []string{"", "s3cret"} {
		t.Run("token="+token, func(t *testing.T) {
			h := startHub(t, &aimx.ServerOptions{Token: token}, nil)
			ln, fr, err := aimx.Listen("tcp://127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			served := make(chan error, 1)
			go func() { served <- h.srv.Serve(ctx, ln, fr) }()
			t.Cleanup(func() {
				cancel()
				if err := <-served; err != nil {
					t.Errorf("Serve: %v", err)
				}
			})
			for range 64 {
				c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
			}
			deadline := time.Now().Add(5 * time.Second)
			for s := h.srv.Stats(); s.Accepted+s.Refused < 64; s = h.srv.Stats() {
				if time.Now().After(deadline) {
					t.Fatalf("stats %+v: the server did not take the 64 sockets within 5 s", s)
				}
				time.Sleep(10 * time.Millisecond)
			}

			cl, err := websocket.Dial(testCtx(t), h.url, &aimx.ClientOptions{Token: token})
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			if rows, err := cl.Records(testCtx(t)); err != nil || len(rows) == 0 {
				t.Errorf("record.list over WebSocket after 64 idle AimX sockets: %d rows, %v", len(rows), err)
			}
		})
	}
}

// TestUpgradeRefusalLogs refuses 30 upgrades over MaxConnections and
// checks that the log holds one line about them, naming the remote
// address, not one per refusal.
func TestUpgradeRefusalLogs(t *testing.T) {
	var mu sync.Mutex
	var out bytes.Buffer
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &out}, nil))
	h := startHub(t, nil, &websocket.HandlerOptions{MaxConnections: 1, Logger: log})
	first, err := websocket.Dial(testCtx(t), h.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	for i := range 30 {
		res, err := http.Get("http" + strings.TrimPrefix(h.url, "ws") + "?v=3.0")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("upgrade %d over the cap: HTTP %d; want 503", i, res.StatusCode)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var lines []string
	for l := range strings.SplitSeq(out.String(), "\n") {
		if strings.Contains(l, "too many connections") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "remote=127.0.0.1:") || !strings.Contains(lines[0], "suppressed=0") {
		t.Fatalf("log lines about 30 refused upgrades:\n%s\nwant one, naming the remote address", strings.Join(lines, "\n"))
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
