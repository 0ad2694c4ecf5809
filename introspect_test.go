package aimdb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
)

type Temperature struct {
	Celsius float64 `json:"celsius"`
}

func graphDB(t *testing.T) *aimdb.DB {
	db := aimdb.New(nil)
	raw := aimdbtest.Must[*aimdb.Record[Temperature]](t)(aimdb.Register(db, aimdb.NewKey[Temperature]("temp.raw"), aimdb.Ring(16)))
	raw.Source(func(ctx context.Context, p *aimdb.Producer[Temperature]) error { <-ctx.Done(); return nil })
	raw.Tap(func(ctx context.Context, s *aimdb.Subscription[Temperature]) error { return nil })
	raw.Tap(func(ctx context.Context, s *aimdb.Subscription[Temperature]) error { return nil })
	f := aimdbtest.Must[*aimdb.Record[float64]](t)(aimdb.Register(db, aimdb.NewKey[float64]("temp.fahrenheit"), aimdb.Latest()))
	aimdb.Transform(f, raw.Key(), func(v Temperature) (float64, bool) { return v.Celsius*9/5 + 32, true })
	both := aimdbtest.Must[*aimdb.Record[string]](t)(aimdb.Register(db, aimdb.NewKey[string]("temp.both"), aimdb.Mailbox()))
	aimdb.Join2(both, raw.Key(), f.Key(), func(Temperature, float64) (string, bool) { return "", true })
	aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, aimdb.NewKey[int]("config.passive"), aimdb.Latest()))
	return db
}

func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("bad JSON %s: %v", s, err)
	}
	return b.String()
}

func TestGraphJSON(t *testing.T) {
	got, err := json.Marshal(graphDB(t).Graph())
	if err != nil {
		t.Fatal(err)
	}
	want := compactJSON(t, `{
	"nodes": [
		{"key":"temp.raw","origin":"source","buffer_type":"spmc_ring","buffer_capacity":16,"tap_count":2,"has_outbound_link":false},
		{"key":"temp.fahrenheit","origin":{"transform":{"input":"temp.raw"}},"buffer_type":"single_latest","buffer_capacity":null,"tap_count":0,"has_outbound_link":false},
		{"key":"temp.both","origin":{"transform_join":{"inputs":["temp.raw","temp.fahrenheit"]}},"buffer_type":"mailbox","buffer_capacity":null,"tap_count":0,"has_outbound_link":false},
		{"key":"config.passive","origin":"passive","buffer_type":"single_latest","buffer_capacity":null,"tap_count":0,"has_outbound_link":false}
	],
	"edges": [
		{"from":null,"to":"temp.raw","edge_type":"source"},
		{"from":"temp.raw","to":null,"edge_type":{"tap":{"index":0}}},
		{"from":"temp.raw","to":null,"edge_type":{"tap":{"index":1}}},
		{"from":"temp.raw","to":"temp.fahrenheit","edge_type":"transform"},
		{"from":"temp.raw","to":"temp.both","edge_type":"transform_join"},
		{"from":"temp.fahrenheit","to":"temp.both","edge_type":"transform_join"}
	],
	"topo_order": ["temp.raw","temp.fahrenheit","temp.both","config.passive"]
}`)
	if string(got) != want {
		t.Errorf("Graph JSON =\n%s\nwant\n%s", got, want)
	}
}

func TestTopoOrderIsDeterministicAndRespectsInputs(t *testing.T) {
	db := aimdb.New(nil)
	id := func(v int) (int, bool) { return v, true }
	c := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, aimdb.NewKey[int]("c"), aimdb.Latest()))
	b := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, aimdb.NewKey[int]("b"), aimdb.Latest()))
	aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, aimdb.NewKey[int]("a"), aimdb.Latest()))
	aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, aimdb.NewKey[int]("z"), aimdb.Latest()))
	aimdb.Transform(c, b.Key(), id)
	aimdb.Transform(b, aimdb.NewKey[int]("a"), id)
	for range 20 {
		got := db.Graph().TopoOrder
		want := []string{"a", "b", "c", "z"}
		if len(got) != 4 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
			t.Fatalf("TopoOrder = %v; want %v", got, want)
		}
	}
}
