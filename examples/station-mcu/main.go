// Command station-mcu is a sensor station small enough for a
// microcontroller: a source samples an ADC into a ring, a transform turns
// the counts into temperatures (dropping readings from a disconnected
// sensor), and a tap logs every temperature. It prints with println, which
// TinyGo sends to the debug console (semihosting) on a microcontroller and
// Go to stderr elsewhere, so it needs neither fmt nor an operating system.
//
// ci/targets.sh builds it for every target, reports its size, and runs it
// on an emulated Cortex-M3 (TI LM3S6965: 256 KB flash, 64 KB RAM).
package main

import (
	"context"
	"strconv"
	"time"

	"github.com/aimdb-go/aimdb"
)

var (
	// RawADC holds 12-bit ADC counts from a TMP36-style sensor.
	RawADC = aimdb.NewKey[uint16]("sensor.adc.raw")
	// Temperature holds hundredths of a degree Celsius.
	Temperature = aimdb.NewKey[int32]("sensor.temp.centi")
)

// samples stand in for the ADC; 0 is what a disconnected sensor reads.
var samples = []uint16{868, 871, 875, 0, 880, 884, 889, 893}

func main() {
	n, err := run(context.Background(), func(line string) { println(line) })
	if err != nil {
		println("station: error:", err.Error())
		return
	}
	println("station: done,", n, "temperatures")
}

// run wires the station, logs through logf, and returns once the tap has
// seen every valid sample and the DB has shut down.
func run(ctx context.Context, logf func(string)) (int, error) {
	db := aimdb.New(nil)
	raw, err := aimdb.Register(db, RawADC, aimdb.Ring(8))
	if err != nil {
		return 0, err
	}
	temp, err := aimdb.Register(db, Temperature, aimdb.Ring(8))
	if err != nil {
		return 0, err
	}

	raw.Source(func(ctx context.Context, p *aimdb.Producer[uint16]) error {
		for _, s := range samples {
			if err := p.Produce(s); err != nil {
				return err
			}
			if err := p.Clock().Sleep(ctx, 10*time.Millisecond); err != nil {
				return nil // shutting down
			}
		}
		return nil
	}, aimdb.Named("adc"))

	aimdb.Transform(temp, RawADC, func(counts uint16) (int32, bool) {
		// 3.3 V reference, 12 bits; TMP36: 500 mV at 0 °C, 10 mV per °C.
		centiMV := int32(counts) * 330000 / 4096
		return (centiMV - 50000) / 10, counts != 0
	}, aimdb.Named("celsius"))

	want := 0
	for _, s := range samples {
		if s != 0 {
			want++
		}
	}
	seen := make(chan int, 1)
	temp.Tap(func(ctx context.Context, s *aimdb.Subscription[int32]) error {
		n := 0
		for c, err := range s.All(ctx) {
			if err != nil {
				return err
			}
			logf("temp " + centi(c) + " C")
			if n++; n == want {
				seen <- n
			}
		}
		return nil
	}, aimdb.Named("log"))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- db.Run(ctx) }()
	var n int
	select {
	case n = <-seen:
	case err := <-done:
		return 0, err
	}
	cancel()
	return n, <-done
}

// centi formats hundredths as a decimal: 2089 is "20.89", -5 is "-0.05".
func centi(c int32) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	frac := strconv.Itoa(int(c % 100))
	if len(frac) < 2 {
		frac = "0" + frac
	}
	return sign + strconv.Itoa(int(c/100)) + "." + frac
}
