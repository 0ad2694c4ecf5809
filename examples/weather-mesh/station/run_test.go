//go:build !js && !wasip1

// These tests need TCP on loopback, which js/wasm and wasip1 do not have:
// the broker listens on 127.0.0.1. The other targets run them.

package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// The station wires up, publishes its first readings and shuts down
// cleanly: with its context already ended, Run starts, and the shutdown
// drains the queued readings to the broker.
func TestRunShutsDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := mochi.New(&mochi.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddListener(listeners.NewNet("t", ln)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		// mochi-mqtt v2.7.9 races Close against the goroutine of a
		// connection still being torn down (mochi-mqtt/server#541);
		// waiting for the connected-clients count orders it before Close.
		deadline := time.Now().Add(5 * time.Second)
		for atomic.LoadInt64(&srv.Info.ClientsConnected) > 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		_ = srv.Close()
	}()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stderr bytes.Buffer
	if err := run(ctx, []string{"--broker", "mqtt://" + ln.Addr().String(), "--slot", "5", "-v"}, &stderr); err != nil {
		t.Fatalf("run = %v; log:\n%s", err, stderr.String())
	}
	for _, want := range []string{"client_id=weather-station-5", "seed=5", "records=2", "connector connected", "msg=temperature"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, stderr.String())
		}
	}
}
