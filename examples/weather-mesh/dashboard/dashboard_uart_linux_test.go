package dashboard_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/creack/pty"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx/lite"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
)

// TestDashboardUART: a device serving station mcu1 over AimX on a serial
// line (aimx/lite on a pty, as the station firmware serves its UART) is
// mirrored by the hub; its card shows its readings and dew point, sorts
// after the numbered stations, and is marked UART; a station stored
// without a link keeps its slot badge.
func TestDashboardUART(t *testing.T) {
	dev := aimdb.New(nil)
	temp, err := aimdb.Register(dev, aimdb.NewKey[contracts.Temperature]("station.mcu1.temperature"), aimdb.Ring(8))
	if err != nil {
		t.Fatal(err)
	}
	temp.RemoteAccess(contracts.TemperatureCodec)
	hum, err := aimdb.Register(dev, aimdb.NewKey[contracts.Humidity]("station.mcu1.humidity"), aimdb.Ring(8))
	if err != nil {
		t.Fatal(err)
	}
	hum.RemoteAccess(contracts.HumidityCodec)
	aimdbtest.Start(t, dev)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("pty.Open: %v (the test needs /dev/ptmx)", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- lite.Serve(ctx, dev, ptmx, nil) }()
	t.Cleanup(func() { cancel(); tty.Close(); ptmx.Close(); <-served })

	hub := startMirroringHub(t, "", nil, "serial://"+tty.Name()+"?baud=115200")
	now := time.Now()
	reading(t, hub.db, 1, 21.4, 58.2, now)
	ms := contracts.Millis(now)
	if err := temp.Produce(contracts.Temperature{Celsius: 19.25, Timestamp: ms}); err != nil {
		t.Fatal(err)
	}
	if err := hum.Produce(contracts.Humidity{Percent: 71, Timestamp: ms}); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t)
	if err := chromedp.Do(b.ctx, chromedp.Navigate(hub.url+"/")); err != nil {
		t.Fatal(err)
	}
	card := `.card[data-slot="mcu1"]`
	b.wait("mcu1's temperature", fmt.Sprintf(`(document.querySelector(%q) || {}).textContent === "19.3"`, card+` .metric[data-kind="temperature"] .num`))
	b.wait("mcu1's dew point", fmt.Sprintf(`(document.querySelector(%q) || {}).textContent === %q`, card+` .metric[data-kind="dew_point"] .num`, dew(19.25, 71)))
	b.wait("the cards in order", `[...document.querySelectorAll(".card")].map(c => c.dataset.slot).join() === "1,mcu1"`)
	b.wait("mcu1 marked UART", fmt.Sprintf(`document.querySelector(%q).dataset.via === "uart" && document.querySelector(%q).textContent === "UART"`, card, card+" .badge"))
	if got := b.text(`.card[data-slot="1"] .badge`); got != "slot 1" {
		t.Errorf("station 1's badge = %q; want slot 1 (it arrives over no link)", got)
	}
	// Its record graph shows the serial link it arrives over.
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%q).click(), true`, card))); err != nil {
		t.Fatal(err)
	}
	b.wait("mcu1's record graph with its uart:// links", `[...document.querySelectorAll("#graph .node-link .node-title")].map(n => n.textContent).sort().join() === "uart://station.mcu1.humidity,uart://station.mcu1.temperature"`)
}
