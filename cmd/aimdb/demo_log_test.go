package main

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDemoLogComponent checks that the demo's AimX and WebSocket log
// lines name their component once.
func TestDemoLogComponent(t *testing.T) {
	var out syncBuffer
	d, err := startDemo(context.Background(), freeDemo(t, 1), slog.New(slog.NewTextHandler(&out, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.stop(); err != nil {
			t.Errorf("demo: %v", err)
		}
	})

	// An AimX frame over the size cap is logged ...
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(d.aimx[0], "tcp://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], 1<<30)
	c.Write(hdr[:])
	// ... and so is an upgrade from a foreign origin.
	req, err := http.NewRequest("GET", d.httpURL+"ws?v=3.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
		"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": "http://evil.example"} {
		req.Header.Set(k, v)
	}
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		var aimxLine, wsLine string
		for l := range strings.Lines(out.String()) {
			switch {
			case strings.Contains(l, "frame too large"):
				aimxLine = l
			case strings.Contains(l, "upgrade failed"):
				wsLine = l
			}
		}
		if aimxLine != "" && wsLine != "" {
			for _, l := range []string{aimxLine, wsLine} {
				if n := strings.Count(l, "component="); n != 1 {
					t.Errorf("log line names a component %d times: %s", n, l)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log lines about an oversize frame and a foreign origin within 10 s:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
