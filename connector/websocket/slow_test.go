// The tests start HTTP servers (httptest), which js/wasm cannot.
//go:build !js

package websocket_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/connector/websocket"
	cws "github.com/coder/websocket"
)

// TestSlowClient shows that a client that does not read holds up no
// producer: 100,000 values are produced while it reads nothing, and the
// client later sees what it missed as gaps in seq.
func TestSlowClient(t *testing.T) {
	h := startHub(t, &aimx.ServerOptions{EventQueue: 64}, &websocket.HandlerOptions{WriteTimeout: time.Minute})
	c := dialRaw(t, h.url+"?v=3.0", nil)
	c.send(`{"t":"sub","id":1,"topic":"fast.counter"}`)
	c.expect(`{"t":"subscribed","sub":"1"}`)

	const n = 100_000
	start := time.Now()
	var worst time.Duration
	for i := range n {
		t0 := time.Now()
		if err := h.counter.Produce(i); err != nil {
			t.Fatal(err)
		}
		worst = max(worst, time.Since(t0))
	}
	total := time.Since(start)
	t.Logf("produced %d values in %v while the client read nothing (slowest Produce %v)", n, total, worst)
	if total > 5*time.Second {
		t.Errorf("producing %d values took %v; the client held the producer up", n, total)
	}

	// Now read what arrived: fewer values than produced, in order, with
	// every loss visible as a gap in seq. Once the backlog is read, a
	// marker value produced later arrives, numbered after every value
	// produced.
	done := make(chan struct{})
	marker := make(chan struct{})
	go func() {
		defer close(marker)
		for {
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
				h.counter.Produce(-1)
			}
		}
	}()
	defer func() { close(done); <-marker }()
	var got, gaps, lastSeq uint64
	for {
		_, b, err := c.ws.Read(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		f, err := aimx.ParseFrame(b)
		if err != nil || f.T != aimx.TagEvent {
			t.Fatalf("unexpected frame %s", b)
		}
		if f.Seq <= lastSeq {
			t.Fatalf("seq %d after %d", f.Seq, lastSeq)
		}
		if string(f.Data) == "-1" {
			if f.Seq <= n {
				t.Errorf("the marker has seq %d; want more than %d", f.Seq, n)
			}
			break
		}
		if f.Seq > lastSeq+1 {
			gaps++
		}
		lastSeq = f.Seq
		got++
	}
	t.Logf("the client received %d of %d values, with %d gaps in seq up to %d", got, n, gaps, lastSeq)
	if got == 0 || got >= n || gaps == 0 || lastSeq > n {
		t.Fatalf("received %d values, %d gaps, last seq %d; want some values, fewer than %d, gaps, seq at most %d", got, gaps, lastSeq, n, n)
	}
}

// TestStuckClient shows that a client that takes no frame at all is
// disconnected after the write timeout, and counted as slow, while
// producers carry on.
func TestStuckClient(t *testing.T) {
	h := startHub(t, nil, &websocket.HandlerOptions{WriteTimeout: 200 * time.Millisecond})
	// A small receive buffer, so that the kernel does not absorb tens of
	// megabytes for the client before the server's writes block.
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err == nil {
			err = c.(*net.TCPConn).SetReadBuffer(16 << 10)
		}
		return c, err
	}}
	defer tr.CloseIdleConnections()
	c := dialRaw(t, h.url+"?v=3.0", &cws.DialOptions{HTTPClient: &http.Client{Transport: tr}})
	c.send(`{"t":"sub","id":1,"topic":"fast.blob"}`)
	c.expect(`{"t":"subscribed","sub":"1"}`)
	// 128 values of 256 KiB: far more than the socket buffers hold.
	big := strings.Repeat("x", 256<<10)
	for range 128 {
		t0 := time.Now()
		h.blob.Produce(big)
		if d := time.Since(t0); d > time.Second {
			t.Fatalf("Produce took %v", d)
		}
	}
	waitFor(t, "the stuck client to be disconnected", func() bool { return h.handler().Clients() == 0 })
	waitFor(t, "the stuck client to be counted", func() bool { return h.srv.Stats().SlowClosed == 1 })
	// Its frames so far are intact; then the connection ends.
	for {
		_, b, err := c.ws.Read(testCtx(t))
		if err != nil {
			break
		}
		var f struct{ Data string }
		if json.Unmarshal(b, &f) != nil || f.Data != big {
			t.Fatalf("a frame of %d bytes is not an intact event", len(b))
		}
	}
}
