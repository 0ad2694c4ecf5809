//go:build qemu_e2e

// The end-to-end test of the firmware on the emulated LM3S6965; ci/targets.sh
// (target tinygo-cortexm) builds the firmware and runs it:
//
//	AIMDB_FIRMWARE_ELF=firmware.elf go test -tags qemu_e2e -run TestFirmwareOnQEMU ./examples/station-mcu/firmware

package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/mirror"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
	"github.com/aimdb-go/aimdb/internal/tooltest"
)

// TestFirmwareOnQEMU boots the firmware with UART0 on a pty and links it
// into a hub's station families with serial:// mirror links, decoded by
// the mesh's contract codecs, as the weather hub does.
func TestFirmwareOnQEMU(t *testing.T) {
	elf := os.Getenv("AIMDB_FIRMWARE_ELF")
	if elf == "" {
		t.Fatal("AIMDB_FIRMWARE_ELF names no firmware (ci/targets.sh tinygo-cortexm builds it)")
	}
	qemu := tooltest.Path(t, "qemu-system-arm")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, "-M", "lm3s6965evb", "-display", "none", "-monitor", "none", "-serial", "pty", "-kernel", elf)
	out, err := cmd.StdoutPipe() // "char device redirected to /dev/pts/N"
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pts := ""
	sc := bufio.NewScanner(out)
	for pts == "" && sc.Scan() {
		if m := regexp.MustCompile(`/dev/pts/\d+`).FindString(sc.Text()); m != "" {
			pts = m
		}
	}
	if pts == "" {
		t.Fatal("qemu printed no pty for serial0")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	endpoint := "serial://" + pts + "?baud=115200"

	// Bytes that reach the UART while the chip boots are lost: the first
	// hello may go unanswered, as after any reset; a client dials again.
	var c *aimx.Client
	for try := 1; c == nil; try++ {
		c, err = aimx.Dial(ctx, endpoint, &aimx.ClientOptions{NoReconnect: true, DialTimeout: 3 * time.Second})
		if err != nil && try == 5 {
			t.Fatal(err)
		}
	}
	rtt, err := c.Ping(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()

	d, err := mirror.NewDialer(endpoint, nil)
	if err != nil {
		t.Fatal(err)
	}
	hub := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mcu": d}})
	temps, err := aimdb.RegisterFamily(hub, aimdb.NewFamily[contracts.Temperature]("station.{id}.temperature"), aimdb.Ring(64), aimdb.MaxInstances(8))
	if err != nil {
		t.Fatal(err)
	}
	temps.LinkFrom("mcu://station.{id}.temperature", contracts.TemperatureCodec)
	hums, err := aimdb.RegisterFamily(hub, aimdb.NewFamily[contracts.Humidity]("station.{id}.humidity"), aimdb.Latest(), aimdb.MaxInstances(8))
	if err != nil {
		t.Fatal(err)
	}
	hums.LinkFrom("mcu://station.{id}.humidity", contracts.HumidityCodec)

	type arrival struct {
		ts uint64
		at time.Time
	}
	got := make(chan arrival, 64)
	temps.Tap(func(ctx context.Context, s *aimdb.FamilySubscription[contracts.Temperature]) error {
		for {
			in, v, err := s.Recv(ctx)
			if err != nil {
				return nil
			}
			if in.Captures["id"] == "mcu1" {
				got <- arrival{v.Timestamp, time.Now()}
			}
		}
	})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- hub.Run(runCtx) }()
	defer func() { stop(); <-done }()

	var arrivals []arrival
	for len(arrivals) < 6 {
		select {
		case a := <-got:
			arrivals = append(arrivals, a)
		case <-ctx.Done():
			t.Fatalf("%d temperatures from mcu1 before the deadline; families %+v", len(arrivals), hub.Families())
		}
	}
	for i := 1; i < len(arrivals); i++ {
		if step := arrivals[i].ts - arrivals[i-1].ts; step < 900 || step > 1100 {
			t.Errorf("firmware timestamps %d then %d: want one reading per second", arrivals[i-1].ts, arrivals[i].ts)
		}
	}
	h, err := hums.Instance("mcu1")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := h.Peek(); !ok || v.Percent < 0 || v.Percent > 100 {
		t.Errorf("station.mcu1.humidity = %+v, %v", v, ok)
	}
	// The chip's clock counts from boot: the offset between its
	// timestamp and the arrival is constant up to the latency, so the
	// spread of the offsets is the latency beyond the fastest reading.
	var spread []time.Duration
	base := arrivals[0].at.Sub(time.UnixMilli(int64(arrivals[0].ts)))
	for _, a := range arrivals {
		off := a.at.Sub(time.UnixMilli(int64(a.ts)))
		base = min(base, off)
		spread = append(spread, off)
	}
	for i := range spread {
		spread[i] -= base
	}
	slices.Sort(spread)
	t.Logf("mcu1 over the emulated UART: ping round trip %v; firmware timestamp to hub, beyond the fastest of %d readings: median %v, max %v",
		rtt.Round(time.Microsecond), len(spread), spread[len(spread)/2].Round(time.Microsecond), spread[len(spread)-1].Round(time.Microsecond))
	if md := hub.Families()[0].Links[0]; md.Lost != 0 || md.DecodeErrors != 0 {
		t.Errorf("temperature link %+v: want nothing lost, nothing refused", md)
	}
}
