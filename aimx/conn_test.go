package aimx_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/aimx"
)

// TestIdleSockets opens 64 sockets that never send a frame, over TCP and
// a Unix socket, then checks that a client still connects over each and
// lists the records, with and without a token.
func TestIdleSockets(t *testing.T) {
	for _, token := range []string{"", "s3cret"} {
		t.Run("token="+token, func(t *testing.T) {
			f := startFixture(t, &aimx.ServerOptions{Token: token})
			for range 32 {
				dialRaw(t, f.tcp)
				dialRaw(t, f.uds)
			}
			waitStats(t, f.srv, func(s aimx.ServerStats) bool { return s.Accepted+s.Refused >= 64 })
			ctx := testCtx(t)
			for _, ep := range []string{f.tcp, f.uds} {
				c := dial(t, ep, &aimx.ClientOptions{Token: token})
				if rows, err := c.Records(ctx); err != nil || len(rows) == 0 {
					t.Errorf("%s: record.list after 64 idle sockets: %d rows, %v", ep, len(rows), err)
				}
			}
			s := f.srv.Stats()
			if s.Unauthenticated > aimx.DefaultMaxUnauthenticated || s.Open-s.Unauthenticated != 2 {
				t.Errorf("stats %+v: want at most %d unauthenticated and 2 authenticated", s, aimx.DefaultMaxUnauthenticated)
			}
		})
	}
}

// TestHelloTimeout checks that a network connection that does not
// authenticate within HelloTimeout is closed and counted, and that one
// that did stays open.
func TestHelloTimeout(t *testing.T) {
	const timeout = time.Second
	closed := func(t *testing.T, c *raw, what string) {
		t.Helper()
		c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			b, err := c.r.ReadFrame()
			if err == nil {
				if string(b) == `{"t":"pong"}` {
					continue
				}
				t.Fatalf("%s: got %s; want the connection closed", what, b)
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("%s: still open after 10 s, HelloTimeout %v", what, timeout)
			}
			return
		}
	}

	t.Run("token", func(t *testing.T) {
		f := startFixture(t, &aimx.ServerOptions{Token: "s3cret", HelloTimeout: timeout})
		authed := dialRaw(t, f.tcp)
		authed.send(`{"t":"req","id":1,"method":"hello","params":{"version":"3.0","auth_token":"s3cret"}}`)
		authed.recv()
		idle := dialRaw(t, f.tcp)
		pinging := dialRaw(t, f.uds)
		pinging.sync() // answered, but a ping does not authenticate
		closed(t, idle, "idle socket")
		closed(t, pinging, "socket that pinged")
		waitStats(t, f.srv, func(s aimx.ServerStats) bool { return s.HelloTimeouts == 2 && s.Unauthenticated == 0 })
		authed.send(`{"t":"req","id":2,"method":"record.get","params":{"name":"tick"}}`)
		if got := authed.recv(); got != `{"t":"reply","id":2,"ok":1}` {
			t.Errorf("authenticated connection after the others timed out: %s", got)
		}
	})

	t.Run("no token", func(t *testing.T) {
		f := startFixture(t, &aimx.ServerOptions{HelloTimeout: timeout})
		talking := dialRaw(t, f.tcp)
		talking.sync() // a valid frame authenticates
		idle := dialRaw(t, f.uds)
		garbage := dialRaw(t, f.tcp)
		garbage.send(`not a frame`)
		closed(t, idle, "idle socket")
		closed(t, garbage, "socket that sent garbage")
		waitStats(t, f.srv, func(s aimx.ServerStats) bool { return s.HelloTimeouts == 2 })
		if extra := talking.sync(); len(extra) > 0 {
			t.Errorf("frames before pong: %q", extra)
		}
		if s := f.srv.Stats(); s.Open != 1 || s.Malformed != 1 {
			t.Errorf("stats %+v: want 1 open, 1 malformed", s)
		}
	})
}

