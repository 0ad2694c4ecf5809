//go:build !js

package websocket_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector/websocket"
)

// TestLiveDiscovery checks live discovery over WebSocket: a wildcard
// subscription open before a family's instances exist delivers each new
// matching instance, exactly once, in one seq.
func TestLiveDiscovery(t *testing.T) {
	famTemp := aimdb.NewFamily[Temp]("station.{id}.temperature")
	famHum := aimdb.NewFamily[float64]("station.{id}.humidity")
	db := aimdb.New(nil)
	ft, err := aimdb.RegisterFamily(db, famTemp, aimdb.Ring(8))
	if err != nil {
		t.Fatal(err)
	}
	ft.RemoteAccess(codec.JSON[Temp]{})
	fh, err := aimdb.RegisterFamily(db, famHum, aimdb.Latest())
	if err != nil {
		t.Fatal(err)
	}
	fh.RemoteAccess(codec.JSON[float64]{})
	stop := aimdbtest.Start(t, db)
	h := websocket.NewHandler(aimx.NewServer(db, nil), nil)
	ts := httptest.NewServer(h)
	t.Cleanup(func() {
		h.Close()
		ts.Close()
		if err := stop(); err != nil {
			t.Errorf("db: %v", err)
		}
	})
	c := dialRaw(t, "ws"+strings.TrimPrefix(ts.URL, "http")+"/ws?v=3.0", nil)
	produce := func(id string, v float64) {
		t.Helper()
		if err := aimdb.Produce(db, famTemp.Instance(id), Temp{v}); err != nil {
			t.Fatal(err)
		}
	}

	c.send(`{"t":"sub","id":1,"topic":"nothing.*"}`)
	c.expect(`{"t":"reply","id":1,"err":"not_found"}`)
	c.send(`{"t":"sub","id":2,"topic":"station.*.temperature"}`)
	c.expect(`{"t":"subscribed","sub":"2"}`)
	produce("1", 20)
	c.expect(`{"t":"event","seq":1,"topic":"station.1.temperature","sub":"2","data":{"celsius":20}}`)
	if err := aimdb.Produce(db, famHum.Instance("1"), 50); err != nil {
		t.Fatal(err)
	}
	produce("2", 21)
	c.expect(`{"t":"event","seq":2,"topic":"station.2.temperature","sub":"2","data":{"celsius":21}}`)
	produce("1", 22)
	c.expect(`{"t":"event","seq":3,"topic":"station.1.temperature","sub":"2","data":{"celsius":22}}`)

	c.send(`{"t":"unsub","sub":"2"}`)
	if got := c.sync(); len(got) != 0 { // the unsub is handled
		t.Errorf("before unsub: %v", got)
	}
	produce("3", 23)
	time.Sleep(20 * time.Millisecond) // a pump would have sent it by now
	if got := c.sync(); len(got) != 0 {
		t.Errorf("after unsub: %v", got)
	}
}
