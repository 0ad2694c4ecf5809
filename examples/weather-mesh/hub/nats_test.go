//go:build !tinygo

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// A hub on NATS wires up and shuts down cleanly; --group needs NATS.
func TestRunOnNATS(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stderr bytes.Buffer
	if err := run(ctx, []string{"--broker", "nats://127.0.0.1:1", "--group", "hubs", "--aimx", "off", "--http", ""}, &stderr); err != nil {
		t.Fatalf("run = %v; log:\n%s", err, stderr.String())
	}
	if log := stderr.String(); !strings.Contains(log, "weather hub running") || !strings.Contains(log, "group=hubs") || !strings.Contains(log, "nats://127.0.0.1:1") {
		t.Errorf("log lacks the start of a NATS hub of group hubs:\n%s", log)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--broker", "mqtt://127.0.0.1:1", "--group", "hubs"}, "--group hubs: needs a nats:// or kafka:// broker"},
		{[]string{"--broker", "nats://127.0.0.1:1", "--group", "a.b"}, `--broker: nats: group "a.b"`},
		{[]string{"--broker", "nats://"}, "--broker: nats: server URL has no host"},
	} {
		if err := run(context.Background(), tc.args, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v; want an error containing %q", tc.args, err, tc.want)
		}
	}
}
