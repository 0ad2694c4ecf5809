package aimx_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb/aimx"
)

// TestClientDrivesEveryMethod runs every method through the client, over
// TCP and over a Unix socket.
func TestClientDrivesEveryMethod(t *testing.T) {
	f := startFixture(t, &aimx.ServerOptions{Policy: aimx.ReadWrite("cfg", "calc.double", "cmd.box", "tick", "missing")})
	for _, ep := range []string{f.tcp, f.uds} {
		t.Run(ep[:3], func(t *testing.T) {
			ctx := testCtx(t)
			c := dial(t, ep, nil)

			w := c.Welcome()
			if w.Version != "3.0" || w.Server != "aimdb" || !slices.Equal(w.Permissions, []string{"read", "write"}) {
				t.Errorf("welcome = %+v", w)
			}
			// Only writable keys that exist are advertised.
			if !slices.Equal(w.WritableRecords, []string{"calc.double", "cfg", "cmd.box", "tick"}) {
				t.Errorf("writable_records = %v", w.WritableRecords)
			}

			rows, err := c.Records(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			writable := map[string]bool{}
			for _, r := range rows {
				keys = append(keys, r.RecordKey)
				writable[r.RecordKey] = r.Writable
			}
			want := []string{"sensors.temp", "sensors.humidity", "sensors.secret", "calc.double", "cfg", "cmd.box", "tick"}
			if !slices.Equal(keys, want) {
				t.Errorf("record.list keys = %v, want %v", keys, want)
			}
			if !writable["cfg"] || !writable["cmd.box"] || writable["calc.double"] || writable["tick"] || writable["sensors.temp"] {
				t.Errorf("writable flags = %v", writable)
			}

			// A ring that never held a value (the first run): no value
			// yet, which is not an unknown key.
			if _, err := c.Get(ctx, "sensors.temp"); ep == f.tcp && (!errors.Is(err, aimx.ErrNoValue) || errors.Is(err, aimx.ErrNotFound)) {
				t.Errorf("get empty ring: %v, want no_value", err)
			}
			if _, err := c.Get(ctx, "nope"); !errors.Is(err, aimx.ErrNotFound) || errors.Is(err, aimx.ErrNoValue) {
				t.Errorf("get unknown: %v, want not_found", err)
			}
			if _, err := c.Get(ctx, "sensors.secret"); !errors.Is(err, aimx.ErrInternal) {
				t.Errorf("get without remote access: %v, want internal", err)
			}

			res, err := c.Set(ctx, "cfg", json.RawMessage(`{"level":9}`))
			if err != nil || res.Status != "success" || string(res.Value) != `{"level":9}` {
				t.Errorf("set cfg = %+v, %v", res, err)
			}
			got, err := aimx.Get(ctx, c, keyCfg)
			if err != nil || got.Level != 9 {
				t.Errorf("typed get cfg = %+v, %v", got, err)
			}
			if _, err := c.Set(ctx, "calc.double", json.RawMessage(`{"celsius":1}`)); !errors.Is(err, aimx.ErrDenied) {
				t.Errorf("set on a transform's record: %v, want denied", err)
			}
			if _, err := c.Set(ctx, "tick", json.RawMessage(`5`)); !errors.Is(err, aimx.ErrDenied) {
				t.Errorf("set on a source's record: %v, want denied", err)
			}
			if _, err := c.Set(ctx, "sensors.humidity", json.RawMessage(`1`)); !errors.Is(err, aimx.ErrDenied) {
				t.Errorf("set outside the writable set: %v, want denied", err)
			}
			if _, err := c.Set(ctx, "missing", json.RawMessage(`1`)); !errors.Is(err, aimx.ErrNotFound) {
				t.Errorf("set on a writable key that is not registered: %v, want not_found", err)
			}
			_, err = c.Set(ctx, "cfg", json.RawMessage(`{"level":"high"}`))
			var ae *aimx.Error
			if !errors.Is(err, aimx.ErrInvalidParams) || !errors.As(err, &ae) || !strings.HasPrefix(ae.Message, "the value does not decode into the record's type: json: ") {
				t.Errorf("set with a value that does not decode: %v, want invalid_params with the reason", err)
			}
			if got, _ := aimx.Get(ctx, c, keyCfg); got.Level != 9 {
				t.Errorf("a refused set changed the record: %+v", got)
			}

			// Drain: a ring's first drain opens the cursor.
			if d, err := c.Drain(ctx, "sensors.temp", 0); err != nil || d.Count != 0 {
				t.Errorf("first drain = %+v, %v", d, err)
			}
			for i := range 3 {
				if err := f.temp.Produce(Temp{float64(i)}); err != nil {
					t.Fatal(err)
				}
			}
			d, err := c.Drain(ctx, "sensors.temp", 2)
			if err != nil || d.Count != 2 || string(d.Values[0]) != `{"celsius":0}` || d.RecordName != "sensors.temp" {
				t.Errorf("drain limit 2 = %+v, %v", d, err)
			}
			d, err = c.Drain(ctx, "sensors.temp", 0)
			if err != nil || d.Count != 1 || string(d.Values[0]) != `{"celsius":2}` {
				t.Errorf("drain rest = %+v, %v", d, err)
			}
			if v, err := c.Get(ctx, "sensors.temp"); err != nil || string(v) != `{"celsius":2}` {
				t.Errorf("get ring = %s, %v; want the newest value", v, err)
			}

			if _, err := c.Query(ctx, aimx.QueryParams{Pattern: "#"}); !errors.Is(err, aimx.ErrInternal) {
				t.Errorf("query without a handler: %v, want internal", err)
			}

			nodes, err := c.GraphNodes(ctx)
			if err != nil || len(nodes) != 7 {
				t.Errorf("graph.nodes = %d nodes, %v", len(nodes), err)
			}
			edges, err := c.GraphEdges(ctx)
			if err != nil || len(edges) == 0 {
				t.Errorf("graph.edges = %v, %v", edges, err)
			}
			order, err := c.TopoOrder(ctx)
			if err != nil || slices.Index(order, "sensors.temp") > slices.Index(order, "calc.double") {
				t.Errorf("topo order = %v, %v", order, err)
			}
			if err := c.ResetProfiling(ctx); err != nil {
				t.Errorf("profiling.reset: %v", err)
			}
			if err := c.ResetBufferMetrics(ctx); err != nil {
				t.Errorf("buffer_metrics.reset: %v", err)
			}
			if err := c.Call(ctx, "no.such.method", nil, nil); !errors.Is(err, aimx.ErrNotFound) {
				t.Errorf("unknown method: %v, want not_found", err)
			}
			if _, err := c.Ping(ctx); err != nil {
				t.Errorf("ping: %v", err)
			}

			// Write frames are never answered; the effect shows.
			if err := c.Write(ctx, "cfg", json.RawMessage(`{"level":3}`)); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Ping(ctx); err != nil { // frames are handled in order
				t.Fatal(err)
			}
			if got, _ := aimx.Get(ctx, c, keyCfg); got.Level != 3 {
				t.Errorf("after write, cfg = %+v", got)
			}
		})
	}
}

// TestSubscriptions checks exact and wildcard subscriptions: where each
// buffer kind starts, snapshots, topics and seq.
func TestSubscriptions(t *testing.T) {
	f := startFixture(t, nil)
	ctx := testCtx(t)
	c := dial(t, f.tcp, nil)

	if err := f.humidity.Produce(40); err != nil {
		t.Fatal(err)
	}
	if err := f.temp.Produce(Temp{20}); err != nil {
		t.Fatal(err)
	}

	// Exact, Latest: the current value first, as event seq 1, untagged
	// by the server (the client fills in the key).
	hum, err := c.Subscribe(ctx, "sensors.humidity")
	if err != nil {
		t.Fatal(err)
	}
	u, err := hum.Next(ctx)
	if err != nil || string(u.Data) != "40" || u.Seq != 1 || u.Snapshot || u.Topic != "sensors.humidity" {
		t.Fatalf("first humidity update = %+v, %v", u, err)
	}

	// Wildcard: snapshots of every matched record with a value (rings
	// included), then live events tagged with their topic.
	all, err := c.Subscribe(ctx, "sensors.*")
	if err != nil {
		t.Fatal(err)
	}
	snaps := map[string]string{}
	for {
		u, err := all.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !u.Snapshot {
			t.Fatalf("update before the end of the snapshot: %+v", u)
		}
		snaps[u.Topic] = string(u.Data)
		if u.SnapshotEnd {
			if u.Seq != 2 {
				t.Errorf("last snapshot seq = %d, want 2", u.Seq)
			}
			break
		}
	}
	if len(snaps) != 2 || snaps["sensors.temp"] != `{"celsius":20}` || snaps["sensors.humidity"] != "40" {
		t.Errorf("snapshots = %v (sensors.secret has no remote access and must be absent)", snaps)
	}
	if err := f.temp.Produce(Temp{21}); err != nil {
		t.Fatal(err)
	}
	u, err = all.Next(ctx)
	if err != nil || u.Snapshot || u.Topic != "sensors.temp" || u.Seq != 3 || string(u.Data) != `{"celsius":21}` {
		t.Errorf("live event = %+v, %v", u, err)
	}

	// Refusals come back from Subscribe.
	if _, err := c.Subscribe(ctx, "nope"); !errors.Is(err, aimx.ErrNotFound) {
		t.Errorf("sub unknown key: %v, want not_found", err)
	}
	if _, err := c.Subscribe(ctx, "sensors.secret"); !errors.Is(err, aimx.ErrInternal) {
		t.Errorf("sub without remote access: %v, want internal", err)
	}

	// Typed watch.
	w, err := aimx.Watch(ctx, c, keyTemp)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.temp.Produce(Temp{22.5}); err != nil {
		t.Fatal(err)
	}
	v, _, err := w.Next(ctx)
	if err != nil || v.Celsius != 22.5 {
		t.Errorf("watch = %+v, %v", v, err)
	}
	w.Close()
	if _, _, err := w.Next(ctx); !errors.Is(err, aimx.ErrStreamClosed) {
		t.Errorf("Next after Close: %v", err)
	}
}
