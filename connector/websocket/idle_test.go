// The tests start HTTP servers (httptest), which js/wasm cannot.
//go:build !js

package websocket_test

import (
	"context"
	"net"
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
