package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDemoMCUMissingTools: without qemu-system-arm, or with it but
// without TinyGo, `demo --mcu` says in one line what to install, and the
// rest of the demo runs.
func TestDemoMCUMissingTools(t *testing.T) {
	fakeQEMU := t.TempDir()
	if err := os.WriteFile(filepath.Join(fakeQEMU, "qemu-system-arm"), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path, want string
	}{
		{t.TempDir(), "qemu-system-arm is not installed (Debian, Ubuntu: apt-get install qemu-system-arm)"},
		{fakeQEMU, "TinyGo is not installed (from a checkout: bash ci/tinygo/install-tinygo.sh DIR"},
	} {
		t.Setenv("PATH", tt.path)
		cfg := freeDemo(t, 1)
		cfg.mcu = true
		d := startTestDemo(t, cfg)
		if !strings.HasPrefix(d.noMCU, tt.want) || strings.Contains(d.noMCU, "\n") {
			t.Errorf("PATH=%s: the reason is %q; want one line starting %q", tt.path, d.noMCU, tt.want)
		}
		var banner bytes.Buffer
		d.banner(&banner)
		if !strings.Contains(banner.String(), "microcontroller not running: "+tt.want) {
			t.Errorf("the banner does not say why the microcontroller is not running:\n%s", banner.String())
		}
		for deadline := time.Now().Add(10 * time.Second); !hasKey(d, "station.1.dew_point"); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("PATH=%s: the rest of the demo does not run: no station.1.dew_point", tt.path)
			}
		}
		if err := d.stop(); err != nil {
			t.Error(err)
		}
	}
}

func TestDemoMCUFirmwareNeedsMCU(t *testing.T) {
	cfg := freeDemo(t, 1)
	cfg.mcuELF = "fw.elf"
	if err := cfg.check(); err == nil || !strings.Contains(err.Error(), "--mcu-firmware fw.elf: give --mcu too") {
		t.Errorf("check = %v; want --mcu-firmware refused without --mcu", err)
	}
}

// hasKey reports whether the demo's hub holds the record key.
func hasKey(d *demo, key string) bool {
	return slices.Contains(d.hub.Keys(), key)
}
