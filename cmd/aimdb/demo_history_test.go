package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
)

// TestDemoRemembers runs the demo with --data, stops it, and starts it
// again on the same directory with no station: the dew point answers
// record get at once, and record.query shows the same history.
func TestDemoRemembers(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := freeDemo(t, 2)
	cfg.data = dir
	d := startTestDemo(t, cfg)
	var banner bytes.Buffer
	d.banner(&banner)
	if !strings.Contains(banner.String(), filepath.Join(dir, "aimdb.db")) {
		t.Errorf("the banner does not name the history file:\n%s", banner.String())
	}
	c := dialHub(t, ctx, d.aimx[0])
	waitDew(t, ctx, c, 2)
	for { // a few dew points stored
		hist, err := c.Query(ctx, aimx.QueryParams{Pattern: contracts.DewPointKey(1).Name(), Start: new(uint64(0))})
		if err != nil {
			t.Fatal(err)
		}
		if len(hist.Records) >= 3 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("only %d dew points stored", len(hist.Records))
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := os.Stat(filepath.Join(dir, "aimdb.db")); err != nil {
		t.Fatal(err)
	}

	cfg2 := freeDemo(t, 0)
	cfg2.data = dir
	d2, err := startDemo(context.Background(), cfg2, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer d2.stop()
	defer waitConnected(t, ctx, d2.hub)
	c2 := dialHub(t, ctx, d2.aimx[0])
	got, err := aimx.Get(ctx, c2, contracts.DewPointKey(1))
	if err != nil {
		t.Fatalf("record get of the dew point right after restart: %v", err)
	}
	hist, err := c2.Query(ctx, aimx.QueryParams{Pattern: contracts.DewPointKey(1).Name(), Limit: new(uint64(1000)), Order: "desc"})
	if err != nil || len(hist.Records) < 3 {
		t.Fatalf("history after restart: %d rows, %v; want at least 3", len(hist.Records), err)
	}
	newest, err := contracts.DewPointCodec.Decode(hist.Records[0].Payload)
	if err != nil {
		t.Fatal(err)
	}
	if newest != got {
		t.Errorf("record get after restart = %+v, want the newest stored dew point %+v", got, newest)
	}
	// Both hub families of readings came back too.
	for _, k := range []string{contracts.TemperatureKey(2).Name(), contracts.HumidityKey(2).Name()} {
		if _, err := c2.Get(ctx, k); err != nil {
			t.Errorf("record get %s after restart: %v", k, err)
		}
	}
}

func TestDemoMemoryBanner(t *testing.T) {
	b, history, err := openHistory("")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	d := &demo{history: history, aimx: []string{DefaultEndpoint}}
	var banner bytes.Buffer
	d.banner(&banner)
	if b.Name() != "memory" || !strings.Contains(banner.String(), "in memory only") {
		t.Errorf("backend %s; the banner does not say history is in memory only:\n%s", b.Name(), banner.String())
	}
}

// waitConnected waits until the hub's MQTT links are connected, so that
// stopping the demo does not close the broker while the hub connects.
func waitConnected(t *testing.T, ctx context.Context, hub *aimdb.DB) {
	t.Helper()
	for {
		for _, m := range hub.Records() {
			for _, l := range m.Links {
				if l.State == aimdb.LinkConnected {
					return
				}
			}
		}
		select {
		case <-ctx.Done():
			t.Fatal("the hub's links never connected")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func dialHub(t *testing.T, ctx context.Context, ep string) *aimx.Client {
	t.Helper()
	c, err := aimx.Dial(ctx, ep, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
