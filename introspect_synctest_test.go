//go:build !tinygo

package aimdb_test

// TinyGo has no testing/synctest: the tests in this file run in a synctest
// bubble, on virtual time, so they run on the gc targets only.

import (
	"context"
	"encoding/json"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
)

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
