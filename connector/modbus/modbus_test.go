package modbus_test

import (
	"context"

	"math"
	"net"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/modbus"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 10 * time.Second

func newDB(d connector.Dialer) *aimdb.DB {
	return aimdb.New(&aimdb.Options{
		Connectors:          map[string]connector.Dialer{"modbus": d},
		ReconnectBackoff:    20 * time.Millisecond,
		MaxReconnectBackoff: 200 * time.Millisecond,
	})
}

func run(t *testing.T, db *aimdb.DB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- db.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Error(err)
		}
	})
	<-db.Started()
}

func dialer(t testing.TB, url string) *modbus.Dialer {
	d, err := modbus.NewDialer(url, &modbus.Options{Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func first[T any](t *testing.T, sub *aimdb.Subscription[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	v, err := sub.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestReadTypes polls one value of every type and order from the
// library's server.
func TestReadTypes(t *testing.T) {
	s := startTCP(t)
	b := s.bank
	b.setHolding(0, 0xfff6)                          // int16 -10
	b.setHolding(1, 0xfff6)                          // uint16 65526
	b.setHolding(2, 0xffff, 0xfffe)                  // int32 -2 (ABCD)
	b.setHolding(4, 0x0001, 0x0000)                  // uint32 1 in CDAB: low word first
	b.setHolding(6, 0x41ac, 0x0000)                  // float32 21.5 ABCD
	b.setHolding(8, 0xac41, 0x0000)                  // float32 21.5 BADC
	b.setHolding(10, 0x0000, 0x0000, 0x0000, 0xf83f) // float64 1.5 DCBA: bytes 00 00 00 00 00 00 f8 3f
	b.setHolding(14, 215)                            // int16 215, scale 0.1, offset -1: 20.5
	b.mu.Lock()
	b.input[3] = 1234
	b.coils[5] = true
	b.discrete[7] = true
	b.mu.Unlock()

	tests := []struct {
		url  string
		want float64
	}{
		{"modbus://1/holding/40001?type=int16", -10},
		{"modbus://1/holding/40002", 65526},
		{"modbus://1/holding/40003?type=int32", -2},
		{"modbus://1/holding/40005?type=uint32&order=CDAB", 1},
		{"modbus://1/holding/@6?type=float32&order=ABCD", 21.5},
		{"modbus://1/holding/400009?type=float32&order=BADC", 21.5},
		{"modbus://1/holding/40011?type=float64&order=DCBA", 1.5},
		{"modbus://1/holding/40015?type=int16&scale=0.1&offset=-1", 20.5},
		{"modbus://" + s.addr + "/1/input/30004", 1234},
	}
	db := newDB(dialer(t, "tcp://"+s.addr))
	var subs []*aimdb.Subscription[float64]
	for i, tt := range tests {
		r, err := aimdb.Register(db, aimdb.NewKey[float64]("r"+string(rune('a'+i))), aimdb.Latest())
		if err != nil {
			t.Fatal(err)
		}
		r.LinkFrom(tt.url, codec.JSON[float64]{})
		sub, _ := r.Subscribe()
		defer sub.Close()
		subs = append(subs, sub)
	}
	coil, _ := aimdb.Register(db, aimdb.NewKey[bool]("coil"), aimdb.Latest())
	coil.LinkFrom("modbus://1/coil/00006?poll=50ms", codec.JSON[bool]{})
	di, _ := aimdb.Register(db, aimdb.NewKey[bool]("di"), aimdb.Latest())
	di.LinkFrom("modbus://1/discrete/10008", codec.JSON[bool]{})
	coilSub, _ := coil.Subscribe()
	defer coilSub.Close()
	diSub, _ := di.Subscribe()
	defer diSub.Close()
	run(t, db)
	for i, tt := range tests {
		if got := first(t, subs[i]); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%s = %v; want %v", tt.url, got, tt.want)
		}
	}
	if !first(t, coilSub) || !first(t, diSub) {
		t.Error("coil 00006 or discrete input 10008 read false; want true")
	}
	// The coil is polled every 50ms: a change arrives.
	b.mu.Lock()
	b.coils[5] = false
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		v, err := coilSub.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !v {
			break
		}
	}
}

// TestWrite writes holding registers and coils and reads them back.
func TestWrite(t *testing.T) {
	s := startTCP(t)
	db := newDB(dialer(t, "tcp://"+s.addr))
	f32, _ := aimdb.Register(db, aimdb.NewKey[float64]("f32"), aimdb.Ring(4))
	f32.LinkTo("modbus://1/holding/40001?type=float32&order=CDAB", codec.JSON[float64]{})
	i16, _ := aimdb.Register(db, aimdb.NewKey[float64]("i16"), aimdb.Ring(4))
	i16.LinkTo("modbus://1/holding/40003?type=int16&scale=0.1&offset=-1", codec.JSON[float64]{})
	u32, _ := aimdb.Register(db, aimdb.NewKey[uint32]("u32"), aimdb.Ring(4))
	u32.LinkTo("modbus://1/holding/40004?type=uint32", codec.JSON[uint32]{})
	coil, _ := aimdb.Register(db, aimdb.NewKey[bool]("coil"), aimdb.Ring(4))
	coil.LinkTo("modbus://1/coil/00010", codec.JSON[bool]{})
	tooBig, _ := aimdb.Register(db, aimdb.NewKey[float64]("big"), aimdb.Ring(4))
	tooBig.LinkTo("modbus://1/holding/40010?type=int16", codec.JSON[float64]{})
	run(t, db)
	connectortest.WaitLink(t, db, "f32", 0, wait, "connected", func(md aimdb.LinkMetadata) bool { return md.Connected })
	_ = f32.Produce(21.5)
	_ = i16.Produce(20.5) // (20.5+1)/0.1 = 215
	_ = u32.Produce(0x12345678)
	_ = coil.Produce(true)
	_ = tooBig.Produce(40000) // beyond int16: refused
	for _, k := range []string{"f32", "i16", "u32", "coil"} {
		connectortest.WaitLink(t, db, k, 0, wait, "published", func(md aimdb.LinkMetadata) bool { return md.Published == 1 })
	}
	md := connectortest.WaitLink(t, db, "big", 0, wait, "refused", func(md aimdb.LinkMetadata) bool { return md.PublishErrs == 1 })
	if md.Published != 0 {
		t.Errorf("big link %+v", md)
	}
	want := []uint16{0x0000, 0x41ac, 215, 0x1234, 0x5678}
	if got := s.bank.getHolding(0, 5); string(u16s(got)) != string(u16s(want)) {
		t.Errorf("holding 0-4 = %04x; want %04x", got, want)
	}
	s.bank.mu.Lock()
	c := s.bank.coils[9]
	s.bank.mu.Unlock()
	if !c {
		t.Error("coil 00010 not set")
	}
}

func u16s(v []uint16) []byte {
	var b []byte
	for _, x := range v {
		b = append(b, byte(x>>8), byte(x))
	}
	return b
}

// TestExceptions: the device refuses an address; a write is counted in
// publish_errors, a poll in the dialer's stats, and neither ends the
// session.
func TestExceptions(t *testing.T) {
	s := startTCP(t)
	d := dialer(t, "tcp://"+s.addr)
	db := newDB(d)
	out, _ := aimdb.Register(db, aimdb.NewKey[float64]("out"), aimdb.Ring(4))
	out.LinkTo("modbus://1/holding/@60000", codec.JSON[float64]{})
	in, _ := aimdb.Register(db, aimdb.NewKey[float64]("in"), aimdb.Latest())
	in.LinkFrom("modbus://1/holding/@60001?poll=20ms", codec.JSON[float64]{})
	run(t, db)
	connectortest.WaitLink(t, db, "out", 0, wait, "connected", func(md aimdb.LinkMetadata) bool { return md.Connected })
	_ = out.Produce(1)
	md := connectortest.WaitLink(t, db, "out", 0, wait, "refused", func(md aimdb.LinkMetadata) bool { return md.PublishErrs == 1 })
	deadline := time.Now().Add(wait)
	for d.Stats().Exceptions < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v; want the polls' exceptions counted", d.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if md.Reconnects != 0 || !md.Connected {
		t.Errorf("link %+v: an exception must not end the session", md)
	}
	if st := d.Stats(); st.Polls != 0 || st.Timeouts != 0 {
		t.Errorf("stats %+v; want no reading and no timeout", st)
	}
	in2 := connectortest.LinkStats(t, db, "in", 0)
	if in2.Received != 0 {
		t.Errorf("in link %+v; want nothing received", in2)
	}
}

// TestServerRestart: the server goes away and comes back; polls resume
// and a write queued meanwhile is sent.
func TestServerRestart(t *testing.T) {
	s := startTCP(t)
	db := newDB(dialer(t, "tcp://"+s.addr))
	in, _ := aimdb.Register(db, aimdb.NewKey[float64]("in"), aimdb.Ring(64))
	in.LinkFrom("modbus://1/holding/40001?poll=20ms", codec.JSON[float64]{})
	out, _ := aimdb.Register(db, aimdb.NewKey[float64]("out"), aimdb.Ring(4))
	out.LinkTo("modbus://1/holding/40001", codec.JSON[float64]{})
	sub, _ := in.Subscribe()
	defer sub.Close()
	run(t, db)
	if v := first(t, sub); v != 0 {
		t.Fatalf("first reading %v; want 0", v)
	}
	s.Stop(t)
	connectortest.WaitLink(t, db, "in", 0, wait, "disconnected", func(md aimdb.LinkMetadata) bool { return !md.Connected })
	_ = out.Produce(7)
	s.Start(t)
	connectortest.WaitLink(t, db, "in", 0, wait, "reconnected", func(md aimdb.LinkMetadata) bool { return md.Connected && md.Reconnects >= 1 })
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		v, err := sub.Recv(ctx)
		if err != nil {
			t.Fatalf("no reading of 7 after the restart: %v", err)
		}
		if v == 7 {
			break
		}
	}
}

// TestTimeout: a server that accepts and never answers; each request
// times out, ends the session and is counted.
func TestTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	d := dialer(t, "tcp://"+ln.Addr().String())
	db := newDB(d)
	in, _ := aimdb.Register(db, aimdb.NewKey[float64]("in"), aimdb.Latest())
	in.LinkFrom("modbus://1/holding/40001", codec.JSON[float64]{})
	run(t, db)
	connectortest.WaitLink(t, db, "in", 0, wait, "a reconnect after a timeout", func(md aimdb.LinkMetadata) bool { return md.Reconnects >= 1 })
	if st := d.Stats(); st.Timeouts < 1 || st.Polls != 0 {
		t.Errorf("stats %+v; want timeouts and no reading", st)
	}
	ln.Close()
	<-done
	for _, c := range conns {
		c.Close()
	}
}

