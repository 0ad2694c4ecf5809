package aimx_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/contract"
)

func TestToken(t *testing.T) {
	f := startFixture(t, &aimx.ServerOptions{Token: "s3cret"})
	c := dialRaw(t, f.tcp)
	c.send(`{"t":"req","id":1,"method":"record.list","params":null}`)
	if got := c.recv(); got != `{"t":"reply","id":1,"err":"denied"}` {
		t.Errorf("record.list before hello: %s", got)
	}
	c.send(`{"t":"sub","id":2,"topic":"#"}`)
	if got := c.recv(); got != `{"t":"reply","id":2,"err":"denied"}` {
		t.Errorf("sub before hello: %s", got)
	}
	c.send(`{"t":"write","topic":"cfg","payload":{"value":{"level":1}}}`)
	if extra := c.sync(); len(extra) > 0 { // ping is always answered; write never
		t.Errorf("frames before pong: %q", extra)
	}
	c.send(`{"t":"req","id":3,"method":"hello","params":{"version":"3.0","auth_token":"wrong"}}`)
	if got := c.recv(); got != `{"t":"reply","id":3,"err":"denied"}` {
		t.Errorf("hello with a wrong token: %s", got)
	}
	c.send(`{"t":"req","id":4,"method":"hello","params":{"version":"3.0","auth_token":"s3cret"}}`)
	if got := c.recv(); !strings.Contains(got, `"authenticated":true`) {
		t.Errorf("hello with the token: %s", got)
	}
	c.send(`{"t":"req","id":5,"method":"record.get","params":{"name":"tick"}}`)
	if got := c.recv(); got != `{"t":"reply","id":5,"ok":1}` {
		t.Errorf("record.get after hello: %s", got)
	}

	ctx := testCtx(t)
	if _, err := aimx.Dial(ctx, f.tcp, nil); !errors.Is(err, aimx.ErrDenied) || !strings.Contains(err.Error(), f.tcp) {
		t.Errorf("Dial without the token: %v, want denied naming the endpoint", err)
	}
	cl := dial(t, f.uds, &aimx.ClientOptions{Token: "s3cret"})
	if !cl.Welcome().Authenticated {
		t.Error("welcome not authenticated")
	}
	if _, err := cl.Records(ctx); err != nil {
		t.Error(err)
	}
}

func TestLimits(t *testing.T) {
	f := startFixture(t, &aimx.ServerOptions{MaxConnections: 2, MaxSubscriptions: 2, MaxFrame: 1024})

	t.Run("subscriptions", func(t *testing.T) {
		c := dialRaw(t, f.tcp)
		c.send(`{"t":"sub","id":1,"topic":"cfg"}`)
		c.send(`{"t":"sub","id":2,"topic":"tick"}`)
		if got := c.recv(); got != `{"t":"event","seq":1,"sub":"2","data":1}` {
			t.Errorf("tick's current value: %s", got)
		}
		c.send(`{"t":"sub","id":3,"topic":"sensors.temp"}`)
		if got := c.recv(); got != `{"t":"reply","id":3,"err":"denied"}` {
			t.Errorf("third sub: %s", got)
		}
		c.send(`{"t":"unsub","sub":"1"}`)
		c.sync()
		c.send(`{"t":"sub","id":4,"topic":"sensors.temp"}`)
		if extra := c.sync(); len(extra) > 0 {
			t.Errorf("sub after unsub refused: %q", extra)
		}
	})

	t.Run("connections", func(t *testing.T) {
		// The previous subtest's connection frees its slot once the
		// server noticed the close.
		a := servedConn(t, f.tcp)
		servedConn(t, f.uds)
		over := dialRaw(t, f.tcp)
		over.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		over.send(`{"t":"ping"}`)
		if b, err := over.r.ReadFrame(); err == nil {
			t.Errorf("third connection answered %s; want it closed", b)
		}
		a.conn.Close()
		servedConn(t, f.tcp)
	})
}

