//go:build linux

package lite_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/aimx/lite"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/mirror"
)

type reading struct {
	Station string  `json:"station"`
	N       int     `json:"n"`
	Celsius float64 `json:"celsius"`
}

// device is a DB served by lite over the master side of a pty pair, as
// firmware serves its UART; endpoint is the terminal side for clients.
type device struct {
	db       *aimdb.DB
	temp     map[string]*aimdb.Record[reading]
	empty    *aimdb.Record[int]
	ptmx     *os.File
	tty      string // the terminal side's path
	endpoint string
}

func startDevice(t *testing.T) *device {
	t.Helper()
	d := &device{db: aimdb.New(nil), temp: map[string]*aimdb.Record[reading]{}}
	for _, id := range []string{"1", "2"} {
		r, err := aimdb.Register(d.db, aimdb.NewKey[reading]("station."+id+".temperature"), aimdb.Ring(16))
		if err != nil {
			t.Fatal(err)
		}
		r.RemoteAccess(codec.JSON[reading]{})
		d.temp[id] = r
	}
	var err error
	d.empty, err = aimdb.Register(d.db, aimdb.NewKey[int]("station.1.count"), aimdb.Latest())
	if err != nil {
		t.Fatal(err)
	}
	d.empty.RemoteAccess(codec.JSON[int]{})
	if _, err := aimdb.Register(d.db, aimdb.NewKey[int]("private"), aimdb.Latest()); err != nil {
		t.Fatal(err)
	}
	aimdbtest.Start(t, d.db)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("pty.Open: %v (the test needs /dev/ptmx)", err)
	}
	d.ptmx, d.tty, d.endpoint = ptmx, tty.Name(), "serial://"+tty.Name()+"?baud=115200"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- lite.Serve(ctx, d.db, ptmx, &lite.Options{Server: "test-device"}) }()
	// Cleanups run last-registered first: clients close before this.
	t.Cleanup(func() {
		cancel()
		tty.Close() // the master's read ends with the last terminal close
		ptmx.Close()
		<-done
	})
	return d
}

