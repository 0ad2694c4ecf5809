package mesh_test

import (
	"math"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
	"pgregory.net/rapid"
)

// The simulator stays within physical bounds, whatever the seed, the
// start time and the steps between readings (including none and going
// back), and stamps each reading with its time.
func TestSimulatorBounds(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		sim := mesh.NewSimulator(rapid.Uint64().Draw(t, "seed"))
		now := time.UnixMilli(rapid.Int64Range(0, 4102444800000).Draw(t, "start")) // up to 2100
		steps := rapid.SliceOfN(rapid.Int64Range(-int64(time.Hour), int64(72*time.Hour)), 1, 300).Draw(t, "steps")
		for i, d := range steps {
			now = now.Add(time.Duration(d))
			if now.Before(time.Unix(0, 0)) {
				now = time.Unix(0, 0)
			}
			temp, hum := sim.Temperature(now), sim.Humidity(now)
			if !(temp.Celsius >= mesh.MinTemperature && temp.Celsius <= mesh.MaxTemperature) || math.IsNaN(float64(temp.Celsius)) {
				t.Fatalf("step %d at %v: temperature %v outside %v..%v", i, now, temp.Celsius, mesh.MinTemperature, mesh.MaxTemperature)
			}
			if !(hum.Percent >= 0 && hum.Percent <= 100) {
				t.Fatalf("step %d at %v: humidity %v outside 0..100", i, now, hum.Percent)
			}
			if ms := uint64(now.UnixMilli()); temp.Timestamp != ms || hum.Timestamp != ms {
				t.Fatalf("step %d: timestamps %d, %d; want %d", i, temp.Timestamp, hum.Timestamp, ms)
			}
			// Every reading is a valid payload.
			if _, err := contracts.HumidityCodec.Encode(hum); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			if _, err := contracts.TemperatureCodec.Encode(temp); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
	})
}

// Readings depend on the seed and the times only, not on the order in
// which temperature and humidity are asked for.
func TestSimulatorDeterministic(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		n := rapid.IntRange(1, 50).Draw(t, "n")
		a, b := mesh.NewSimulator(seed), mesh.NewSimulator(seed)
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var ta, tb []contracts.Temperature
		var ha, hb []contracts.Humidity
		for i := range n {
			at := start.Add(time.Duration(i) * 5 * time.Minute)
			ta = append(ta, a.Temperature(at))
			ha = append(ha, a.Humidity(at))
		}
		for i := range n {
			hb = append(hb, b.Humidity(start.Add(time.Duration(i)*5*time.Minute)))
		}
		for i := range n {
			tb = append(tb, b.Temperature(start.Add(time.Duration(i)*5*time.Minute)))
		}
		for i := range n {
			if ta[i] != tb[i] || ha[i] != hb[i] {
				t.Fatalf("reading %d differs with the call order: %+v %+v vs %+v %+v", i, ta[i], ha[i], tb[i], hb[i])
			}
		}
	})
}

// Over a month, afternoons are warmer and drier than nights, and the
// temperature stays around 12–22 °C.
func TestSimulatorDailyCycle(t *testing.T) {
	sim := mesh.NewSimulator(1)
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	var sumT, sumH [24]float64
	var count [24]int
	var all float64
	n := 0
	for at := start; at.Before(start.AddDate(0, 1, 0)); at = at.Add(10 * time.Minute) {
		h := at.Hour()
		tv, hv := float64(sim.Temperature(at).Celsius), float64(sim.Humidity(at).Percent)
		sumT[h] += tv
		sumH[h] += hv
		count[h]++
		all += tv
		n++
	}
	meanT := func(h int) float64 { return sumT[h] / float64(count[h]) }
	meanH := func(h int) float64 { return sumH[h] / float64(count[h]) }
	if d := meanT(15) - meanT(3); d < 8 {
		t.Errorf("15:00 is %.1f °C warmer than 03:00 on average; want about 10", d)
	}
	if d := meanH(3) - meanH(15); d < 30 {
		t.Errorf("03:00 is %.1f %% more humid than 15:00 on average; want about 40", d)
	}
	warmest := 0
	for h := range 24 {
		if meanT(h) > meanT(warmest) {
			warmest = h
		}
	}
	if warmest < 13 || warmest > 17 {
		t.Errorf("warmest hour %d:00; want mid-afternoon", warmest)
	}
	if m := all / float64(n); m < 16 || m > 18 {
		t.Errorf("mean temperature %.1f °C; want about 17", m)
	}
}