// TestHelloFailures checks the defences against guessing the token: a
// wrong hello is answered late, the third closes the connection, and a
// wrong hello after a good one leaves the session unauthenticated.
func TestHelloFailures(t *testing.T) {
	f := startFixture(t, &aimx.ServerOptions{Token: "s3cret"})
	good := `{"t":"req","id":1,"method":"hello","params":{"version":"3.0","auth_token":"s3cret"}}`
	wrong := `{"t":"req","id":2,"method":"hello","params":{"version":"3.0","auth_token":"guess"}}`
	get := `{"t":"req","id":3,"method":"record.get","params":{"name":"tick"}}`

	t.Run("three close", func(t *testing.T) {
		c := dialRaw(t, f.tcp)
		for i := range 2 {
			start := time.Now()
			c.send(wrong)
			if got := c.recv(); got != `{"t":"reply","id":2,"err":"denied"}` {
				t.Fatalf("wrong hello %d: %s", i+1, got)
			}
			if took := time.Since(start); took < 100*time.Millisecond {
				t.Errorf("wrong hello %d answered after %v; want at least 100 ms", i+1, took)
			} else {
				t.Logf("wrong hello %d answered after %v", i+1, took)
			}
		}
		c.send(wrong)
		c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			b, err := c.r.ReadFrame()
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatal("the connection is open 10 s after the third wrong hello")
				}
				break
			}
			if string(b) != `{"t":"reply","id":2,"err":"denied"}` {
				t.Fatalf("after the third wrong hello: %s", b)
			}
		}
		waitStats(t, f.srv, func(s aimx.ServerStats) bool { return s.AuthClosed == 1 && s.AuthFailures == 3 })
	})

	t.Run("good then wrong", func(t *testing.T) {
		c := dialRaw(t, f.uds)
		c.send(good)
		c.recv()
		c.send(get)
		if got := c.recv(); got != `{"t":"reply","id":3,"ok":1}` {
			t.Fatalf("record.get after a good hello: %s", got)
		}
		c.send(wrong)
		if got := c.recv(); got != `{"t":"reply","id":2,"err":"denied"}` {
			t.Fatalf("wrong hello after a good one: %s", got)
		}
		c.send(get)
		if got := c.recv(); got != `{"t":"reply","id":3,"err":"denied"}` {
			t.Errorf("record.get after a wrong hello that followed a good one: %s; want denied", got)
		}
		c.send(good)
		c.recv()
		c.send(get)
		if got := c.recv(); got != `{"t":"reply","id":3,"ok":1}` {
			t.Errorf("record.get after a good hello again: %s", got)
		}
	})

	t.Run("others not held up", func(t *testing.T) {
		const wait = 3 * time.Second
		defer aimx.SetFailWait(wait, wait)()
		guesser := dialRaw(t, f.tcp)
		guesser.send(wrong)
		start := time.Now()
		c := dialRaw(t, f.tcp)
		c.send(good)
		c.recv()
		c.send(get)
		c.recv()
		took := time.Since(start)
		if got := guesser.recv(); got != `{"t":"reply","id":2,"err":"denied"}` {
			t.Errorf("the wrong hello: %s", got)
		}
		paused := time.Since(start)
		t.Logf("another client's hello and record.get took %v while a wrong hello waited %v", took, paused)
		if took >= paused {
			t.Errorf("another client's hello and record.get took %v, the wrong hello's answer %v: want the other client served first", took, paused)
		}
	})
}

// TestRefusalLogs refuses 50 connections and checks that the log holds
// one line about it, naming the remote address, then a line with the
// count held back once the interval passed.
func TestRefusalLogs(t *testing.T) {
	defer aimx.SetLogEvery(time.Hour)()
	var out syncBuffer
	log := slog.New(slog.NewTextHandler(&out, nil))
	f := startFixture(t, &aimx.ServerOptions{MaxConnections: 1, Logger: log})
	servedConn(t, f.tcp)
	refuse := func() {
		t.Helper()
		c := dialRaw(t, f.tcp)
		c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		c.send(`{"t":"ping"}`)
		if b, err := c.r.ReadFrame(); err == nil {
			t.Fatalf("connection over the cap answered %s", b)
		}
		c.conn.Close()
	}
	for range 50 {
		refuse()
	}
	waitStats(t, f.srv, func(s aimx.ServerStats) bool { return s.Refused == 50 })
	lines := out.lines("too many connections")
	if len(lines) != 1 {
		t.Fatalf("%d log lines about 50 refused connections; want 1:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if l := lines[0]; !strings.Contains(l, "level=WARN") || !strings.Contains(l, "remote=127.0.0.1:") ||
		!strings.Contains(l, "suppressed=0") || strings.Count(l, "component=aimx") != 1 {
		t.Errorf("log line %q: want a WARN with the remote address, suppressed=0 and component=aimx once", l)
	}

	aimx.SetLogEvery(0)
	refuse()
	waitStats(t, f.srv, func(s aimx.ServerStats) bool { return s.Refused == 51 })
	lines = out.lines("too many connections")
	if len(lines) != 2 || !strings.Contains(lines[1], "suppressed=49") {
		t.Errorf("log lines after the interval:\n%s\nwant a second line with suppressed=49", strings.Join(lines, "\n"))
	}
}

// syncBuffer is a log output that tests read while servers write.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the lines that contain s.
func (b *syncBuffer) lines(s string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var got []string
	for l := range strings.Lines(b.buf.String()) {
		if strings.Contains(l, s) {
			got = append(got, strings.TrimSuffix(l, "\n"))
		}
	}
	return got
}
