package knx_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/knx"
	"github.com/vapourismo/knx-go/knx/cemi"
)

const wait = 10 * time.Second

// run runs db until the test ends.
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

func connected(md aimdb.LinkMetadata) bool { return md.Connected }

func newDB(d connector.Dialer) *aimdb.DB {
	return aimdb.New(&aimdb.Options{
		Connectors:          map[string]connector.Dialer{"knx": d},
		ReconnectBackoff:    20 * time.Millisecond,
		MaxReconnectBackoff: 200 * time.Millisecond,
	})
}

// faultPair links tx's record "out" to rx's record "in" on one group
// address through g.
type faultPair struct {
	txd, rxd *knx.Dialer
	tx, rx   *aimdb.DB
	out      *aimdb.Record[int]
	sub      *aimdb.Subscription[int]
}

func newFaultPair(t *testing.T, g *fakeGateway) *faultPair {
	ga := nextGA("")
	p := &faultPair{txd: g.dialer(t), rxd: g.dialer(t)}
	p.rx = newDB(p.rxd)
	in, _ := aimdb.Register(p.rx, aimdb.NewKey[int]("in"), aimdb.Ring(64))
	in.LinkFrom("knx://"+ga, connectortest.IntCodec{})
	p.sub, _ = in.Subscribe()
	t.Cleanup(p.sub.Close)
	p.tx = newDB(p.txd)
	p.out, _ = aimdb.Register(p.tx, aimdb.NewKey[int]("out"), aimdb.Ring(64))
	p.out.LinkTo("knx://"+ga, connectortest.IntCodec{})
	run(t, p.rx)
	run(t, p.tx)
	connectortest.WaitLink(t, p.rx, "in", 0, wait, "connected", connected)
	connectortest.WaitLink(t, p.tx, "out", 0, wait, "connected", connected)
	return p
}

func (p *faultPair) recv(t *testing.T, want ...int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, w := range want {
		v, err := p.sub.Recv(ctx)
		if err != nil || v != w {
			t.Fatalf("received %v, %v; want %d", v, err, w)
		}
	}
}

func (p *faultPair) quiet(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if v, err := p.sub.Recv(ctx); err == nil {
		t.Fatalf("unexpected value %d (delivered twice?)", v)
	}
}

// TestLostAck: the gateway forwards a telegram but its ACK is lost; the
// connector sends it once more with the same sequence number, the
// gateway recognizes the repeat, and the value arrives once.
func TestLostAck(t *testing.T) {
	g := startGateway(t)
	p := newFaultPair(t, g)
	g.dropAcks.Store(1)
	_ = p.out.Produce(7)
	p.recv(t, 7)
	connectortest.WaitLink(t, p.tx, "out", 0, wait, "published", func(md aimdb.LinkMetadata) bool { return md.Published == 1 })
	_ = p.out.Produce(8)
	p.recv(t, 8)
	p.quiet(t)
	if st := p.txd.Stats(); st.Resent != 1 || st.AckTimeouts != 0 {
		t.Errorf("stats %+v; want 1 resent, no ACK timeout", st)
	}
	if md := connectortest.LinkStats(t, p.tx, "out", 0); md.Reconnects != 0 || md.PublishErrs != 0 {
		t.Errorf("sender link %+v; want no reconnect and no publish error", md)
	}
}

// TestLostRequests: the telegram and its repeat are both lost; the
// session ends, the DB reconnects and sends the telegram again.
func TestLostRequests(t *testing.T) {
	g := startGateway(t)
	p := newFaultPair(t, g)
	g.dropRequests.Store(2)
	_ = p.out.Produce(1)
	p.recv(t, 1)
	md := connectortest.WaitLink(t, p.tx, "out", 0, wait, "published", func(md aimdb.LinkMetadata) bool { return md.Published == 1 })
	if md.Reconnects != 1 || !strings.Contains(md.LastError, "TUNNELLING_ACK") {
		t.Errorf("sender link %+v; want one reconnect after an ACK timeout", md)
	}
	if st := p.txd.Stats(); st.Resent != 1 || st.AckTimeouts != 1 {
		t.Errorf("stats %+v; want 1 resent, 1 ACK timeout", st)
	}
	p.quiet(t)
}

