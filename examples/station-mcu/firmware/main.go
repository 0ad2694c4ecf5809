// Command firmware is the weather station as microcontroller firmware: it
// samples a simulated sensor, derives the temperature and humidity
// records of the weather mesh's contract (the same types, keys and
// simulation as the Go station), and serves them over AimX 3.0 on UART0
// with COBS framing (package aimx/lite). A hub links them with a mirror
// link, serial:///dev/ttyX, into its station family:
//
//	station.mcu1.temperature   {"schema_version":2,"celsius":21.4,"timestamp":12000}
//	station.mcu1.humidity      {"percent":58.2,"timestamp":12000}
//
// The chip has no clock of the day: timestamps are milliseconds since
// boot.
//
// On the emulated TI LM3S6965 (qemu-system-arm -M lm3s6965evb) UART0 is a
// PL011 driven through runtime/volatile (chip_lm3s6965.go); built for a
// computer, the firmware serves on its standard input and output instead.
//
// Build it with 3 KB goroutine stacks: TinyGo's 2 KB default for the part
// overflows on record.list, silently corrupting the heap or locking the
// chip up (docs/PLATFORMS.md):
//
//	tinygo build -target=cortex-m-qemu -stack-size=3KB -o firmware.elf ./examples/station-mcu/firmware
//	qemu-system-arm -M lm3s6965evb -display none -monitor none -serial pty -kernel firmware.elf
package main

import (
	"context"
	"errors"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx/lite"
)

// Station is the station id of the firmware's records.
const Station = "mcu1"

// Period is the sampling period.
const Period = time.Second

var boot = clock().Now()

func main() {
	db := build()
	ctx := context.Background()
	go func() {
		if err := db.Run(ctx); err != nil {
			logf("firmware: run: " + err.Error())
		}
	}()
	logf("firmware: serving AimX 3.0 as station " + Station)
	if err := lite.Serve(ctx, db, uart(), &lite.Options{Server: "aimdb-station-mcu"}); err != nil {
		logf("firmware: serve: " + err.Error())
	}
}

// Temperature and Humidity are the mesh contract's payloads
// (examples/weather-mesh/contracts), written by hand: the contract's
// codecs use encoding/json decoding, which does not fit the chip.
type (
	Temperature struct {
		Celsius   float32
		Timestamp uint64 // milliseconds since boot
	}
	Humidity struct {
		Percent   float32
		Timestamp uint64
	}
)

// The records' remote-access codecs: the contract's JSON, encode only
// (the records are read-only over AimX).
type (
	temperatureJSON struct{}
	humidityJSON    struct{}
)

func (temperatureJSON) Encode(t Temperature) ([]byte, error) {
	b := append(make([]byte, 0, 64), `{"schema_version":2,"celsius":`...)
	b = strconv.AppendFloat(b, float64(t.Celsius), 'f', 2, 32)
	b = append(b, `,"timestamp":`...)
	return append(strconv.AppendUint(b, t.Timestamp, 10), '}'), nil
}

func (temperatureJSON) Decode([]byte) (Temperature, error) { return Temperature{}, errReadOnly }

func (humidityJSON) Encode(h Humidity) ([]byte, error) {
	b := append(make([]byte, 0, 48), `{"percent":`...)
	b = strconv.AppendFloat(b, float64(h.Percent), 'f', 1, 32)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendUint(b, h.Timestamp, 10)
	return append(appendHeap(b), '}'), nil
}

// appendHeap appends members describing the heap to a humidity payload:
// none, unless the firmware is built with -tags heapstat (heapstat.go).
var appendHeap = func(b []byte) []byte { return b }

func (humidityJSON) Decode([]byte) (Humidity, error) { return Humidity{}, errReadOnly }

var errReadOnly = errors.New("firmware: the records are read-only")

// build registers the station's records and their simulated sources: a
// daily cycle (12 to 22 °C, peaking 15:00 of a day that lasts Day) plus a
// bounded random walk, and a humidity that moves against it.
func build() *aimdb.DB {
	db := aimdb.New(&aimdb.Options{Clock: clock()})
	temp, err := aimdb.Register(db, aimdb.NewKey[Temperature]("station."+Station+".temperature"), aimdb.Ring(8))
	check(err)
	hum, err := aimdb.Register(db, aimdb.NewKey[Humidity]("station."+Station+".humidity"), aimdb.Ring(8))
	check(err)
	temp.RemoteAccess(temperatureJSON{})
	hum.RemoteAccess(humidityJSON{})
	rng := newRand(0x5eed)
	var walk float64
	temp.Source(func(ctx context.Context, p *aimdb.Producer[Temperature]) error {
		return every(ctx, p.Clock(), func(at time.Time) error {
			walk = clamp(0.9*walk+0.3*rng.NormFloat64(), -3, 3)
			c := 17 + 5*daily(at) + walk
			return p.Produce(Temperature{Celsius: float32(math.Round(c*100) / 100), Timestamp: uptime(at)})
		})
	}, aimdb.Named("thermometer"))
	hum.Source(func(ctx context.Context, p *aimdb.Producer[Humidity]) error {
		return every(ctx, p.Clock(), func(at time.Time) error {
			h := clamp(60-20*daily(at)-4*walk+2*rng.NormFloat64(), 0, 100)
			return p.Produce(Humidity{Percent: float32(math.Round(h*10) / 10), Timestamp: uptime(at)})
		})
	}, aimdb.Named("hygrometer"))
	return db
}

// Day is how long the simulated day lasts.
const Day = 10 * time.Minute

// daily is the daily cycle at at, from -1 (03:00) to 1 (15:00).
func daily(at time.Time) float64 {
	f := float64(at.Sub(boot)%Day) / float64(Day)
	return math.Cos(2 * math.Pi * (f - 15.0/24))
}

// clamp compares rather than calling min and max: TinyGo lowers those to
// LLVM intrinsics that a soft-float Cortex-M3 build cannot compile.
func clamp(x, lo, hi float64) float64 {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}

// every calls f once per Period until ctx ends.
func every(ctx context.Context, c aimdb.Clock, f func(time.Time) error) error {
	for {
		if err := f(c.Now()); err != nil {
			return err
		}
		if c.Sleep(ctx, Period) != nil {
			return nil
		}
	}
}

// uptime is at in milliseconds since boot.
func uptime(at time.Time) uint64 { return uint64(at.Sub(boot).Milliseconds()) }

func check(err error) {
	if err != nil {
		panic(err)
	}
}

// rand is a xorshift generator with Box–Muller normals: the simulation's
// randomness (contract.Rand), without math/rand's tables.
type rand struct{ s uint64 }

func newRand(seed uint64) *rand { return &rand{s: seed | 1} }

func (r *rand) next() uint64 {
	r.s ^= r.s << 13
	r.s ^= r.s >> 7
	r.s ^= r.s << 17
	return r.s
}

// Uint64 returns 64 random bits.
func (r *rand) Uint64() uint64 { return r.next() }

// Float64 returns a value in [0, 1).
func (r *rand) Float64() float64 { return float64(r.next()>>11) / (1 << 53) }

// NormFloat64 returns a standard normal value.
func (r *rand) NormFloat64() float64 {
	u := 1 - r.Float64() // (0, 1]: the logarithm is finite
	return math.Sqrt(-2*math.Log(u)) * math.Cos(2*math.Pi*r.Float64())
}

var _ io.ReadWriter = uart()
