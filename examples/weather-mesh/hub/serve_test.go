// Serving needs real sockets and HTTP: not on js/wasm or wasip1, whose
// networking is an in-process stand-in.
//go:build !js && !wasip1 && !tinygo

package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/aimx"
)

// TestServes runs the hub with AimX on a Unix socket and the dashboard on
// a free port: record.list answers with the pool's records, and the page
// and the WebSocket's /version are served, but not for a foreign Host
// (DNS rebinding: the dashboard listens on loopback).
func TestServes(t *testing.T) {
	t.Setenv(aimx.RuntimeDirEnv, t.TempDir()) // the hub registers there, not in the user's
	sock := "unix://" + filepath.Join(t.TempDir(), "hub.sock")
	ctx, cancel := context.WithCancel(context.Background())
	var log lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--broker", "mqtt://127.0.0.1:1", "--aimx", sock, "--http", "127.0.0.1:0"}, &log)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run = %v", err)
		}
	}()
	url := regexp.MustCompile(`url=(http://\S+/)`)
	deadline := time.Now().Add(10 * time.Second)
	for !url.MatchString(log.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("the hub never logged its dashboard URL:\n%s", log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	page := url.FindStringSubmatch(log.String())[1]

	tctx, tcancel := context.WithTimeout(ctx, 10*time.Second)
	defer tcancel()
	c, err := aimx.Dial(tctx, sock, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rows, err := c.Records(tctx)
	if err != nil || len(rows) != 0 {
		t.Fatalf("record.list: %d rows, %v; want 0 (no station published)", len(rows), err)
	}
	for path, want := range map[string]string{"": "<html", "version": `"aimx":"3.0"`, "metrics": `aimdb_aimx_connections_open 1`} {
		resp, err := http.Get(page + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET /%s: %s, %.80q; want %q (the aimx lines: %q)", path, resp.Status, body, want,
				regexp.MustCompile(`(?m)^aimdb_aimx_conn.*$`).FindAllString(string(body), -1))
		}
	}
	// After the scrape: Instances dials the hub's socket to see that it
	// answers, and that probe is an open connection until the server
	// sees it close.
	if list, err := aimx.Instances(); err != nil || len(list) != 1 || list[0].Name != "weather-hub" || list[0].Endpoint != sock {
		t.Errorf("Instances = %+v, %v; want the hub at %s", list, err, sock)
	}
	for _, path := range []string{"", "metrics", "ws?v=3.0"} {
		req, _ := http.NewRequest("GET", page+path, nil)
		req.Host = "evil.example"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET /%s with Host evil.example: %s; want 403", path, resp.Status)
		}
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
