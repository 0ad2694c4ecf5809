// The example starts an HTTP server (httptest), which js/wasm cannot.
//go:build !js

package websocket_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector/websocket"
)

// A hub serves its DB over WebSocket; a client subscribes to a pattern
// and gets a snapshot of each matching record, then live values.
func Example() {
	db := aimdb.New(nil)
	temp, _ := aimdb.Register(db, aimdb.NewKey[float64]("station.1.temperature"), aimdb.Latest())
	temp.RemoteAccess(codec.JSON[float64]{})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- db.Run(ctx) }()
	<-db.Started()
	defer func() { stop(); <-done }()
	temp.Produce(21.5)

	h := websocket.NewHandler(aimx.NewServer(db, nil), nil) // read-only for everyone
	ts := httptest.NewServer(h.Mux())                       // or h.ListenAndServe(ctx, ":8080")
	defer ts.Close()
	defer h.Close()

	c, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/ws", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	s, _ := c.Subscribe(ctx, "station.#")
	u, _ := s.Next(ctx)
	fmt.Println("snapshot:", u.Topic, string(u.Data))
	temp.Produce(22)
	u, _ = s.Next(ctx)
	fmt.Println("event:", u.Topic, string(u.Data))
	_, err = c.Set(ctx, "station.1.temperature", []byte("0"))
	fmt.Println("set:", err)
	// Output:
	// snapshot: station.1.temperature 21.5
	// event: station.1.temperature 22
	// set: aimx: record.set "station.1.temperature": refused by the server's policy (denied)
}
