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
		{[]string{"--slot", "-1"}, "--slot -1: want 0 to 65535"},
		{[]string{"--slot", "65536"}, "--slot 65536: want 0 to 65535"},
		{[]string{"--interval", "0s"}, "--interval 0s: want a positive duration"},
		{[]string{"--interval", "soon"}, `invalid value "soon" for flag -interval`},
		{[]string{"--seed", "-3"}, `invalid value "-3" for flag -seed`},
		{[]string{"--broker", "mqtt://"}, "--broker: mqtt: broker URL has no host"},
		{[]string{"--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"--id", "70000"}, "--slot 70000: want 0 to 65535"},
		{[]string{"--knx", "tcp://gw"}, `--knx: knx: gateway URL scheme "tcp": want udp, knx or multicast`},
		{[]string{"--knx", "udp://gw", "--temperature-ga", "32/0/0"}, `--temperature-ga: knx: group address "32/0/0"`},
		{[]string{"--knx", "udp://gw", "--humidity-ga", "9/1/+"}, `--humidity-ga: knx: group address "9/1/+"`},
		{[]string{"--knx", "udp://gw", "--humidity-dpt", "7.001"}, `--humidity-dpt "7.001": want 9.007 or 5.001`},
		{[]string{"extra"}, `unexpected argument "extra"`},
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
	if err := run(context.Background(), []string{"-h"}, &stderr); !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr.String(), "-interval duration") {
		t.Errorf("run(-h) = %v, printed %q; want ErrHelp and the usage", err, stderr.String())
	}
}