// TestGatewayRestart: the gateway dies without DISCONNECT (Kill) or
// shuts down cleanly (Stop); both DBs notice, reconnect once it is back,
// and values flow again.
func TestGatewayRestart(t *testing.T) {
	for _, clean := range []bool{false, true} {
		name := "killed"
		if clean {
			name = "stopped"
		}
		t.Run(name, func(t *testing.T) {
			g := startGateway(t)
			p := newFaultPair(t, g)
			_ = p.out.Produce(1)
			p.recv(t, 1)
			if clean {
				g.Stop(t)
			} else {
				g.Kill(t)
			}
			down := func(md aimdb.LinkMetadata) bool { return !md.Connected }
			connectortest.WaitLink(t, p.rx, "in", 0, wait, "disconnected", down)
			connectortest.WaitLink(t, p.tx, "out", 0, wait, "disconnected", down)
			_ = p.out.Produce(2) // queued while the gateway is down
			g.Start(t)
			back := func(md aimdb.LinkMetadata) bool { return md.Connected && md.Reconnects >= 1 }
			connectortest.WaitLink(t, p.rx, "in", 0, wait, "reconnected", back)
			connectortest.WaitLink(t, p.tx, "out", 0, wait, "reconnected", back)
			_ = p.out.Produce(3)
			// 2 may be sent before rx reconnected; 3 must arrive.
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			for {
				v, err := p.sub.Recv(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if v == 3 {
					break
				}
				if v != 2 {
					t.Fatalf("received %d; want 2 or 3", v)
				}
			}
		})
	}
}

// TestHeartbeat: a gateway that stops answering CONNECTIONSTATE_REQUEST
// ends the session after three attempts; the DB reconnects.
func TestHeartbeat(t *testing.T) {
	g := startGateway(t)
	d := g.dialer(t)
	db := newDB(d)
	in, _ := aimdb.Register(db, aimdb.NewKey[int]("in"), aimdb.Ring(4))
	in.LinkFrom("knx://1/1/1", connectortest.IntCodec{})
	run(t, db)
	connectortest.WaitLink(t, db, "in", 0, wait, "connected", connected)
	g.muteKeepalive.Store(true)
	connectortest.WaitLink(t, db, "in", 0, wait, "disconnected", func(md aimdb.LinkMetadata) bool { return !md.Connected })
	g.muteKeepalive.Store(false)
	connectortest.WaitLink(t, db, "in", 0, wait, "reconnected", func(md aimdb.LinkMetadata) bool { return md.Connected && md.Reconnects >= 1 })
}

// ldataInd builds a cEMI L_Data.ind GroupValueWrite with knx-go.
func ldataInd(t *testing.T, ga string, short bool, data ...byte) []byte {
	t.Helper()
	a, err := cemi.NewGroupAddrString(ga)
	if err != nil {
		t.Fatal(err)
	}
	app := &cemi.AppData{Command: cemi.GroupValueWrite, Data: append([]byte{0}, data...)}
	if short {
		app.Data = []byte{data[0]}
	}
	msg := &cemi.LDataInd{LData: cemi.LData{
		Control1:    cemi.Control1StdFrame | cemi.Control1NoRepeat | cemi.Control1NoSysBroadcast,
		Control2:    cemi.Control2GroupAddr | cemi.Control2Hops(6),
		Destination: uint16(a),
		Data:        app,
	}}
	b := make([]byte, cemi.Size(msg))
	cemi.Pack(b, msg)
	return b
}

// TestRefusedTelegrams: malformed datagrams and telegrams are refused
// and counted by the dialer, a telegram of the wrong size for its DPT is
// refused by the codec and counted in the link's decode_errors, and
// neither is stored.
func TestRefusedTelegrams(t *testing.T) {
	g := startGateway(t)
	d := g.dialer(t)
	db := newDB(d)
	temp, _ := aimdb.Register(db, aimdb.NewKey[float64]("temp"), aimdb.Ring(8))
	temp.LinkFrom("knx://9/1/0", knx.Temperature)
	sub, _ := temp.Subscribe()
	defer sub.Close()
	run(t, db)
	connectortest.WaitLink(t, db, "temp", 0, wait, "connected", connected)

	good := ldataInd(t, "9/1/0", false, 0x0c, 0x1a) // 21 °C
	truncated := good[:len(good)-1]                 // NPDU says 3 octets, 2 follow
	long := append(append([]byte(nil), good...), 0) // one octet more than it says
	individual := append([]byte(nil), good...)
	individual[3] &^= 0x80                           // destination is an individual address
	oneOctet := ldataInd(t, "9/1/0", false, 0x01)    // parses, but is not DPT 9
	other := ldataInd(t, "9/1/1", false, 0x0c, 0x1a) // another group address: not delivered, not refused
	for _, f := range [][]byte{truncated, long, individual, {0x29}, {0x99, 0}} {
		g.sendRaw(f)
	}
	g.sendDatagram([]byte("not KNXnet/IP"))
	g.sendDatagram([]byte{6, 0x10, 0x04, 0x20, 0, 50}) // length beyond the datagram
	g.sendRaw(oneOctet)
	g.sendRaw(other)
	g.sendRaw(good)

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if v, err := sub.Recv(ctx); err != nil || v != 21 {
		t.Fatalf("received %v, %v; want 21", v, err)
	}
	md := connectortest.LinkStats(t, db, "temp", 0)
	if md.Received != 2 || md.DecodeErrors != 1 {
		t.Errorf("link %+v; want 2 received, 1 decode error", md)
	}
	if st := d.Stats(); st.Refused != 7 || st.Telegrams != 3 {
		t.Errorf("stats %+v; want 7 refused, 3 telegrams", st)
	}
}

// TestOutOfSequence: a tunnelling request that skips a sequence number
// is dropped and counted; the next in sequence is delivered.
func TestOutOfSequence(t *testing.T) {
	g := startGateway(t)
	d := g.dialer(t)
	db := newDB(d)
	rec, _ := aimdb.Register(db, aimdb.NewKey[[]byte]("raw"), aimdb.Ring(8))
	rec.LinkFrom("knx://2/0/+", codec.Bytes{})
	sub, _ := rec.Subscribe()
	defer sub.Close()
	run(t, db)
	connectortest.WaitLink(t, db, "raw", 0, wait, "connected", connected)
	g.mu.Lock()
	for _, c := range g.clients {
		c.txSeq += 5 // skip
	}
	g.mu.Unlock()
	g.sendRaw(ldataInd(t, "2/0/1", false, 1))
	g.mu.Lock()
	for _, c := range g.clients {
		c.txSeq -= 6 // back to the expected number
	}
	g.mu.Unlock()
	g.sendRaw(ldataInd(t, "2/0/2", false, 2))
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if v, err := sub.Recv(ctx); err != nil || string(v) != "\x02" {
		t.Fatalf("received % x, %v; want 02", v, err)
	}
	if st := d.Stats(); st.OutOfSequence != 1 {
		t.Errorf("stats %+v; want 1 out of sequence", st)
	}
}

// TestFrameForms checks the telegrams on the wire: the short-frame rule
// of frame=auto, and frame=short and frame=long.
func TestFrameForms(t *testing.T) {
	g := startGateway(t)
	g.mu.Lock()
	g.writes = make(chan cemi.LDataReq, 16)
	g.mu.Unlock()
	db := newDB(g.dialer(t))
	pctAuto, _ := aimdb.Register(db, aimdb.NewKey[float64]("pct.auto"), aimdb.Ring(4))
	pctAuto.LinkTo("knx://1/0/1", knx.Percent{})
	pctLong, _ := aimdb.Register(db, aimdb.NewKey[float64]("pct.long"), aimdb.Ring(4))
	pctLong.LinkTo("knx://1/0/2?frame=long", knx.Percent{})
	sw, _ := aimdb.Register(db, aimdb.NewKey[bool]("switch"), aimdb.Ring(4))
	sw.LinkTo("knx://1/0/3?frame=short", knx.Bool{})
	badShort, _ := aimdb.Register(db, aimdb.NewKey[float64]("temp.short"), aimdb.Ring(4))
	badShort.LinkTo("knx://1/0/4?frame=short", knx.Temperature)
	temp, _ := aimdb.Register(db, aimdb.NewKey[float64]("temp"), aimdb.Ring(4))
	temp.LinkTo("knx://1/0/5", knx.Temperature)
	run(t, db)
	connectortest.WaitLink(t, db, "temp", 0, wait, "connected", connected)

	type frame struct {
		ga   string
		data []byte // knx-go's AppData.Data: the 6-bit value, then the data octets
	}
	want := []frame{
		{"1/0/1", []byte{26}},            // 10 % = raw 26 < 64: short, as AimDB's Rust connector sends it
		{"1/0/2", []byte{0, 26}},         // frame=long
		{"1/0/3", []byte{1}},             // DPT 1 short
		{"1/0/5", []byte{0, 0x0c, 0x1a}}, // DPT 9 long
	}
	_ = pctAuto.Produce(10)
	_ = pctLong.Produce(10)
	_ = sw.Produce(true)
	_ = badShort.Produce(21)
	_ = temp.Produce(21)
	got := map[string][]byte{} // links publish independently: compare by group address
	for range want {
		select {
		case r := <-g.writes:
			app, ok := r.Data.(*cemi.AppData)
			if !ok || app.Command != cemi.GroupValueWrite {
				t.Fatalf("telegram %+v is not a GroupValueWrite", r)
			}
			got[cemi.GroupAddr(r.Destination).String()] = app.Data
		case <-time.After(wait):
			t.Fatalf("only %d telegrams: %v", len(got), got)
		}
	}
	for _, w := range want {
		if string(got[w.ga]) != string(w.data) {
			t.Errorf("telegram to %s: data % x; want % x", w.ga, got[w.ga], w.data)
		}
	}
	md := connectortest.WaitLink(t, db, "temp.short", 0, wait, "refused", func(md aimdb.LinkMetadata) bool { return md.PublishErrs == 1 })
	if md.Published != 0 {
		t.Errorf("temp.short link %+v; want the two-octet value refused by frame=short", md)
	}
}

func TestValidateLink(t *testing.T) {
	d, err := knx.NewDialer("udp://127.0.0.1:3671", nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url     string
		inbound bool
		ok      bool
	}{
		{"knx://1/2/3", false, true},
		{"knx://1/2/3", true, true},
		{"knx://31/7/255", false, true},
		{"knx://1/2047", false, true},
		{"knx://9/1/+", true, true},
		{"knx://9/#", true, true},
		{"knx://#", true, true},
		{"knx://1/2/3?frame=long", false, true},
		{"knx://1/2/3?frame=short", false, true},
		{"knx://1/2/3?frame=auto", false, true},
		{"knx://9/1/+", false, false},  // wildcard outbound
		{"knx://32/0/0", false, false}, // main out of range
		{"knx://1/8/0", false, false},  // middle out of range
		{"knx://1/2/256", true, false}, // sub out of range
		{"knx://1/2048", false, false}, // two-level sub out of range
		{"knx://a/b/c", false, false},  // not numbers
		{"knx://1/2/3/4", true, false}, // four levels
		{"knx://9/+", true, false},     // two levels with a wildcard
		{"knx://1/2/3?frame=tiny", false, false},
		{"knx://1/2/3?frame=long", true, false}, // frame is outbound only
		{"knx://1/2/3?qos=1", false, false},
		{"knx://01/2/3", true, true}, // leading zero: canonicalized to 1/2/3
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
	for _, u := range []string{"udp://gw", "knx://10.0.0.1", "udp://127.0.0.1:3671", "multicast://224.0.23.12", "multicast://224.0.23.12:3671?iface=eth0"} {
		if _, err := knx.NewDialer(u, nil); err != nil {
			t.Errorf("NewDialer(%q): %v", u, err)
		}
	}
	for _, u := range []string{"", "tcp://gw", "udp://", "udp://gw/path", "udp://gw?x=1", "udp://u:p@gw", "udp://gw:0", "udp://gw:99999", "::", "multicast://10.0.0.1", "multicast://gw", "udp://gw?iface=eth0", "multicast://224.0.23.12?x=1"} {
		if _, err := knx.NewDialer(u, nil); err == nil {
			t.Errorf("NewDialer(%q) succeeded; want an error", u)
		}
	}
	for _, a := range []string{"1.1.250", "0.0.1", "15.15.255"} {
		if _, err := knx.NewDialer("multicast://224.0.23.12", &knx.Options{Address: a}); err != nil {
			t.Errorf("Address %q: %v", a, err)
		}
	}
	for _, a := range []string{"16.0.1", "1.1", "1.1.256", "a.b.c", "1/1/1", "01.1.1"} {
		if _, err := knx.NewDialer("multicast://224.0.23.12", &knx.Options{Address: a}); err == nil {
			t.Errorf("Address %q accepted; want an error", a)
		}
	}
}
