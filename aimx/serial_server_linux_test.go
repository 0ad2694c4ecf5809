//go:build linux

package aimx_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/creack/pty"

	"github.com/aimdb-go/aimdb/aimx"
)

// TestServeSerial serves a DB over a serial line: the server on the pty
// master (the device's side), the client dialing serial:///dev/pts/N.
func TestServeSerial(t *testing.T) {
	f := startFixture(t, &aimx.ServerOptions{Policy: aimx.ReadWrite("cfg")})
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("pty.Open: %v (the serial test needs /dev/ptmx)", err)
	}
	srv := aimx.NewServer(f.db, &aimx.ServerOptions{Policy: aimx.ReadWrite("cfg")})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeStream(ctx, ptmx, aimx.COBS) }()
	tctx := testCtx(t)
	c, err := aimx.Dial(tctx, "serial://"+tty.Name()+"?baud=115200", &aimx.ClientOptions{NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	// The pty master is a blocking file: closing it does not end a read
	// in progress, but the last terminal-side close does.
	defer func() {
		c.Close()
		tty.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeStream: %v", err)
		}
	}()
	if w := c.Welcome(); w.Version != "3.0" {
		t.Errorf("welcome over serial: %+v", w)
	}
	if _, err := c.Set(tctx, "cfg", json.RawMessage(`{"level":7}`)); err != nil {
		t.Fatal(err)
	}
	s, err := c.Subscribe(tctx, "cfg")
	if err != nil {
		t.Fatal(err)
	}
	if u, err := s.Next(tctx); err != nil || string(u.Data) != `{"level":7}` {
		t.Errorf("event over serial: %+v, %v", u, err)
	}
	rows, err := c.Records(tctx)
	if err != nil || len(rows) != 7 {
		t.Errorf("record.list over serial: %d rows, %v", len(rows), err)
	}
}
