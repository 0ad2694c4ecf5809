//go:build qemu_e2e

package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/mqtt"
	"github.com/aimdb-go/aimdb/connector/mqtt/mqttbroker"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
	"github.com/aimdb-go/aimdb/internal/chromiumtest"
)

// TestHubChainOnQEMU runs the whole chain a user runs: the firmware on
// the emulated chip, the weather hub (the real command) linking it with
// --mcu serial://… into its station families, and the reading reaching
// an MQTT subscriber on the hub's broker, an AimX client of the hub, and
// the dashboard in Chromium, whose card for mcu1 is marked UART. Each
// link of the chain is checked on its own, so a failure names the link
// that broke.
func TestHubChainOnQEMU(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	endpoint, started := bootQEMU(t, ctx)
	brokerURL := mqttbroker.Start(t)

	// The MQTT subscriber: a DB of its own on the hub's broker.
	sd, err := mqtt.NewDialer(brokerURL, mqtt.Options{ClientID: "chain-subscriber"})
	if err != nil {
		t.Fatal(err)
	}
	sub := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": sd}})
	mqttTemp, err := aimdb.Register(sub, aimdb.NewKey[contracts.Temperature]("mcu1.temperature"), aimdb.Ring(64))
	if err != nil {
		t.Fatal(err)
	}
	mqttTemp.LinkFrom("mqtt://station/mcu1/temperature", contracts.TemperatureCodec)
	mqttSub, err := mqttTemp.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	defer mqttSub.Close()
	subCtx, stopSub := context.WithCancel(ctx)
	subDone := make(chan error, 1)
	go func() { subDone <- sub.Run(subCtx) }()
	defer func() { stopSub(); <-subDone }()
	connectortest.WaitLink(t, sub, "mcu1.temperature", 0, 10*time.Second, "connected", func(md aimdb.LinkMetadata) bool { return md.Connected })

	// The hub, as a user starts it.
	aimxAddr, httpAddr := freeAddr(t), freeAddr(t)
	hubLog := startHubCommand(t, ctx, "--broker", brokerURL, "--mcu", endpoint,
		"--aimx", "tcp://"+aimxAddr, "--http", httpAddr)

	// MQTT: the hub republishes mcu1's readings.
	rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
	defer rcancel()
	first, err := mqttSub.Recv(rctx)
	if err != nil {
		t.Fatalf("no temperature of mcu1 reached an MQTT subscriber of station/mcu1/temperature: %v\nhub log:\n%s", err, hubLog)
	}
	type arrival struct {
		ts uint64
		at time.Time
	}
	arrivals := []arrival{{first.Timestamp, time.Now()}}
	for len(arrivals) < 6 {
		v, err := mqttSub.Recv(rctx)
		if err != nil {
			t.Fatalf("%d temperatures of mcu1 over MQTT, then %v", len(arrivals), err)
		}
		arrivals = append(arrivals, arrival{v.Timestamp, time.Now()})
	}

	// AimX: the hub's client sees the three records of mcu1 and a live
	// dew point.
	c, err := aimx.Dial(ctx, "tcp://"+aimxAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rows, err := c.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range rows {
		if strings.HasPrefix(r.RecordKey, "station.mcu1.") {
			keys = append(keys, r.RecordKey)
		}
	}
	slices.Sort(keys)
	if want := []string{"station.mcu1.dew_point", "station.mcu1.humidity", "station.mcu1.temperature"}; !slices.Equal(keys, want) {
		t.Errorf("the hub's record.list has %v for mcu1; want %v", keys, want)
	}
	dews, err := c.Subscribe(ctx, "station.mcu1.dew_point")
	if err != nil {
		t.Fatal(err)
	}
	defer dews.Close()
	ectx, ecancel := context.WithTimeout(ctx, 10*time.Second)
	defer ecancel()
	ev, err := dews.Next(ectx)
	if err != nil {
		t.Fatalf("no dew point of mcu1 over the hub's AimX: %v", err)
	}
	dew, err := contracts.DewPointCodec.Decode(ev.Data)
	if err != nil || dew.Timestamp == 0 {
		t.Errorf("station.mcu1.dew_point over AimX: %s, %v", ev.Data, err)
	}

	// The dashboard: a card for mcu1, marked as arriving over a UART.
	bctx := chromiumtest.Open(t, time.Minute, t.Errorf)
	if _, err := chromedp.Run(bctx, chromedp.Navigate("http://"+httpAddr+"/")); err != nil {
		t.Fatal(err)
	}
	card := `.card[data-slot="mcu1"]`
	cond := fmt.Sprintf(`(() => { const c = document.querySelector(%q); return !!c && c.dataset.via === "uart" &&
		c.querySelector(".badge").textContent === "UART" && /^-?\d+\.\d$/.test(c.querySelector('.metric[data-kind="temperature"] .num').textContent); })()`, card)
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		text, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("stations").textContent`))
		t.Fatalf("the dashboard shows no UART card for mcu1 with a temperature: %v; cards: %q", err, text)
	}

	// The chip's clock counts from its boot, a few milliseconds after
	// qemu's start: arrival − (qemu's start + timestamp) is each
	// reading's latency, give or take the boot time and the drift of the
	// emulated clock (a few milliseconds over a test).
	var lat []time.Duration
	for _, a := range arrivals {
		lat = append(lat, a.at.Sub(started.Add(time.Duration(a.ts)*time.Millisecond)))
	}
	slices.Sort(lat)
	t.Logf("mcu1 → UART → hub → MQTT subscriber: firmware timestamp to arrival over %d readings, the chip's boot taken as qemu's start: median %v, max %v",
		len(lat), lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startHubCommand builds examples/weather-mesh/hub and runs it with args
// until the test ends; the returned log holds its output.
func startHubCommand(t *testing.T, ctx context.Context, args ...string) *syncBuffer {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hub")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/aimdb-go/aimdb/examples/weather-mesh/hub")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build the hub: %v\n%s", err, out)
	}
	log := &syncBuffer{}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("the hub did not stop within 10 s of an interrupt; log:\n%s", log)
		}
	})
	return log
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
