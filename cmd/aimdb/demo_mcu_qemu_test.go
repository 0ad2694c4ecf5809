//go:build qemu_e2e

package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/internal/tooltest"
)

// TestDemoMCU runs `demo --mcu` with TinyGo and qemu-system-arm
// installed: the firmware is built (or reused from the cache), booted,
// and station mcu1 joins the hub with its dew point; a second demo
// reuses the firmware. ci/targets.sh (target tinygo-cortexm) runs it:
//
//	go test -tags qemu_e2e -run TestDemoMCU ./cmd/aimdb
func TestDemoMCU(t *testing.T) {
	tooltest.Path(t, "qemu-system-arm")
	tooltest.Path(t, "tinygo")
	for run := 1; run <= 2; run++ {
		cfg := freeDemo(t, 1)
		cfg.mcu = true
		d := startTestDemo(t, cfg)
		if d.mcu == nil {
			t.Fatalf("run %d: no microcontroller: %s", run, d.noMCU)
		}
		if run == 2 && d.mcu.built {
			t.Errorf("the second demo built the firmware again; want it reused")
		}
		var banner bytes.Buffer
		d.banner(&banner)
		if !strings.Contains(banner.String(), "microcontroller station mcu1: firmware on an emulated TI LM3S6965") {
			t.Errorf("run %d: banner:\n%s", run, banner.String())
		}
		for deadline := time.Now().Add(30 * time.Second); !hasKey(d, "station.mcu1.dew_point"); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("run %d: station mcu1 never joined the hub: %v", run, d.hub.Keys())
			}
		}
		if err := d.stop(); err != nil {
			t.Error(err)
		}
	}
}
