//go:build js && wasm

// Command browser is a web page in Go: a WebAssembly module that opens an
// AimDB DB in the browser, mirrors the records of a hub into it over
// WebSocket, and shows them.
//
// The page (index.html) loads main.wasm with Go's wasm_exec.js. The
// module reads its settings from the page's URL:
//
//	?pattern=station.#               the records to mirror (default station.#)
//	&write=station.1.temperature     a record to try to write (default station.1.temperature)
//	&value={"celsius":-99}           the value to write
//	&token=…                         a token for the hub's AuthFunc
//
// and connects to the hub at ws://<the page's host>/ws (wss:// on an
// https page). It shows, in elements with these ids:
//
//	status      "connected" once both connections are up, or the error
//	records     a table row per mirrored record (data-key=<key>) with its
//	            latest value and the number of values received
//	snapshots   the number of late-join snapshots, then " (last)" when
//	            the burst ended
//	events      the number of live events after the snapshots
//	write       the outcome of record.set on the write record:
//	            "refused: denied" on a read-only hub
//	after-write the record's value read back after the attempt
//
// To see it, run the example hub, which builds the module and serves it
// with simulated weather stations, and open the page it prints:
//
//	go run ./examples/browser/hub
//
// To serve it from a hub of your own, build the module and serve it with
// Go's loader and index.html next to a websocket.Handler at /ws, as
// browser_test.go does:
//
//	GOOS=js GOARCH=wasm go build -o main.wasm ./examples/browser
//	cp "$(go env GOROOT)/lib/wasm/wasm_exec.js" .
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall/js"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/websocket"
)

// A Reading is one value of a mirrored record, tagged with its key.
type Reading struct {
	Key   string
	Value json.RawMessage
}

// readingCodec keeps the JSON of a value and the key it came from.
type readingCodec struct{}

func (readingCodec) Encode(r Reading) ([]byte, error) { return r.Value, nil }
func (readingCodec) Decode(b []byte) (Reading, error) {
	return Reading{}, errors.New("a reading needs its topic")
}
func (readingCodec) DecodeTopic(topic string, b []byte) (Reading, error) {
	return Reading{Key: topic, Value: slices.Clone(b)}, nil
}

var doc = js.Global().Get("document")

func setText(id, s string) {
	if el := doc.Call("getElementById", id); !el.IsNull() {
		el.Set("textContent", s)
	}
}

// show puts a reading into the records table.
func show(r Reading, n int) {
	row := doc.Call("querySelector", `tr[data-key="`+r.Key+`"]`)
	if row.IsNull() {
		row = doc.Call("createElement", "tr")
		row.Call("setAttribute", "data-key", r.Key)
		for _, class := range []string{"key", "value", "count"} {
			td := doc.Call("createElement", "td")
			td.Set("className", class)
			row.Call("appendChild", td)
		}
		row.Call("querySelector", ".key").Set("textContent", r.Key)
		doc.Call("querySelector", "#records tbody").Call("appendChild", row)
	}
	row.Call("querySelector", ".value").Set("textContent", string(r.Value))
	row.Call("querySelector", ".count").Set("textContent", strconv.Itoa(n))
}

func main() {
	loc := js.Global().Get("location")
	q := js.Global().Get("URLSearchParams").New(loc.Get("search"))
	param := func(name, def string) string {
		if v := q.Call("get", name); !v.IsNull() && v.String() != "" {
			return v.String()
		}
		return def
	}
	pattern := param("pattern", "station.#")
	writeKey := param("write", "station.1.temperature")
	writeValue := param("value", `{"celsius":-99}`)
	token := param("token", "")
	scheme := "ws://"
	if loc.Get("protocol").String() == "https:" {
		scheme = "wss://"
	}
	hub := scheme + loc.Get("host").String() + "/ws"

	if err := run(hub, pattern, writeKey, writeValue, token); err != nil {
		setText("status", "error: "+err.Error())
	}
	select {} // keep the page's Go program alive
}

func run(hub, pattern, writeKey, writeValue, token string) error {
	ctx := context.Background()

	// A DB in the browser, mirroring the hub's records through a
	// ws-client link; a tap shows every value.
	d, err := websocket.NewDialer(hub, &websocket.DialerOptions{Token: token})
	if err != nil {
		return err
	}
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"ws-client": d}})
	mirror, err := aimdb.Register(db, aimdb.NewKey[Reading]("hub.mirror"), aimdb.Ring(256))
	if err != nil {
		return err
	}
	mirror.LinkFrom("ws-client://"+pattern, readingCodec{})
	counts := map[string]int{}
	mirror.Tap(func(ctx context.Context, s *aimdb.Subscription[Reading]) error {
		for r, err := range s.All(ctx) {
			if err != nil {
				continue // lagged: the next value is newer
			}
			counts[r.Key]++
			show(r, counts[r.Key])
		}
		return nil
	})
	go func() {
		if err := db.Run(ctx); err != nil {
			setText("status", "error: "+err.Error())
		}
	}()

	// An AimX client on the same hub: it counts the snapshots and live
	// events of the pattern, and tries to write a record.
	c, err := websocket.Dial(ctx, hub, &aimx.ClientOptions{Token: token})
	if err != nil {
		return err
	}
	s, err := c.Subscribe(ctx, pattern)
	if err != nil {
		return err
	}
	setText("status", "connected")
	go watch(s)

	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := c.Set(wctx, writeKey, json.RawMessage(writeValue)); err != nil {
		var ae *aimx.Error
		if errors.As(err, &ae) {
			setText("write", "refused: "+ae.Code)
		} else {
			setText("write", "failed: "+err.Error())
		}
	} else {
		setText("write", "accepted")
	}
	// A write frame is never answered; read the record back to see
	// what it did.
	if err := c.Write(wctx, writeKey, json.RawMessage(writeValue)); err != nil {
		return err
	}
	v, err := c.Get(wctx, writeKey)
	if err != nil {
		setText("after-write", "error: "+err.Error())
	} else {
		setText("after-write", string(v))
	}
	return nil
}

// watch counts the pattern's snapshots and live events.
func watch(s *aimx.Stream) {
	snaps, events := 0, 0
	for {
		u, err := s.Next(context.Background())
		if err != nil {
			setText("status", "stream ended: "+err.Error())
			return
		}
		if u.Snapshot {
			snaps++
			end := ""
			if u.SnapshotEnd {
				end = " (last)"
			}
			setText("snapshots", fmt.Sprintf("%d%s", snaps, end))
			continue
		}
		events++
		setText("events", strconv.Itoa(events))
		setText("last-event", u.Topic+" = "+strings.TrimSpace(string(u.Data)))
	}
}
