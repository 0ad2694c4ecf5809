// The tests start HTTP servers (httptest), which js/wasm cannot.
//go:build !js

package websocket_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/websocket"
	cws "github.com/coder/websocket"
)

// TestKeepalive runs the ws-client connector against a server that
// acknowledges subscriptions and then goes silent, answering no ping:
// the connector drops the connection after its keepalive, and the DB
// dials again.
func TestKeepalive(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := cws.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		for {
			_, b, err := ws.Read(r.Context())
			if err != nil {
				return
			}
			if f, err := aimx.ParseFrame(b); err == nil && f.T == aimx.TagSub {
				ack, _ := (&aimx.Frame{T: aimx.TagSubscribed, Sub: "1"}).AppendJSON(nil)
				ws.Write(r.Context(), cws.MessageText, ack)
			}
		}
	}))
	defer ts.Close()
	d := must(websocket.NewDialer("ws"+strings.TrimPrefix(ts.URL, "http"), &websocket.DialerOptions{Keepalive: 50 * time.Millisecond}))(t)
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"ws-client": d}, ReconnectBackoff: 10 * time.Millisecond})
	r := must(aimdb.Register(db, aimdb.NewKey[int]("mirror"), aimdb.Latest()))(t)
	r.LinkFrom("ws-client://remote", codec.JSON[int]{})
	aimdbtest.Start(t, db)
	connectortest.WaitLink(t, db, "mirror", 0, 10*time.Second, "connected", func(md aimdb.LinkMetadata) bool { return md.Connected })
	start := time.Now()
	connectortest.WaitLink(t, db, "mirror", 0, 10*time.Second, "a reconnect", func(md aimdb.LinkMetadata) bool { return md.Reconnects >= 2 })
	t.Logf("two silent connections dropped and redialled in %v", time.Since(start))
}