// servedConn dials until the server answers a ping, for at most 5 s.
func servedConn(t *testing.T, endpoint string) *raw {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := dialRaw(t, endpoint)
		c.conn.SetReadDeadline(time.Now().Add(time.Second))
		c.send(`{"t":"ping"}`)
		if b, err := c.r.ReadFrame(); err == nil && string(b) == `{"t":"pong"}` {
			return c
		}
		c.conn.Close()
		if time.Now().After(deadline) {
			t.Fatalf("%s: no connection served within 5 s", endpoint)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMalformedInput throws garbage at the server over every framing,
// then checks that a fresh connection is served and nothing changed.
func TestMalformedInput(t *testing.T) {
	f := startFixture(t, &aimx.ServerOptions{MaxFrame: 4096, Policy: aimx.ReadWrite("cfg")})
	ctx := testCtx(t)
	cl := dial(t, f.tcp, nil)
	if _, err := cl.Set(ctx, "cfg", json.RawMessage(`{"level":1}`)); err != nil {
		t.Fatal(err)
	}
	garbage := []string{
		``, `{`, `}`, `null`, `[]`, `"t"`, `{"t":1}`, `{"t":"req"}`, `{"t":"req","id":-1,"method":"x"}`,
		`{"t":"req","id":1.5,"method":"x"}`, `{"t":"req","id":18446744073709551616,"method":"x"}`,
		`{"t":"sub","id":1}`, `{"t":"write","topic":"cfg"}`, `{"t":"write","payload":1}`,
		`{"t":"write","topic":"cfg","payload":{"value":"not a level"}}`,
		`{"t":"write","topic":"cfg","payload":{"value":{"level":"x"}}}`,
		`{"t":"event","seq":1,"sub":"1","data":1}`, `{"t":"pong"}`, "\xff\xfe\x00\x01",
	}
	// Lines: each garbage line, then an oversize line that closes only
	// that connection.
	u := dialRaw(t, f.uds)
	for _, g := range garbage {
		u.send(strings.ReplaceAll(g, "\n", ""))
	}
	u.send(`{"t":"req","id":9,"method":"record.set","params":[1,2]}`)
	if got := u.recv(); got != `{"t":"reply","id":9,"err":"internal"}` {
		t.Errorf("record.set with array params: %s", got)
	}
	u.send(strings.Repeat("x", 5000))
	if _, err := u.r.ReadFrame(); err == nil {
		t.Error("oversize line did not close the connection")
	}

	// Length prefix: garbage frames, then a declared length over the cap.
	c := dialRaw(t, f.tcp)
	for _, g := range garbage {
		c.send(g)
	}
	c.sync()
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], 0xffffffff)
	c.conn.Write(hdr[:])
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.r.ReadFrame(); err == nil {
		t.Error("a 4 GiB length prefix did not close the connection")
	}

	// The server still serves, and the record kept its value.
	fresh := dial(t, f.uds, nil)
	v, err := fresh.Get(ctx, "cfg")
	if err != nil || string(v) != `{"level":1}` {
		t.Errorf("after the garbage, cfg = %s, %v", v, err)
	}
}

