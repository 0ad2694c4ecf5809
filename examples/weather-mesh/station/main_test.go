package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"strings"
	"testing"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaks a goroutine.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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
		{[]string{"extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		err := run(context.Background(), tt.args, &stderr)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("run(%q) = %v; want one line containing %q", tt.args, err, tt.want)
		}
		if !errors.As(err, new(usageError)) {
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
	defer srv.Close()

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
