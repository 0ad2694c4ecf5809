package sim_test

import (
	"context"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
	"github.com/aimdb-go/aimdb/sim"
	"pgregory.net/rapid"
)

// TestSourceRepeatsSeries runs a simulated temperature source on a
// virtual clock: it must produce, at each tick, exactly the values
// Series gives for the same seed and times, and every one must pass the
// contract.
func TestSourceRepeatsSeries(t *testing.T) {
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	clock := aimdb.NewVirtualClock(start)
	db := aimdb.New(&aimdb.Options{Clock: clock})
	key := aimdb.NewKey[contracts.Temperature]("station.1.temperature")
	rec, err := aimdb.Register(db, key, aimdb.Ring(64))
	if err != nil {
		t.Fatal(err)
	}
	rec.Source(sim.Source[contracts.Temperature](42, time.Minute), aimdb.Named("simulate"))
	s, err := rec.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	aimdbtest.Start(t, db)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	want := sim.Series[contracts.Temperature](42, start, time.Minute, 30)
	for i, w := range want {
		if i > 0 {
			if err := clock.WaitSleepers(ctx, 1); err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Minute)
		}
		got, err := s.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got != w {
			t.Fatalf("value %d = %+v; want %+v, as Series", i, got, w)
		}
		if _, err := contracts.TemperatureCodec.Encode(got); err != nil {
			t.Errorf("value %d: %v", i, err)
		}
	}
}

// TestSeriesPlausible checks, for any seed and step, that simulated
// values are within the model's bounds and the contracts' limits, that
// the same seed repeats them and another seed does not.
func TestSeriesPlausible(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		// At least a minute: values less than a millisecond apart carry
		// one timestamp, so a series of them repeats its first value, and
		// two seeds' first values can be equal.
		step := time.Duration(rapid.Int64Range(int64(time.Minute), int64(6*time.Hour)).Draw(t, "step"))
		start := time.UnixMilli(rapid.Int64Range(1, 4102444800000).Draw(t, "start"))
		temps := sim.Series[contracts.Temperature](seed, start, step, 50)
		hums := sim.Series[contracts.Humidity](seed, start, step, 50)
		for i := range temps {
			if c := temps[i].Celsius; c < contracts.SimMinCelsius || c > contracts.SimMaxCelsius {
				t.Fatalf("temperature %d: %v °C", i, c)
			}
			if _, err := contracts.HumidityCodec.Encode(hums[i]); err != nil {
				t.Fatalf("humidity %d: %v", i, err)
			}
			if ms := contracts.Millis(start.Add(time.Duration(i) * step)); temps[i].Timestamp != ms || hums[i].Timestamp != ms {
				t.Fatalf("value %d stamped %d, %d; want %d", i, temps[i].Timestamp, hums[i].Timestamp, ms)
			}
		}
		again := sim.Series[contracts.Temperature](seed, start, step, 50)
		other := sim.Series[contracts.Temperature](seed+1, start, step, 50)
		same := true
		for i := range temps {
			if again[i] != temps[i] {
				t.Fatalf("value %d differs for the same seed: %+v, %+v", i, again[i], temps[i])
			}
			same = same && other[i] == temps[i]
		}
		if same {
			t.Fatalf("seeds %d and %d gave the same 50 values", seed, seed+1)
		}
	})
}
