// The tests start HTTP servers (httptest), which js/wasm cannot.
//go:build !js

package websocket_test

import (
	"fmt"
	"net/http"
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

// TestBus checks "ws://" links on the wire: values sent to a topic reach
// subscriptions by exact topic and by pattern, merged with the records a
// pattern matches under one seq; writes reach an inbound link only when
// the client may write the topic.
func TestBus(t *testing.T) {
	bus := websocket.NewBus()
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"ws": bus}})
	door := must(aimdb.Register(db, aimdb.NewKey[string]("hub.door"), aimdb.Ring(8)))(t)
	door.LinkTo("ws://alerts.door", codec.JSON[string]{})
	temp := must(aimdb.Register(db, aimdb.NewKey[Temp]("alerts.temp"), aimdb.Latest()))(t)
	temp.RemoteAccess(codec.JSON[Temp]{})
	cmd := must(aimdb.Register(db, aimdb.NewKey[string]("hub.cmd"), aimdb.Ring(8)))(t)
	cmd.LinkFrom("ws://cmd.#", codec.JSON[string]{})
	cmds := must(cmd.Subscribe())(t)
	defer cmds.Close()
	aimdbtest.Start(t, db)
	temp.Produce(Temp{30})

	auth := func(r *http.Request) (websocket.Permissions, error) {
		p := websocket.ReadOnly()
		if r.URL.Query().Get("role") == "admin" {
			p.Write = []string{"cmd.light"}
		}
		return p, nil
	}
	h := websocket.NewHandler(aimx.NewServer(db, nil), &websocket.HandlerOptions{Bus: bus, Auth: auth})
	ts := httptest.NewServer(h.Mux())
	defer ts.Close()
	defer h.Close()
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws?v=3.0"

	c := dialRaw(t, url, nil)
	c.send(`{"t":"sub","id":1,"topic":"alerts.door"}`)
	c.expect(`{"t":"subscribed","sub":"1"}`)
	c.send(`{"t":"sub","id":2,"topic":"alerts.#"}`)
	c.expect(`{"t":"subscribed","sub":"2"}`)
	c.expect(`{"t":"snap","seq":1,"last":true,"topic":"alerts.temp","sub":"2","data":{"celsius":30}}`)
	c.send(`{"t":"sub","id":3,"topic":"nope"}`) // neither a record nor a topic yet: accepted, waits
	c.expect(`{"t":"subscribed","sub":"3"}`)
	c.send(`{"t":"sub","id":4,"topic":"alerts.temp"}`) // a record: the session serves it
	c.expect(`{"t":"subscribed","sub":"4"}`)
	c.expect(`{"t":"event","seq":1,"sub":"4","data":{"celsius":30}}`)
	c.sync()

	door.Produce("open")
	got := map[string]bool{}
	for range 2 {
		got[c.recv()] = true
	}
	for _, want := range []string{
		`{"t":"event","seq":1,"topic":"alerts.door","sub":"1","data":"open"}`,
		`{"t":"event","seq":2,"topic":"alerts.door","sub":"2","data":"open"}`,
	} {
		if !got[want] {
			t.Fatalf("got %v; want %s", got, want)
		}
	}
	// A record's event after a link value continues the pattern's seq.
	temp.Produce(Temp{31})
	got = map[string]bool{}
	for range 2 {
		got[c.recv()] = true
	}
	for _, want := range []string{
		`{"t":"event","seq":3,"topic":"alerts.temp","sub":"2","data":{"celsius":31}}`,
		`{"t":"event","seq":2,"sub":"4","data":{"celsius":31}}`,
	} {
		if !got[want] {
			t.Fatalf("got %v; want %s", got, want)
		}
	}
	c.send(`{"t":"unsub","sub":"1"}`)
	c.sync()
	door.Produce("closed")
	c.expect(`{"t":"event","seq":4,"topic":"alerts.door","sub":"2","data":"closed"}`)

	// Writes: refused for a read-only client, delivered for one allowed
	// to write the topic, verbatim.
	c.send(`{"t":"write","topic":"cmd.light","payload":"on"}`)
	c.sync()
	admin := dialRaw(t, url+"&role=admin", nil)
	admin.send(`{"t":"write","topic":"cmd.heat","payload":"on"}`)
	admin.send(`{"t":"write","topic":"cmd.light","payload":"dim"}`)
	admin.sync()
	if v, err := cmds.Recv(testCtx(t)); err != nil || v != "dim" {
		t.Fatalf("hub.cmd got %q, %v; want only the permitted write", v, err)
	}
	if v, err := cmds.TryRecv(); err == nil {
		t.Fatalf("hub.cmd got %q too", v)
	}

	// Subscriptions to topics no record has are capped per connection.
	w := dialRaw(t, url, nil)
	for i := range 33 {
		w.send(fmt.Sprintf(`{"t":"sub","id":%d,"topic":"later.%d"}`, i+1, i))
		want := fmt.Sprintf(`{"t":"subscribed","sub":"%d"}`, i+1)
		if i == 32 {
			want = `{"t":"reply","id":33,"err":"not_found"}`
		}
		w.expect(want)
	}
}