func TestValidateLink(t *testing.T) {
	d, err := modbus.NewDialer("tcp://plc:502", nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url     string
		inbound bool
		ok      bool
	}{
		{"modbus://1/holding/40001", false, true},
		{"modbus://plc:502/1/holding/40001?type=float32&order=ABCD&poll=1s", true, true},
		{"modbus://1/holding/465536", true, true},
		{"modbus://1/input/30001?type=int16&scale=0.1&offset=-40", true, true},
		{"modbus://1/coil/00001", false, true},
		{"modbus://1/coil/000001", false, true},
		{"modbus://1/discrete/10001", true, true},
		{"modbus://247/holding/@65535", false, true},
		{"modbus://1/holding/@65535?type=uint32", false, false}, // runs past the end
		{"modbus://other:502/1/holding/40001", false, false},    // not the dialer's device
		{"modbus://1/holding/30001", false, false},              // wrong prefix
		{"modbus://1/holding/40000", false, false},              // reference 0
		{"modbus://1/holding/4000", false, false},
		{"modbus://248/holding/40001", false, false},
		{"modbus://1/input/30001", false, false},    // read-only table outbound
		{"modbus://1/discrete/10001", false, false}, // read-only table outbound
		{"modbus://1/coil/00001?type=int16", true, false},
		{"modbus://1/holding/40001?type=bool", true, false},
		{"modbus://1/holding/40001?type=int8", true, false},
		{"modbus://1/holding/40001?order=ACBD", true, false},
		{"modbus://1/holding/40001?scale=0", true, false},
		{"modbus://1/holding/40001?scale=abc", true, false},
		{"modbus://1/coil/00001?scale=2", true, false},
		{"modbus://1/holding/40001?poll=0s", true, false},
		{"modbus://1/holding/40001?poll=1s", false, false}, // poll is inbound only
		{"modbus://1/holding/40001?qos=1", true, false},
		{"modbus://1/registers/40001", true, false},
		{"modbus://1/40001", true, false},
	}
	for _, tt := range tests {
		l, err := connector.ParseLink(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		l.Inbound = tt.inbound
		err = d.ValidateLink(l)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateLink(%s, inbound=%v) = %v; want ok=%v", tt.url, tt.inbound, err, tt.ok)
		}
	}
}

func TestNewDialer(t *testing.T) {
	for _, u := range []string{"tcp://plc", "tcp://10.0.0.1:5020", "rtu:///dev/ttyUSB0", "rtu:///dev/ttyS0?baud=9600&parity=none&stop=2"} {
		if _, err := modbus.NewDialer(u, nil); err != nil {
			t.Errorf("NewDialer(%q): %v", u, err)
		}
	}
	for _, u := range []string{"", "udp://plc", "tcp://", "tcp://plc/x", "tcp://plc?x=1", "tcp://plc:0", "rtu://", "rtu:///dev/x?baud=0", "rtu:///dev/x?parity=mark", "rtu:///dev/x?stop=3", "rtu:///dev/x?speed=1"} {
		if _, err := modbus.NewDialer(u, nil); err == nil {
			t.Errorf("NewDialer(%q) succeeded; want an error", u)
		}
	}
}
