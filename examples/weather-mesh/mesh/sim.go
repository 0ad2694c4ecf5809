package mesh

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
)

// The bounds of every value a Simulator produces, in °C and %.
const (
	MinTemperature = contracts.SimMinCelsius // 9 °C
	MaxTemperature = contracts.SimMaxCelsius // 25 °C
	MinHumidity    = 0.0
	MaxHumidity    = 100.0
)

// A Simulator produces realistic readings of one station from the
// contracts' own model (contracts.Temperature.Simulate and
// contracts.Humidity.Simulate, contract.Simulatable): temperature around
// 12–22 °C with a daily cycle peaking mid-afternoon, and relative
// humidity inversely correlated with it, each with random weather on top.
// The readings depend only on the seed and on the times asked for, so a
// VirtualClock makes them reproducible; temperature and humidity have
// separate random streams, so the order in which they are asked for does
// not matter. Times are read in their own location: use local time for a
// local day.
//
// A Simulator is safe for concurrent use.
type Simulator struct {
	mu         sync.Mutex
	trng, hrng *rand.Rand
	temp       contracts.Temperature
	hum        contracts.Humidity
}

// NewSimulator returns a simulator whose random streams are seeded with
// seed.
func NewSimulator(seed uint64) *Simulator {
	return &Simulator{
		trng: rand.New(rand.NewPCG(seed, 0x7e3f)),
		hrng: rand.New(rand.NewPCG(seed, 0x4d1b)),
	}
}

// Temperature returns the temperature at now. Successive calls should
// move forward in time; a call for an earlier time than the previous one
// keeps the weather of then.
func (s *Simulator) Temperature(now time.Time) contracts.Temperature {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.temp = s.temp.Simulate(s.trng, now)
	return s.temp
}

// Humidity returns the relative humidity at now, with the rules of
// Temperature.
func (s *Simulator) Humidity(now time.Time) contracts.Humidity {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hum = s.hum.Simulate(s.hrng, now)
	return s.hum
}
