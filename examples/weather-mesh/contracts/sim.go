package contracts

import (
	"math"
	"time"

	"github.com/aimdb-go/aimdb/contract"
)

// The simulated climate of Simulate. Temperature follows a daily cosine
// between 12 and 22 °C that peaks at 15:00, plus weather: a
// mean-reverting random walk (an Ornstein–Uhlenbeck process) with a
// standard deviation of 1 °C and a correlation time of 2 hours, bounded
// to ±3 standard deviations. Relative humidity moves against the daily
// cycle, between 40 % at 15:00 and 80 % at 03:00, plus its own walk of
// 4 %, clamped to 0..100.
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

// The bounds of every simulated value, in °C and %.
const (
	SimMinCelsius = tempMean - tempAmplitude - walkBound*tempWeather // 9 °C
	SimMaxCelsius = tempMean + tempAmplitude + walkBound*tempWeather // 25 °C
)

// Simulate returns a plausible temperature at time at that follows t, the
// previous reading (the zero Temperature for the first): the daily cycle
// at at, read in at's location, plus the weather walk, continued from
// t's over the time between them (kept as it is when at is not later),
// rounded to two decimals. It makes Temperature a contract.Simulatable:
// sim.Source turns it into a station's source.
func (t Temperature) Simulate(r contract.Rand, at time.Time) Temperature {
	var x float64
	if t.Timestamp == 0 {
		x = bound(tempWeather*r.NormFloat64(), tempWeather)
	} else {
		prev := time.UnixMilli(int64(t.Timestamp)).In(at.Location())
		x = walk(float64(t.Celsius)-tempMean-daily(prev), tempWeather, at.Sub(prev), r)
	}
	c := tempMean + daily(at) + x
	return Temperature{Celsius: float32(round(clamp(c, SimMinCelsius, SimMaxCelsius))), Timestamp: Millis(at)}
}

// Simulate returns a plausible relative humidity at time at that follows
// h, with the rules of Temperature.Simulate: against the daily cycle,
// plus its own walk, clamped to 0..100 %.
func (h Humidity) Simulate(r contract.Rand, at time.Time) Humidity {
	var x float64
	if h.Timestamp == 0 {
		x = bound(humWeather*r.NormFloat64(), humWeather)
	} else {
		prev := time.UnixMilli(int64(h.Timestamp)).In(at.Location())
		x = walk(float64(h.Percent)-humMean+humPerDegree*daily(prev), humWeather, at.Sub(prev), r)
	}
	p := humMean - humPerDegree*daily(at) + x
	return Humidity{Percent: float32(round(clamp(p, 0, 100))), Timestamp: Millis(at)}
}

// daily returns the daily cycle's deviation from the mean temperature.
func daily(t time.Time) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60 + float64(t.Second())/3600
	return tempAmplitude * math.Cos(2*math.Pi*(h-peakHour)/24)
}

// walk steps an Ornstein–Uhlenbeck process of stationary deviation sigma
// from x over dt.
func walk(x, sigma float64, dt time.Duration, r contract.Rand) float64 {
	x = bound(x, sigma)
	if dt <= 0 {
		return x
	}
	decay := math.Exp(-float64(dt) / float64(weatherTau))
	return bound(x*decay+sigma*math.Sqrt(1-decay*decay)*r.NormFloat64(), sigma)
}

func bound(x, sigma float64) float64 {
	b := walkBound * sigma
	return clamp(x, -b, b)
}

func clamp(x, lo, hi float64) float64 { return min(max(x, lo), hi) }

// round keeps two decimals, as a sensor would report.
func round(x float64) float64 { return math.Round(x*100) / 100 }
