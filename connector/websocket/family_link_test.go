//go:build !js

package websocket_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/websocket"
)

// TestFamilyLinkMirror mirrors a hub's family into another DB's family
// over the ws-client connector: the link URL's capture is a '.'-separated
// AimX level, so the mirror subscribes once to "station.*.temperature",
// and each hub instance, including ones created after the mirror
// connected, lands in its own mirror instance with its own counters.
func TestFamilyLinkMirror(t *testing.T) {
	famTemp := aimdb.NewFamily[Temp]("station.{id}.temperature")
	hubDB := aimdb.New(nil)
	ft := must(aimdb.RegisterFamily(hubDB, famTemp, aimdb.Ring(8)))(t)
	ft.RemoteAccess(codec.JSON[Temp]{})
	stopHub := aimdbtest.Start(t, hubDB)
	h := websocket.NewHandler(aimx.NewServer(hubDB, nil), nil)
	ts := httptest.NewServer(h)
	t.Cleanup(func() {
		h.Close()
		ts.Close()
		if err := stopHub(); err != nil {
			t.Errorf("hub: %v", err)
		}
	})
	if err := aimdb.Produce(hubDB, famTemp.Instance("1"), Temp{20}); err != nil {
		t.Fatal(err)
	}

	d, err := websocket.NewDialer("ws"+strings.TrimPrefix(ts.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	mirrorKey := aimdb.NewFamily[Temp]("mirror.{id}.temperature")
	mdb := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"ws-client": d}})
	mf := must(aimdb.RegisterFamily(mdb, mirrorKey, aimdb.Ring(8)))(t)
	mf.LinkFrom("ws-client://station.{id}.temperature", codec.JSON[Temp]{})
	sub := mf.Subscribe()
	defer sub.Close()
	aimdbtest.Start(t, mdb)
	aimdbtest.WaitLinksConnected(t, mdb)

	got := map[string][]float64{}
	next := func() {
		t.Helper()
		inst, v, err := sub.Recv(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		got[inst.Key] = append(got[inst.Key], v.Celsius)
	}
	next() // the snapshot of station 1
	if err := aimdb.Produce(hubDB, famTemp.Instance("4711"), Temp{5}); err != nil {
		t.Fatal(err)
	}
	next()
	if err := aimdb.Produce(hubDB, famTemp.Instance("1"), Temp{21}); err != nil {
		t.Fatal(err)
	}
	next()
	want := map[string][]float64{"mirror.1.temperature": {20, 21}, "mirror.4711.temperature": {5}}
	for k, w := range want {
		if len(got[k]) != len(w) || got[k][0] != w[0] || got[k][len(w)-1] != w[len(w)-1] {
			t.Errorf("mirror %s got %v; want %v", k, got[k], w)
		}
	}
	for _, m := range mdb.Records() {
		if len(m.Links) != 1 || m.Links[0].Received != uint64(len(want[m.RecordKey])) {
			t.Errorf("%s links %+v; want %d received", m.RecordKey, m.Links, len(want[m.RecordKey]))
		}
		if !strings.HasPrefix(m.Links[0].Address, "ws-client://station.") {
			t.Errorf("%s link address %q; want the concrete topic", m.RecordKey, m.Links[0].Address)
		}
	}
}
