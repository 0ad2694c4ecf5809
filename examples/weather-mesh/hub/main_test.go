//go:build !tinygo

package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/aimdb-go/aimdb/examples/weather-mesh/internal/cmdline"
)

// TestMain fails the package if a test leaks a goroutine. On js/wasm the
// runtime parks one goroutine of its own to deliver JavaScript callbacks
// (runtime.handleEvent); it is not a leak.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("runtime.handleEvent"))
}

func TestBadCommandLine(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--max-stations", "0"}, "--max-stations 0: want at least 1"},
		{[]string{"--max-stations", "many"}, `invalid value "many" for flag -max-stations`},
		{[]string{"--broker", "127.0.0.1:1883"}, `--broker: mqtt: malformed broker URL "127.0.0.1:1883"`},
		{[]string{"--broker", "http://broker"}, `--broker: mqtt: broker URL scheme "http"`},
		{[]string{"--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--aimx", "ftp://x"}, `--aimx: aimx: endpoint "ftp://x": unknown scheme "ftp"`},
		{[]string{"--aimx", "off", "--http", "127.0.0.1:99999"}, `--http: listen tcp: address 99999: invalid port`},
		{[]string{"--mcu", "ftp://x"}, `--mcu: mirror: aimx: endpoint "ftp://x": unknown scheme "ftp"`},
		{[]string{"--mcu", "serial://"}, `--mcu: mirror: aimx: endpoint "serial://": no device path`},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		err := run(context.Background(), tt.args, &stderr)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("run(%q) = %v; want one line containing %q", tt.args, err, tt.want)
		}
		if !errors.As(err, new(cmdline.UsageError)) {
			t.Errorf("run(%q) = %v; want a usage error (exit code 2)", tt.args, err)
		}
		if stderr.Len() != 0 {
			t.Errorf("run(%q) wrote %q; want nothing (main prints the error)", tt.args, stderr.String())
		}
	}
	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"-help"}, &stderr); !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr.String(), "-broker URL") {
		t.Errorf("run(-help) = %v, printed %q; want ErrHelp and the usage", err, stderr.String())
	}
}

// The hub wires up and shuts down cleanly; with its context already
// ended it does not wait for the (absent) broker.
func TestRunShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stderr bytes.Buffer
	if err := run(ctx, []string{"--broker", "mqtt://127.0.0.1:1", "--aimx", "off", "--http", ""}, &stderr); err != nil {
		t.Fatalf("run = %v; log:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "weather hub running") || !strings.Contains(stderr.String(), "max_stations=20000") {
		t.Errorf("log lacks the start of a hub of 20000 stations:\n%s", stderr.String())
	}
}
