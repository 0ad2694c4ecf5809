// The benchmarks start HTTP servers (httptest), which js/wasm cannot.
//go:build !js

package websocket_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector/websocket"
	cws "github.com/coder/websocket"
)

// BenchmarkEventStream streams events of one record to one WebSocket
// client in bursts of 256; one op is one event, its allocations those of
// the server and the client together.
func BenchmarkEventStream(b *testing.B) {
	db := aimdb.New(nil)
	rec, err := aimdb.Register(db, keyTemp1, aimdb.Ring(4096))
	if err != nil {
		b.Fatal(err)
	}
	rec.RemoteAccess(codec.JSON[Temp]{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- db.Run(ctx) }()
	<-db.Started()
	h := websocket.NewHandler(aimx.NewServer(db, &aimx.ServerOptions{Unlisted: true}), nil)
	ts := httptest.NewServer(h.Mux())
	defer func() {
		h.Close()
		ts.Close()
		cancel()
		if err := <-errc; err != nil {
			b.Error(err)
		}
	}()
	ws, _, err := cws.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/ws?v=3.0", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ws.CloseNow()
	if err := ws.Write(ctx, cws.MessageText, []byte(`{"t":"sub","id":1,"topic":"station.1.temperature"}`)); err != nil {
		b.Fatal(err)
	}
	if _, _, err := ws.Read(ctx); err != nil { // subscribed
		b.Fatal(err)
	}
	const burst = 256
	n := 0
	for b.Loop() {
		rec.Produce(Temp{float64(n)})
		n++
		if n%burst == 0 {
			for range burst {
				if _, _, err := ws.Read(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}
