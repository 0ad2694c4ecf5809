//go:build !js && !wasip1

// These tests need TCP on loopback, which js/wasm and wasip1 do not have:
// the broker listens on 127.0.0.1. The other targets run them.

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb/connector/mqtt/mqttbroker"
)

// The station wires up, publishes its first readings and shuts down
// cleanly: with its context already ended, Run starts, and the shutdown
// drains the queued readings to the broker.
func TestRunShutsDown(t *testing.T) {
	broker := mqttbroker.Start(t)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stderr bytes.Buffer
	if err := run(ctx, []string{"--broker", broker, "--slot", "5", "-v"}, &stderr); err != nil {
		t.Fatalf("run = %v; log:\n%s", err, stderr.String())
	}
	for _, want := range []string{"client_id=weather-station-5", "seed=5", "records=2", "connector connected", "msg=temperature"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, stderr.String())
		}
	}
}
