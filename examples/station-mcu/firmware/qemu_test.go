//go:build qemu_e2e

// The end-to-end test of the firmware on the emulated LM3S6965; ci/targets.sh
// (target tinygo-cortexm) builds the firmware and runs it:
//
//	tinygo build -stack-size=3KB -tags heapstat -target=cortex-m-qemu-debian -o firmware.elf ./examples/station-mcu/firmware
//	AIMDB_FIRMWARE_ELF=firmware.elf go test -tags qemu_e2e -run OnQEMU ./examples/station-mcu/firmware
//
// The heapstat build adds the heap's figures to every humidity reading
// (heapstat.go); the test checks from them that the heap does not grow.

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
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
	const readings = 20
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	endpoint, _ := bootQEMU(t, ctx)

	// Bytes that reach the UART while the chip boots are lost: the first
	// hello may go unanswered, as after any reset; a client dials again.
	var c *aimx.Client
	var err error
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
	// record.list is the deepest request: it checks that the chip's 2 KB
	// goroutine stacks still hold it (an overflow crashes the chip).
	rows, err := c.Records(ctx)
	if err != nil {
		t.Fatalf("record.list: %v", err)
	}
	var keys []string
	for _, r := range rows {
		keys = append(keys, r.RecordKey)
	}
	slices.Sort(keys)
	if want := []string{"station.mcu1.humidity", "station.mcu1.temperature"}; !slices.Equal(keys, want) {
		t.Errorf("record.list: %v; want %v", keys, want)
	}
	raw, err := c.Get(ctx, "station.mcu1.temperature")
	if err != nil {
		t.Fatalf("record.get: %v", err)
	}
	if v, err := contracts.TemperatureCodec.Decode(raw); err != nil || v.Celsius < 5 || v.Celsius > 30 {
		t.Errorf("record.get station.mcu1.temperature = %s: %+v, %v; want the contract's payload, 5 to 30 °C", raw, v, err)
	}
	if _, err := c.Get(ctx, "station.mcu1.nope"); !errors.Is(err, aimx.ErrNotFound) {
		t.Errorf("record.get of a key the chip does not have: %v; want not_found", err)
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
	heap := make(chan heapStats, 64)
	hums.LinkFrom("mcu://station.{id}.humidity", statCodec{contracts.HumidityCodec, heap})

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
	for len(arrivals) < readings {
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
	for _, f := range hub.Families() {
		if md := f.Links[0]; md.Lost != 0 || md.DecodeErrors != 0 {
			t.Errorf("%s link %+v: want nothing lost, nothing refused", f.Template, md)
		}
	}
	checkHeap(t, heap)
}

// bootQEMU starts qemu-system-arm with the firmware of AIMDB_FIRMWARE_ELF,
// UART0 on a pty, and returns the pty's serial:// endpoint and when qemu
// started (the chip boots after it). qemu stops with ctx or the test.
func bootQEMU(t *testing.T, ctx context.Context) (string, time.Time) {
	t.Helper()
	elf := os.Getenv("AIMDB_FIRMWARE_ELF")
	if elf == "" {
		t.Fatal("AIMDB_FIRMWARE_ELF names no firmware (ci/targets.sh tinygo-cortexm builds it)")
	}
	qemu := tooltest.Path(t, "qemu-system-arm")
	cmd := exec.CommandContext(ctx, qemu, "-M", "lm3s6965evb", "-display", "none", "-monitor", "none", "-serial", "pty", "-kernel", elf)
	out, err := cmd.StdoutPipe() // "char device redirected to /dev/pts/N"
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	started := time.Now()
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
	return "serial://" + pts + "?baud=115200", started
}

// heapStats are the heap figures of a heapstat build's humidity reading.
type heapStats struct {
	LiveHeap   *uint64 `json:"live_heap"`
	Mallocs    *uint64 `json:"mallocs"`
	AllocBytes *uint64 `json:"alloc_bytes"`
	Timestamp  uint64  `json:"timestamp"`
}

// statCodec decodes humidity with the contract's codec and passes the
// reading's heap figures on.
type statCodec struct {
	aimdb.Codec[contracts.Humidity]
	out chan<- heapStats
}

func (c statCodec) Decode(payload []byte) (contracts.Humidity, error) {
	v, err := c.Codec.Decode(payload)
	if err == nil {
		var h heapStats
		if json.Unmarshal(payload, &h) == nil {
			select {
			case c.out <- h:
			default:
			}
		}
	}
	return v, err
}

// checkHeap: after start-up (the first three readings) the live heap
// does not grow. The collector is conservative (a stale word on a stack
// keeps a block alive), so the live heap wobbles by a few blocks; a
// leak raises its floor: the smallest live heap of the second half of
// the readings must not exceed the largest of the first half.
func checkHeap(t *testing.T, heap <-chan heapStats) {
	var hs []heapStats
	for len(heap) > 0 {
		hs = append(hs, <-heap)
	}
	if len(hs) < 8 {
		t.Fatalf("%d humidity readings with heap figures; want at least 8", len(hs))
	}
	if hs[0].LiveHeap == nil || hs[0].Mallocs == nil || hs[0].AllocBytes == nil {
		t.Fatal("the humidity readings carry no heap figures: build the firmware with -tags heapstat")
	}
	hs = hs[3:]
	lo, hi := uint64(1<<63), uint64(0)
	floor, peak := lo, hi
	for i, h := range hs {
		lo, hi = min(lo, *h.LiveHeap), max(hi, *h.LiveHeap)
		if i < len(hs)/2 {
			peak = max(peak, *h.LiveHeap)
		} else {
			floor = min(floor, *h.LiveHeap)
		}
	}
	first, last := hs[0], hs[len(hs)-1]
	secs := float64(last.Timestamp-first.Timestamp) / 1000
	t.Logf("mcu1 heap after start-up, %d readings over %.0f s: live heap %d to %d bytes (first half's peak %d, second half's floor %d); %.1f allocations/s, %.0f bytes allocated/s, all collected",
		len(hs), secs, lo, hi, peak, floor,
		float64(*last.Mallocs-*first.Mallocs)/secs, float64(*last.AllocBytes-*first.AllocBytes)/secs)
	if floor > peak {
		t.Errorf("the live heap grew after start-up: the first half's peak is %d bytes, the second half's floor %d bytes", peak, floor)
	}
}
