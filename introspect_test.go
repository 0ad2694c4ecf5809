package aimdb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"testing/synctest"
	"time"

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

func TestRecordMetadataJSON(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := aimdb.New(nil)
		key := aimdb.NewKey[Temperature]("sensor.temp.indoor")
		rec := aimdbtest.Must[*aimdb.Record[Temperature]](t)(aimdb.Register(db, key, aimdb.Ring(4)))
		g := rec.Gauge("temperature", "°C")
		rec.Source(func(ctx context.Context, p *aimdb.Producer[Temperature]) error {
			for _, c := range []float64{20, 22, 21} {
				_ = p.Produce(Temperature{c})
				g.Update(c)
				time.Sleep(time.Second)
			}
			<-ctx.Done()
			return nil
		}, aimdb.Named("sensor"))
		rec.Tap(func(ctx context.Context, s *aimdb.Subscription[Temperature]) error {
			for range s.All(ctx) {
				time.Sleep(10 * time.Millisecond)
			}
			return nil
		})
		aimdbtest.Start(t, db)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		got, err := json.Marshal(db.Records()[0])
		if err != nil {
			t.Fatal(err)
		}
		want := compactJSON(t, `{
			"record_id":0,"record_key":"sensor.temp.indoor","name":"aimdb_test.Temperature",
			"type_id":"github.com/aimdb-go/aimdb_test.Temperature","origin":"source",
			"buffer_type":"spmc_ring","buffer_capacity":4,"producer_count":1,"consumer_count":1,
			"writable":false,"outbound_connector_count":0,"entity":"indoor",
			"produced_count":3,"consumed_count":3,"dropped_count":0,"occupancy":[3,4],
			"stage_profiling":[
				{"stage_type":"source","index":0,"name":"sensor","call_count":3,"total_time_ns":3000000000,
				 "avg_time_ns":1000000000,"min_time_ns":1000000000,"max_time_ns":1000000000,"running":true},
				{"stage_type":"tap","index":0,"call_count":3,"total_time_ns":30000000,
				 "avg_time_ns":10000000,"min_time_ns":10000000,"max_time_ns":10000000,"running":true}
			],
			"signal_stats":[{"signal":"temperature","unit":"°C","count":3,"last":21,"min":20,"max":22,"mean":21}]
		}`)
		if string(got) != want {
			t.Errorf("metadata JSON =\n%s\nwant\n%s", got, want)
		}

		db.ResetStageProfiling()
		db.ResetBufferMetrics()
		m := db.Records()[0]
		if m.ProducedCount != 0 || m.ConsumedCount != 0 || m.Occupancy != [2]int{3, 4} ||
			m.StageProfiling[0].CallCount != 0 || m.SignalStats[0].Count != 0 {
			t.Errorf("after reset: %+v", m)
		}
	})
}

// TestStageProfilingSamples checks that sampled timings extrapolate: 20
// calls of a transform that takes 1ms (virtual) each.
func TestStageProfilingSamples(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := aimdb.New(nil)
		in := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, aimdb.NewKey[int]("p.in"), aimdb.Ring(64)))
		out := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, aimdb.NewKey[int]("p.out"), aimdb.Ring(64)))
		aimdb.Transform(out, in.Key(), func(v int) (int, bool) {
			time.Sleep(time.Millisecond)
			return v, true
		}, aimdb.Named("slow"))
		aimdbtest.Start(t, db)
		for i := range 20 {
			_ = in.Produce(i)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		p := db.Records()[1].StageProfiling[0]
		if p.Name != "slow" || p.CallCount != 20 || p.AvgTimeNs != 1e6 || p.TotalTimeNs != 20e6 ||
			p.MinTimeNs != 1e6 || p.MaxTimeNs != 1e6 {
			t.Errorf("transform profile = %+v; want 20 calls of 1ms", p)
		}
	})
}
