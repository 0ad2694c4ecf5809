//go:build !js && !wasip1

// These tests need TCP on loopback, which js/wasm and wasip1 do not have.

package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/internal/tooltest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestPublishThenClose runs the program against its embedded broker at
// every QoS: Flush confirms every value before the DB closes, and the
// subscriber receives all of them.
func TestPublishThenClose(t *testing.T) {
	for _, qos := range []int{0, 1, 2} {
		t.Run(fmt.Sprintf("qos=%d", qos), func(t *testing.T) {
			var out bytes.Buffer
			if err := run(context.Background(), "", 8, qos, &out); err != nil {
				t.Fatalf("run: %v\n%s", err, out.String())
			}
			want := "flush: the broker accepted all 8 values\nsubscriber received 8 of 8\n"
			if out.String() != want {
				t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
			}
		})
	}
}

// TestPublishThenCloseMosquitto is TestPublishThenClose against Debian's
// mosquitto, with more values.
func TestPublishThenCloseMosquitto(t *testing.T) {
	bin := tooltest.Path(t, "mosquitto")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, "listener %d 127.0.0.1\nallow_anonymous true\n", port), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto did not listen on %s:\n%s", addr, logs.String())
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), "mqtt://"+addr, 500, 1, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if want := "flush: the broker accepted all 500 values\nsubscriber received 500 of 500\n"; out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestBadFlags(t *testing.T) {
	for _, tt := range []struct {
		broker string
		n, qos int
		want   string
	}{
		{"", 0, 1, "-n 0: want at least 1"},
		{"", 8, 3, "-qos 3: want 0, 1 or 2"},
		{"tcp://127.0.0.1:1", 8, 1, `-broker "tcp://127.0.0.1:1": want mqtt://host:port`},
	} {
		err := run(context.Background(), tt.broker, tt.n, tt.qos, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%q, %d, %d) = %v; want %q", tt.broker, tt.n, tt.qos, err, tt.want)
		}
	}
}
