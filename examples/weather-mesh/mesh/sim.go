package mesh

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
)

// The simulated climate. Temperature follows a daily cosine between 12
// and 22 °C that peaks at 15:00, plus weather: a mean-reverting random
// walk (an Ornstein–Uhlenbeck process) with a standard deviation of 1 °C
// and a correlation time of 2 hours, bounded to ±3 standard deviations.
// Relative humidity moves against the daily cycle, between 40 % at 15:00
// and 80 % at 03:00, plus its own walk of 4 %, clamped to 0..100.
const (
	tempMean      = 17.0 // °C
	tempAmplitude = 5.0  // °C
	peakHour      = 15.0
	tempWeather   = 1.0 // °C, standard deviation of the walk
	humMean       = 60.0
	humPerDegree  = 4.0 // % less humidity per °C above the daily mean
	humWeather    = 4.0 // %
	weatherTau    = 2 * time.Hour
	walkBound     = 3.0 // standard deviations
)

// The bounds of every value a Simulator produces, in °C and %.
const (
	MinTemperature = tempMean - tempAmplitude - walkBound*tempWeather // 9 °C
	MaxTemperature = tempMean + tempAmplitude + walkBound*tempWeather // 25 °C
	MinHumidity    = 0.0
	MaxHumidity    = 100.0
)

// A Simulator produces realistic readings of one station: temperature
// around 12–22 °C with a daily cycle peaking mid-afternoon, and relative
// humidity inversely correlated with it, each with random weather on top.
// The readings depend only on the seed and on the times asked for, so a
// VirtualClock makes them reproducible; temperature and humidity have
// separate random streams, so the order in which they are asked for does
// not matter. Times are read in their own location: use local time for a
// local day.
//
// A Simulator is safe for concurrent use.
type Simulator struct {
	mu   sync.Mutex
	temp walk
	hum  walk
}

// NewSimulator returns a simulator whose random streams are seeded with
// seed.
func NewSimulator(seed uint64) *Simulator {
	return &Simulator{
		temp: walk{rng: rand.New(rand.NewPCG(seed, 0x7e3f)), sigma: tempWeather},
		hum:  walk{rng: rand.New(rand.NewPCG(seed, 0x4d1b)), sigma: humWeather},
	}
}

// Temperature returns the temperature at now. Successive calls should
// move forward in time; a call for an earlier time than the previous one
// reuses the weather of then.
func (s *Simulator) Temperature(now time.Time) contracts.Temperature {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := tempMean + daily(now) + s.temp.at(now)
	return contracts.Temperature{Celsius: float32(round(clamp(c, MinTemperature, MaxTemperature))), Timestamp: contracts.Millis(now)}
}

// Humidity returns the relative humidity at now, with the rules of
// Temperature.
func (s *Simulator) Humidity(now time.Time) contracts.Humidity {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := humMean - humPerDegree*daily(now) + s.hum.at(now)
	return contracts.Humidity{Percent: float32(round(clamp(p, MinHumidity, MaxHumidity))), Timestamp: contracts.Millis(now)}
}

// daily returns the daily cycle's deviation from the mean temperature.
func daily(t time.Time) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60 + float64(t.Second())/3600
	return tempAmplitude * math.Cos(2*math.Pi*(h-peakHour)/24)
}

// walk is an Ornstein–Uhlenbeck process sampled at arbitrary times.
type walk struct {
	rng   *rand.Rand
	sigma float64 // stationary standard deviation
	x     float64
	last  time.Time
	begun bool
}

func (w *walk) at(t time.Time) float64 {
	if !w.begun {
		w.begun, w.last = true, t
		w.x = w.bound(w.sigma * w.rng.NormFloat64())
		return w.x
	}
	dt := t.Sub(w.last)
	if dt <= 0 {
		return w.x
	}
	w.last = t
	decay := math.Exp(-float64(dt) / float64(weatherTau))
	w.x = w.bound(w.x*decay + w.sigma*math.Sqrt(1-decay*decay)*w.rng.NormFloat64())
	return w.x
}

func (w *walk) bound(x float64) float64 {
	b := walkBound * w.sigma
	return clamp(x, -b, b)
}

func clamp(x, lo, hi float64) float64 { return min(max(x, lo), hi) }

// round keeps two decimals, as a sensor would report.
func round(x float64) float64 { return math.Round(x*100) / 100 }
