package aimx_test

import (
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/aimx"
)

// TestServerStats drives every counter of ServerStats over real TCP
// connections and checks each one moved by what was done.
func TestServerStats(t *testing.T) {
	f := startFixture(t, &aimx.ServerOptions{Token: "s3cret", MaxConnections: 2, MaxFrame: 1024, EventQueue: 1})
	if got := f.srv.Stats(); got != (aimx.ServerStats{}) {
		t.Errorf("stats before any connection: %+v, want zero", got)
	}

	c := servedConn(t, f.tcp)
	c.send(`{"t":"req","id":1,"method":"hello","params":{"version":"3.0","auth_token":"wrong"}}`)
	c.recv()
	c.send(`{"t":"req","id":2,"method":"hello","params":{"version":"3.0","auth_token":"s3cret"}}`)
	c.recv()
	c.send(`not json`)
	c.send(`{"t":"req","id":3,"method":"no.such.method","params":null}`)
	c.recv()
	c.send(`{"t":"sub","id":4,"topic":"tick"}`)
	c.recv() // tick's current value: one event
	c.sync()
	got := f.srv.Stats()
	want := aimx.ServerStats{
		Accepted: 1, Open: 1, Requests: 3, ErrorReplies: 2, Subscriptions: 1,
		Events: 1, Malformed: 1, AuthFailures: 1,
	}
	if got != want {
		t.Errorf("after one session:\n got %+v\nwant %+v", got, want)
	}

	// A second connection fills the cap when it authenticates; a third
	// is served until it authenticates, then refused.
	hello := `{"t":"req","id":1,"method":"hello","params":{"version":"3.0","auth_token":"s3cret"}}`
	second := servedConn(t, f.uds)
	second.send(hello)
	second.recv()
	over := servedConn(t, f.tcp)
	if s := f.srv.Stats(); s.Open != 3 || s.Unauthenticated != 1 {
		t.Errorf("with a third connection before hello: Open %d, Unauthenticated %d; want 3 and 1", s.Open, s.Unauthenticated)
	}
	over.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	over.send(hello)
	if b, err := over.r.ReadFrame(); err == nil {
		t.Errorf("third connection answered hello with %s; want it closed", b)
	}
	// An oversize frame closes the first connection, and its
	// subscription ends with it.
	c.send(string(make([]byte, 2048)))
	if _, err := c.r.ReadFrame(); err == nil {
		t.Error("oversize frame did not close the connection")
	}
	waitStats(t, f.srv, func(s aimx.ServerStats) bool { return s.Open == 1 && s.Subscriptions == 0 })
	got = f.srv.Stats()
	if got.Accepted != 3 || got.Refused != 1 || got.Oversize != 1 || got.Unauthenticated != 0 {
		t.Errorf("after the cap and an oversize frame: %+v, want Accepted 3, Refused 1, Oversize 1, Unauthenticated 0", got)
	}
}

// TestServerStatsDropped checks that events a slow client's full queue
// drops are counted.
func TestServerStatsDropped(t *testing.T) {
	f := startFixture(t, &aimx.ServerOptions{EventQueue: 1})
	c := servedConn(t, f.tcp)
	c.send(`{"t":"sub","id":1,"topic":"sensors.temp"}`)
	c.sync()
	// The client reads nothing; the writer blocks on the socket once its
	// buffers fill, and the queue of one then drops.
	big := Temp{}
	for i := 0; f.srv.Stats().EventsDropped == 0; i++ {
		if i == 1_000_000 {
			t.Fatal("no event dropped after a million values to a client that reads nothing")
		}
		big.Celsius = float64(i)
		if err := f.temp.Produce(big); err != nil {
			t.Fatal(err)
		}
		if i%1000 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	if s := f.srv.Stats(); s.Events == 0 {
		t.Errorf("stats: %+v, want some events queued", s)
	}
}

func waitStats(t *testing.T, srv *aimx.Server, ok func(aimx.ServerStats) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok(srv.Stats()) {
		if time.Now().After(deadline) {
			t.Fatalf("stats: %+v, not reached within 5 s", srv.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
