//go:build tinygo && lm3s6965

package main

import (
	"context"
	"io"
	"runtime"
	"runtime/volatile"
	"time"
	"unsafe"

	"github.com/aimdb-go/aimdb"
)

// UART0 of the TI LM3S6965, an ARM PL011: the data register, the flag
// register, and the line and control registers that enable its FIFOs,
// transmitter and receiver. QEMU's lm3s6965evb connects it to -serial.
// TinyGo's runtime for this board also writes println to it, so the
// firmware never prints.
const (
	uart0 = 0x4000C000
	fr    = 0x018 // flags
	lcrh  = 0x02C // line control
	cr    = 0x030 // control

	frRXFE = 1 << 4 // receive FIFO empty
	frTXFF = 1 << 5 // transmit FIFO full

	lcrhFEN   = 1 << 4      // FIFOs on
	lcrhWLEN8 = 3 << 5      // 8 data bits
	crEnable  = 1<<0 | 3<<8 // UARTEN, TXE, RXE
)

func reg(addr uintptr) *volatile.Register32 {
	return (*volatile.Register32)(unsafe.Pointer(addr))
}

// pl011 reads and writes UART0 by polling, yielding to the DB's
// goroutines while it waits.
type pl011 struct{}

func uart() io.ReadWriter {
	reg(uart0 + lcrh).Set(lcrhFEN | lcrhWLEN8)
	reg(uart0 + cr).Set(crEnable)
	return pl011{}
}

func (pl011) Read(p []byte) (int, error) {
	for reg(uart0+fr).Get()&frRXFE != 0 {
		tick()
		runtime.Gosched()
	}
	n := 0
	for n < len(p) && reg(uart0+fr).Get()&frRXFE == 0 {
		p[n] = byte(reg(uart0).Get())
		n++
	}
	return n, nil
}

func (pl011) Write(p []byte) (int, error) {
	for _, b := range p {
		for reg(uart0+fr).Get()&frTXFF != 0 {
			runtime.Gosched()
		}
		reg(uart0).Set(uint32(b))
	}
	return len(p), nil
}

// The SysTick timer, counting down from 2^24-1 at the core clock: TinyGo's
// runtime for this board has no timer (its sleeps return at once), so the
// firmware keeps time with it. tick must run at least once per wrap
// (1.3 s at 12.5 MHz); the UART's wait loop and every Sleep call it.
const (
	systCSR = 0xE000E010
	systRVR = 0xE000E014
	systCVR = 0xE000E018
	// The core clock after reset as QEMU's lm3s6965evb models it: the
	// 200 MHz PLL divided by the reset value of RCC's SYSDIV (16). With
	// 12 MHz the firmware's clock ran 4 % fast against the host's.
	coreHz = 12_500_000
)

var (
	lastCVR uint32
	ticks   uint64
)

func init() {
	reg(systRVR).Set(1<<24 - 1)
	reg(systCVR).Set(0)
	reg(systCSR).Set(1<<0 | 1<<2) // enabled, core clock, no interrupt
	lastCVR = reg(systCVR).Get()
}

// tick folds the ticks since the last call into ticks. The scheduler is
// cooperative on one core: no lock is needed.
func tick() uint64 {
	c := reg(systCVR).Get() & (1<<24 - 1)
	ticks += uint64((lastCVR - c) & (1<<24 - 1))
	lastCVR = c
	return ticks
}

// sysTick is the DB's clock on the chip: time since boot, as Unix time
// from 1970 (the chip has no clock of the day).
type sysTick struct{}

func (sysTick) Now() time.Time {
	t := tick()
	return time.Unix(int64(t/coreHz), int64(t%coreHz)*1000/(coreHz/1_000_000))
}

func (c sysTick) Sleep(ctx context.Context, d time.Duration) error {
	until := c.Now().Add(d)
	for c.Now().Before(until) {
		if err := ctx.Err(); err != nil {
			return err
		}
		runtime.Gosched()
	}
	return ctx.Err()
}

func clock() aimdb.Clock { return sysTick{} }

// logf drops the line: println would go to UART0, into the protocol.
func logf(string) {}
