package knx_test

import (
	"context"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/knx"
	"github.com/aimdb-go/aimdb/connector/knx/knxtest"
)

// knxdPeer runs the conformance suite against Debian's knxd.
type knxdPeer struct{ k *knxtest.Knxd }

func (p knxdPeer) Scheme() string                       { return "knx" }
func (p knxdPeer) Stop(t testing.TB)                    { p.k.Stop(t) }
func (p knxdPeer) Start(t testing.TB)                   { p.k.Start(t) }
func (p knxdPeer) Dialer(t testing.TB) connector.Dialer { return knxdDialer(t, p.k) }

func knxdDialer(t testing.TB, k *knxtest.Knxd) *knx.Dialer {
	d, err := knx.NewDialer(k.URL(), &knx.Options{
		AckTimeout:        500 * time.Millisecond,
		HeartbeatInterval: 200 * time.Millisecond,
		HeartbeatTimeout:  200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestKnxdConformance(t *testing.T) {
	connectortest.Run(t, knxdPeer{knxtest.Start(t)}, connectortest.Features{
		Bulk:         2000,
		LargePayload: 200,
		Topic:        nextGA,
	})
}

// TestKnxdKnxtool writes values with knxtool, as a bus device would, and
// reads them from records linked with DPT codecs.
func TestKnxdKnxtool(t *testing.T) {
	k := knxtest.Start(t)
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"knx": knxdDialer(t, k)}})
	temp, _ := aimdb.Register(db, aimdb.NewKey[float64]("knx.temp"), aimdb.Ring(8))
	temp.LinkFrom("knx://9/1/0", knx.Temperature)
	sw, _ := aimdb.Register(db, aimdb.NewKey[bool]("knx.switch"), aimdb.Ring(8))
	sw.LinkFrom("knx://1/2/4", knx.Bool{})
	pct, _ := aimdb.Register(db, aimdb.NewKey[float64]("knx.pct"), aimdb.Ring(8))
	pct.LinkFrom("knx://9/1/1", knx.Percent{})
	raw, _ := aimdb.Register(db, aimdb.NewKey[[]byte]("knx.raw"), aimdb.Ring(8))
	raw.LinkFrom("knx://3/#", codec.Bytes{})
	subT, _ := temp.Subscribe()
	defer subT.Close()
	subS, _ := sw.Subscribe()
	defer subS.Close()
	subP, _ := pct.Subscribe()
	defer subP.Close()
	subR, _ := raw.Subscribe()
	defer subR.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- db.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}()
	connectortest.WaitLink(t, db, "knx.temp", 0, 10*time.Second, "connected", func(md aimdb.LinkMetadata) bool { return md.Connected })

	k.GroupWrite(t, "9/1/0", 0x0c, 0x1a) // DPT 9.001: E=1, M=1050: 21 °C
	k.GroupSWrite(t, "1/2/4", 1)
	k.GroupWrite(t, "9/1/1", 0x7a) // 122 → 47.84 %
	k.GroupWrite(t, "3/0/7", 1, 2, 3)
	k.GroupWrite(t, "9/1/0", 0x01) // one octet: not DPT 9, refused by the codec

	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	if v, err := subT.Recv(rctx); err != nil || v != 21 {
		t.Errorf("temperature = %v, %v; want 21", v, err)
	}
	if v, err := subS.Recv(rctx); err != nil || !v {
		t.Errorf("switch = %v, %v; want true", v, err)
	}
	if v, err := subP.Recv(rctx); err != nil || v < 47.8 || v > 47.9 {
		t.Errorf("percent = %v, %v; want 47.84", v, err)
	}
	if v, err := subR.Recv(rctx); err != nil || string(v) != "\x01\x02\x03" {
		t.Errorf("raw = % x, %v; want 01 02 03", v, err)
	}
	md := connectortest.WaitLink(t, db, "knx.temp", 0, 10*time.Second, "the malformed telegram counted", func(md aimdb.LinkMetadata) bool { return md.DecodeErrors == 1 })
	if md.Received != 2 {
		t.Errorf("knx.temp link: received %d; want 2 (%+v)", md.Received, md)
	}
}