func TestUnixSocketFile(t *testing.T) {
	dir := t.TempDir()

	path := filepath.Join(dir, "a.sock")
	ln, _, err := aimx.Listen("unix://" + path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if _, _, err := aimx.Listen(path); err == nil || !strings.Contains(err.Error(), "another server") {
		t.Errorf("listen on a live socket: %v", err)
	}
	ln.Close()

	// A stale socket (its listener died without removing it) is replaced.
	stale := filepath.Join(dir, "stale.sock")
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ul.SetUnlinkOnClose(false)
	ul.Close()
	ln, _, err = aimx.Listen(stale)
	if err != nil {
		t.Errorf("listen over a stale socket: %v", err)
	} else {
		ln.Close()
	}

	// Any other kind of file is left alone.
	regular := filepath.Join(dir, "data.txt")
	if err := os.WriteFile(regular, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := aimx.Listen("unix://" + regular); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("listen over a regular file: %v", err)
	}
	if b, err := os.ReadFile(regular); err != nil || string(b) != "keep me" {
		t.Errorf("the regular file was touched: %q, %v", b, err)
	}
}

// TestSlowClient subscribes and does not read while a producer floods the
// record: producing never blocks, and every lost value shows up in the
// accounting (Lost plus received equals the last seq).
func TestSlowClient(t *testing.T) {
	f := startFixture(t, &aimx.ServerOptions{EventQueue: 8})
	ctx := testCtx(t)
	c := dial(t, f.tcp, nil)
	s, err := c.Subscribe(ctx, "sensors.temp")
	if err != nil {
		t.Fatal(err)
	}
	const n = 20000
	start := time.Now()
	for i := 1; i <= n; i++ {
		if err := f.temp.Produce(Temp{float64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d produces in %v with a subscriber that does not read", n, time.Since(start))
	var received, lost, last uint64
	take := func(u aimx.Update) {
		received++
		lost += u.Lost
		if u.Seq <= last {
			t.Fatalf("seq went from %d to %d", last, u.Seq)
		}
		last = u.Seq
	}
	// Read what got through until the stream is idle, then produce a
	// marker that finds room everywhere.
	for {
		idle, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		u, err := s.Next(idle)
		cancel()
		if err != nil {
			break
		}
		take(u)
	}
	if err := f.temp.Produce(Temp{n + 1}); err != nil {
		t.Fatal(err)
	}
	for {
		u, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		take(u)
		if string(u.Data) == fmt.Sprintf(`{"celsius":%d}`, n+1) {
			break
		}
	}
	if received+lost != last {
		t.Errorf("received %d + lost %d != last seq %d", received, lost, last)
	}
	if lost == 0 || last != n+1 {
		t.Errorf("lost %d, last seq %d; want losses and seq %d", lost, last, n+1)
	}
	t.Logf("received %d, lost %d", received, lost)
}

// TestReconnect restarts the server under a connected client: calls and
// the subscription work again afterwards.
func TestReconnect(t *testing.T) {
	db := aimdb.New(nil)
	rec, err := aimdb.Register(db, keyHumidity, aimdb.Latest())
	if err != nil {
		t.Fatal(err)
	}
	rec.RemoteAccess(codec.JSON[float64]{})
	srv := aimx.NewServer(db, nil)
	sock := filepath.Join(t.TempDir(), "r.sock")
	serve := func() (stop func()) {
		ln, fr, err := aimx.Listen(sock)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- srv.Serve(ctx, ln, fr) }()
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
	stop := serve()
	ctx := testCtx(t)
	c := dial(t, sock, &aimx.ClientOptions{ReconnectDelay: 10 * time.Millisecond, MaxReconnectDelay: 50 * time.Millisecond})
	s, err := c.Subscribe(ctx, "sensors.humidity")
	if err != nil {
		t.Fatal(err)
	}
	rec.Produce(1)
	if u, err := s.Next(ctx); err != nil || string(u.Data) != "1" {
		t.Fatalf("before the restart: %+v, %v", u, err)
	}
	stop()
	stop = serve()
	defer func() { stop() }()
	rec.Produce(2)
	// After the re-subscribe the Latest record delivers its current value.
	if u, err := s.Next(ctx); err != nil || string(u.Data) != "2" {
		t.Fatalf("after the restart: %+v, %v", u, err)
	}
	if v, err := c.Get(ctx, "sensors.humidity"); err != nil || string(v) != "2" {
		t.Errorf("get after the restart: %s, %v", v, err)
	}
	rec.Produce(3)
	if u, err := s.Next(ctx); err != nil || string(u.Data) != "3" {
		t.Fatalf("live after the restart: %+v, %v", u, err)
	}
	c.Close()
	if _, err := s.Next(ctx); !errors.Is(err, aimx.ErrClientClosed) {
		t.Errorf("Next after the client closed: %v", err)
	}

	// Without reconnection, a lost connection ends streams and calls
	// with ErrDisconnected.
	nc := dial(t, sock, &aimx.ClientOptions{NoReconnect: true})
	ns, err := nc.Subscribe(ctx, "sensors.humidity")
	if err != nil {
		t.Fatal(err)
	}
	if u, err := ns.Next(ctx); err != nil || string(u.Data) != "3" {
		t.Fatalf("no-reconnect client: %+v, %v", u, err)
	}
	stop()
	if _, err := ns.Next(ctx); !errors.Is(err, aimx.ErrDisconnected) {
		t.Errorf("Next after the server went: %v, want ErrDisconnected", err)
	}
	if _, err := nc.Get(ctx, "sensors.humidity"); !errors.Is(err, aimx.ErrDisconnected) {
		t.Errorf("Get after the server went: %v, want ErrDisconnected", err)
	}
	stop = func() {}
}

// TestHubListFitsAFrame lists a weather hub's records over TCP: the reply
// must fit AimDB's 64 KiB frame limit, which Rust clients enforce. Rows
// are compacted to the fields AimDB's clients require, always with the
// entity; with 52 stations they keep the schema_type too, with 64 there
// is no room for it.
func TestHubListFitsAFrame(t *testing.T) {
	for _, tc := range []struct {
		stations int
		schema   bool
	}{{52, true}, {64, false}} {
		t.Run(fmt.Sprint(tc.stations), func(t *testing.T) { testHubList(t, tc.stations, tc.schema) })
	}
}

func testHubList(t *testing.T, stations int, schema bool) {
	db := aimdb.New(nil)
	for n := range stations {
		tk := aimdb.NewKey[reading](fmt.Sprintf("station.%d.temperature", n))
		hk := aimdb.NewKey[reading](fmt.Sprintf("station.%d.humidity", n))
		dk := aimdb.NewKey[reading](fmt.Sprintf("station.%d.dew_point", n))
		for _, k := range []aimdb.Key[reading]{tk, hk} {
			r, _ := aimdb.Register(db, k, aimdb.Ring(100))
			r.LinkFrom(fmt.Sprintf("mqtt://station/%d/%s", n, k.Name()[strings.LastIndex(k.Name(), ".")+1:]), codec.JSON[reading]{})
			r.RemoteAccess(codec.JSON[reading]{})
		}
		d, _ := aimdb.Register(db, dk, aimdb.Ring(100))
		aimdb.Join2(d, tk, hk, func(a, b reading) (reading, bool) { return a, true })
		d.RemoteAccess(codec.JSON[reading]{})
	}
	srv := aimx.NewServer(db, nil)
	ln, fr, err := aimx.Listen("tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, ln, fr) }()
	defer func() { cancel(); <-done }()

	c := dialRaw(t, "tcp://"+ln.Addr().String())
	c.send(`{"t":"req","id":1,"method":"record.list","params":null}`)
	var hdr [4]byte
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c.conn, hdr[:]); err != nil {
		t.Fatal(err)
	}
	size := binary.BigEndian.Uint32(hdr[:])
	t.Logf("record.list of %d records: %d bytes", 3*stations, size)
	if size > aimx.DefaultMaxFrame {
		t.Errorf("record.list reply is %d bytes, over the 64 KiB frame limit", size)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(c.conn, body); err != nil {
		t.Fatal(err)
	}
	var reply struct {
		OK []map[string]any `json:"ok"`
	}
	if err := json.Unmarshal(body, &reply); err != nil || len(reply.OK) != 3*stations {
		t.Fatalf("record.list rows: %d, %v: %.200s", len(reply.OK), err, body)
	}
	// Every field AimDB's clients require is there, the entity always.
	for _, row := range reply.OK {
		for _, field := range []string{"record_id", "record_key", "name", "type_id", "origin", "buffer_type",
			"producer_count", "consumer_count", "writable", "outbound_connector_count", "entity"} {
			if _, ok := row[field]; !ok {
				t.Fatalf("compact row lacks %q: %v", field, row)
			}
		}
		if _, ok := row["produced_count"]; ok {
			t.Fatalf("row %v has counters; want a compact row", row)
		}
		key := row["record_key"].(string)
		if want := key[strings.LastIndex(key, ".")+1:]; row["entity"] != want {
			t.Errorf("compact row of %s: entity %v; want %s", key, row["entity"], want)
		}
		if got, ok := row["schema_type"]; ok != schema || (schema && got != "reading") {
			t.Errorf("compact row of %s: schema_type %v (present %v); want reading present %v", key, got, ok, schema)
		}
	}

	// Our client asks for detail and reads the big reply, with the
	// contract's name and version.
	cl := dial(t, "tcp://"+ln.Addr().String(), nil)
	rows, err := cl.Records(testCtx(t))
	if err != nil || len(rows) != 3*stations || len(rows[0].Links) != 1 {
		t.Fatalf("detailed record.list: %d rows, %v", len(rows), err)
	}
	if r := rows[len(rows)-1]; r.SchemaType != "reading" || r.SchemaVersion != 3 || r.Entity != "dew_point" {
		t.Errorf("detailed row: schema %q v%d, entity %q; want reading v3, dew_point", r.SchemaType, r.SchemaVersion, r.Entity)
	}
}

// reading is a contract type of the list tests.
type reading struct {
	Celsius   float64 `json:"celsius"`
	Timestamp uint64  `json:"timestamp"`
}

func (reading) Schema() contract.Schema { return contract.Schema{Name: "reading", Version: 3} }

// TestSnapshotThenEvents subscribes with a wildcard again and again while
// a ring is being written: the snapshot and the events after it never
// repeat a value and never skip one without counting it as lost.
func TestSnapshotThenEvents(t *testing.T) {
	f := startFixture(t, nil)
	ctx := testCtx(t)
	c := dial(t, f.tcp, nil)
	stop := make(chan struct{})
	produced := make(chan struct{})
	f.temp.Produce(Temp{1}) // every subscription has a snapshot
	go func() {
		defer close(produced)
		for i := 2; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			f.temp.Produce(Temp{float64(i)})
			time.Sleep(50 * time.Microsecond)
		}
	}()
	defer func() { close(stop); <-produced }()
	for range 20 {
		s, err := c.Subscribe(ctx, "sensors.*") // sensors.humidity has no value here
		if err != nil {
			t.Fatal(err)
		}
		var prev float64
		for n := range 30 {
			u, err := s.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var v Temp
			if err := json.Unmarshal(u.Data, &v); err != nil {
				t.Fatal(err)
			}
			if n == 0 && !u.Snapshot {
				t.Fatalf("first update is not a snapshot: %+v", u)
			}
			if n > 0 && v.Celsius != prev+1+float64(u.Lost) {
				t.Fatalf("after %v came %v with %d lost (snapshot %v)", prev, v.Celsius, u.Lost, n == 1)
			}
			prev = v.Celsius
		}
		s.Close()
	}
}
