package aimx_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx"
)

// TestMailboxReadersDoNotTake checks over TCP that record.get and
// subscriptions observe a Mailbox's command without taking it, and that
// record.drain, which would take it, is denied under a read-only policy:
// the in-process consumer still receives the command.
func TestMailboxReadersDoNotTake(t *testing.T) {
	f := startFixture(t, nil) // read-only
	c := dial(t, f.tcp, nil)
	ctx := testCtx(t)
	local, err := f.cmd.Subscribe() // the actuator
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	exact, err := c.Subscribe(ctx, "cmd.box")
	if err != nil {
		t.Fatal(err)
	}
	defer exact.Close()

	if err := f.cmd.Produce("open"); err != nil {
		t.Fatal(err)
	}
	if u, err := exact.Next(ctx); err != nil || string(u.Data) != `"open"` {
		t.Errorf("sub cmd.box: %+v, %v; want the command", u, err)
	}
	wild, err := c.Subscribe(ctx, "cmd.*")
	if err != nil {
		t.Fatal(err)
	}
	defer wild.Close()
	if u, err := wild.Next(ctx); err != nil || !u.Snapshot || string(u.Data) != `"open"` {
		t.Errorf("sub cmd.*: %+v, %v; want the command as a snapshot", u, err)
	}
	for range 2 { // get observes: a second get sees the same command
		if v, err := c.Get(ctx, "cmd.box"); err != nil || string(v) != `"open"` {
			t.Errorf("get cmd.box = %s, %v; want the pending command", v, err)
		}
	}
	_, err = c.Drain(ctx, "cmd.box", 0)
	var ae *aimx.Error
	if !errors.Is(err, aimx.ErrDenied) || !errors.As(err, &ae) || !strings.Contains(ae.Message, "write policy") {
		t.Errorf("drain of a mailbox under a read-only policy: %v; want denied, naming the write policy", err)
	}

	if v, err := local.TryRecv(); err != nil || v != "open" {
		t.Fatalf("the in-process consumer got %q, %v; want the command", v, err)
	}
	// Taken by its consumer: nothing is pending any more.
	if v, err := c.Get(ctx, "cmd.box"); !errors.Is(err, aimx.ErrNoValue) {
		t.Errorf("get cmd.box after the consumer took the command = %s, %v; want no_value", v, err)
	}
}

// TestMailboxDrainUnderWritePolicy checks over TCP that record.drain
// takes a Mailbox's command when the write policy names the record, and
// that only the named records may be drained.
func TestMailboxDrainUnderWritePolicy(t *testing.T) {
	f := startFixture(t, &aimx.ServerOptions{Policy: aimx.ReadWrite("cmd.box")})
	c := dial(t, f.tcp, nil)
	ctx := testCtx(t)
	local, err := f.cmd.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()

	if err := f.cmd.Produce("close"); err != nil {
		t.Fatal(err)
	}
	d, err := c.Drain(ctx, "cmd.box", 0)
	if err != nil || d.Count != 1 || string(d.Values[0]) != `"close"` {
		t.Fatalf("drain cmd.box = %+v, %v; want the command", d, err)
	}
	if v, err := local.TryRecv(); !errors.Is(err, aimdb.ErrEmpty) {
		t.Errorf("the in-process consumer got %q, %v after the drain took the command; want ErrEmpty", v, err)
	}
	if d, err := c.Drain(ctx, "cmd.box", 0); err != nil || d.Count != 0 {
		t.Errorf("second drain = %+v, %v; want nothing", d, err)
	}
	// A ring or latest record needs no write policy: its drain takes
	// nothing from anyone.
	if err := f.humidity.Produce(61); err != nil {
		t.Fatal(err)
	}
	if d, err := c.Drain(ctx, "sensors.humidity", 0); err != nil || d.Count != 1 || string(d.Values[0]) != `61` {
		t.Errorf("drain sensors.humidity = %+v, %v", d, err)
	}
	if d, err := c.Drain(ctx, "sensors.temp", 0); err != nil || d.Count != 0 {
		t.Errorf("drain sensors.temp = %+v, %v", d, err)
	}
}