func dial(t *testing.T, d *device) *aimx.Client {
	t.Helper()
	c, err := aimx.Dial(t.Context(), d.endpoint, &aimx.ClientOptions{NoReconnect: true, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestClient drives lite with package aimx's client: hello, record.list,
// record.get, ping and the methods it does not serve.
func TestClient(t *testing.T) {
	d := startDevice(t)
	c := dial(t, d)
	if w := c.Welcome(); w.Version != "3.0" || w.Server != "test-device" || w.MaxSubscriptions != 8 || len(w.Permissions) != 1 {
		t.Errorf("welcome %+v", w)
	}
	rows, err := c.Records(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range rows {
		keys = append(keys, r.RecordKey)
		if r.RecordKey == "station.1.temperature" && (r.BufferType != "spmc_ring" || r.BufferCapacity != 16 || !r.RemoteAccess) {
			t.Errorf("row %+v", r)
		}
	}
	if want := []string{"station.1.temperature", "station.2.temperature", "station.1.count"}; len(keys) != 3 || keys[0] != want[0] || keys[1] != want[1] || keys[2] != want[2] {
		t.Errorf("record.list keys %q; want %q (the record without remote access left out)", keys, want)
	}
	if rows, err := c.RecordsMatching(ctx(t), "station.*.temperature"); err != nil || len(rows) != 2 {
		t.Errorf("record.list matching: %d rows, %v; want 2", len(rows), err)
	}
	if _, err := c.Get(ctx(t), "station.1.count"); !errors.Is(err, aimx.ErrNoValue) {
		t.Errorf("record.get before a value: %v; want no_value", err)
	}
	if err := d.empty.Produce(42); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx(t), "station.1.count"); err != nil || string(v) != "42" {
		t.Errorf("record.get = %s, %v; want 42", v, err)
	}
	for _, key := range []string{"private", "nope"} {
		if _, err := c.Get(ctx(t), key); !errors.Is(err, aimx.ErrNotFound) || errors.Is(err, aimx.ErrNoValue) {
			t.Errorf("record.get %s: %v; want not_found", key, err)
		}
	}
	if _, err := c.Set(ctx(t), "station.1.count", json.RawMessage("1")); !errors.Is(err, aimx.ErrNotFound) {
		t.Errorf("record.set: %v; want not_found (not served)", err)
	}
	if _, err := c.Ping(ctx(t)); err != nil {
		t.Errorf("ping: %v", err)
	}
}

// TestSubscribe: a key streams every value from the subscription on; a
// pattern sends a snapshot of each matched record, then events with
// their topics; unsub stops them; a key it does not serve is refused.
func TestSubscribe(t *testing.T) {
	d := startDevice(t)
	if err := d.temp["2"].Produce(reading{Station: "2", N: 0}); err != nil {
		t.Fatal(err)
	}
	c := dial(t, d)
	one, err := c.Subscribe(ctx(t), "station.1.temperature")
	if err != nil {
		t.Fatal(err)
	}
	all, err := c.Subscribe(ctx(t), "station.#")
	if err != nil {
		t.Fatal(err)
	}
	u, err := all.Next(ctx(t))
	if err != nil || !u.Snapshot || u.Topic != "station.2.temperature" {
		t.Fatalf("first update of station.#: %+v, %v; want station 2's snapshot", u, err)
	}
	time.Sleep(50 * time.Millisecond) // both subscriptions are open on the device
	for n := 1; n <= 10; n++ {
		if err := d.temp["1"].Produce(reading{Station: "1", N: n}); err != nil {
			t.Fatal(err)
		}
	}
	for n := 1; n <= 10; n++ {
		for _, st := range []*aimx.Stream{one, all} {
			u, err := st.Next(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			var r reading
			if err := json.Unmarshal(u.Data, &r); err != nil || r.N != n || u.Topic != "station.1.temperature" || u.Lost != 0 {
				t.Fatalf("update %+v (%v); want station 1's reading %d, nothing lost", u, err, n)
			}
		}
	}
	if _, err := c.Subscribe(ctx(t), "nope"); !errors.Is(err, aimx.ErrNotFound) {
		t.Errorf("sub nope: %v; want not_found", err)
	}
	if _, err := c.Ping(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

// TestMalformed: garbage on the line, broken COBS, overlong frames and
// frames that are not AimX are skipped; the device answers afterwards.
func TestMalformed(t *testing.T) {
	d := startDevice(t)
	junk := [][]byte{
		{0x05, 'a', 0}, // a block longer than the frame
		append(make([]byte, 2000, 2001), 0),
		cobsFrame(`{"t":"req","id":"x","method":"hello"}`),
		cobsFrame(`{"t":"req","id":4242,"method":"record.get","params":{"name":7}}`),
		cobsFrame(`[1,2]`),
		cobsFrame(`{"t":`),
		cobsFrame(`{"t":"sub","id":9,"topic":"station.\ud800"}`),
	}
	for j := range junk[1][:len(junk[1])-1] {
		junk[1][j] = 'x'
	}
	// The junk goes from the terminal side, in raw mode, to the device.
	port, err := aimx.OpenSerial(d.tty, 115200)
	if err != nil {
		t.Fatal(err)
	}
	for i := range junk {
		if _, err := port.Write(junk[i]); err != nil {
			t.Fatal(err)
		}
	}
	port.Close()
	c := dial(t, d)
	if _, err := c.Ping(ctx(t)); err != nil {
		t.Fatalf("after junk: %v", err)
	}
}

func cobsFrame(s string) []byte { return aimx.AppendFrame(nil, aimx.COBS, []byte(s)) }

// TestMirrorFamily: a hub's family follows the device's stations over
// serial:// with a mirror link, as the weather hub follows a
// microcontroller.
func TestMirrorFamily(t *testing.T) {
	d := startDevice(t)
	md, err := mirror.NewDialer(d.endpoint, nil)
	if err != nil {
		t.Fatal(err)
	}
	hub := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mcu": md}})
	fam, err := aimdb.RegisterFamily(hub, aimdb.NewFamily[reading]("hub.{id}.temperature"), aimdb.Latest(), aimdb.MaxInstances(4))
	if err != nil {
		t.Fatal(err)
	}
	fam.LinkFrom("mcu://station.{id}.temperature", codec.JSON[reading]{})
	aimdbtest.Start(t, hub)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if f := hub.Families(); len(f[0].Links) == 1 && f[0].Links[0].Connected {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mirror link never connected: %+v", hub.Families())
		}
	}
	for n := 1; n <= 5; n++ {
		for _, id := range []string{"1", "2"} {
			if err := d.temp[id].Produce(reading{Station: id, N: n, Celsius: 20 + float64(n)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, id := range []string{"1", "2"} {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			r, err := fam.Instance(id)
			if err != nil {
				t.Fatal(err)
			}
			if v, ok := r.Peek(); ok && v.N == 5 {
				if v.Station != id || v.Celsius != 25 {
					t.Fatalf("hub.%s.temperature = %+v", id, v)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("station %s never mirrored up to reading 5: %+v", id, hub.Families())
			}
		}
	}
	if l := hub.Families()[0].Links[0]; l.Received != 10 || l.Lost != 0 {
		t.Errorf("link %+v; want 10 received, 0 lost", l)
	}
}

// dropFirstFrame reads through r but discards everything up to and
// including the first 0x00: the first frame a device misses while it
// resets.
type dropFirstFrame struct {
	io.ReadWriter
	dropped bool
}

func (d *dropFirstFrame) Read(p []byte) (int, error) {
	for {
		n, err := d.ReadWriter.Read(p)
		if d.dropped || err != nil {
			return n, err
		}
		if i := bytes.IndexByte(p[:n], 0); i >= 0 {
			d.dropped = true
			return copy(p, p[i+1:n]), nil
		}
	}
}

// TestHelloRetried: a client on a serial line says hello again when the
// device missed the first one, and connects.
func TestHelloRetried(t *testing.T) {
	db := aimdb.New(nil)
	aimdbtest.Start(t, db)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("pty.Open: %v (the test needs /dev/ptmx)", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- lite.Serve(ctx, db, &dropFirstFrame{ReadWriter: ptmx}, nil) }()
	t.Cleanup(func() { cancel(); tty.Close(); ptmx.Close(); <-done })
	start := time.Now()
	c, err := aimx.Dial(t.Context(), "serial://"+tty.Name(), &aimx.ClientOptions{NoReconnect: true, DialTimeout: 3 * time.Second})
	if err != nil {
		t.Fatalf("the device missed the first hello and the client gave up: %v", err)
	}
	defer c.Close()
	if _, err := c.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Logf("connected after %v", time.Since(start).Round(time.Millisecond))
}
