//go:build !js && !wasip1 && !tinygo

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/knx/knxtest"
	"github.com/aimdb-go/aimdb/connector/mqtt/mqttbroker"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
)

// TestKNXStation drives the KNX station end to end: knxtool writes a
// temperature (DPT 9.001) and a humidity (DPT 9.007, or 5.001 with
// --humidity-dpt) on knxd's bus, the station reads them through knxd's
// tunnelling server and publishes them on the mesh's broker, the hub
// stores them and derives the dew point, and an AimX client reads both
// from the hub. A truncated telegram is refused and counted.
func TestKNXStation(t *testing.T) {
	for _, tt := range []struct {
		dpt      string
		wire     mesh.Wire
		humidity []byte  // the data octets knxtool writes
		want     float64 // the humidity they encode
	}{
		{"9.007", mesh.JSON, []byte{0x14, 0xe2}, 50}, // E=2, M=1250: 0.01·1250·4
		{"5.001", mesh.JSON, []byte{0x80}, 128 * 100.0 / 255},
		{"9.007", mesh.Postcard, []byte{0x14, 0xe2}, 50},
	} {
		t.Run(tt.dpt+"/"+string(tt.wire), func(t *testing.T) { knxStationTest(t, tt.dpt, tt.wire, tt.humidity, tt.want) })
	}
}

func knxStationTest(t *testing.T, dpt string, wire mesh.Wire, humidity []byte, wantHumidity float64) {
	t.Setenv(aimx.RuntimeDirEnv, t.TempDir())
	k := knxtest.Start(t)
	broker := mqttbroker.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()

	// The hub, with AimX on a Unix socket.
	hd, err := mesh.HubDialer(broker)
	if err != nil {
		t.Fatal(err)
	}
	hub := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": hd}})
	if _, err := mesh.Hub(hub, &mesh.HubOptions{Wire: wire}); err != nil {
		t.Fatal(err)
	}
	sock := "unix://" + filepath.Join(t.TempDir(), "hub.sock")
	srv := aimx.NewServer(hub, nil)
	ln, framing, err := aimx.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() {
		if err := hub.Run(ctx); err != nil {
			t.Error(err)
		}
	})
	wg.Go(func() { _ = srv.Serve(ctx, ln, framing) })

	// The station.
	var log lockedBuffer
	wg.Go(func() {
		args := []string{"--broker", broker, "--id", "7", "--knx", k.URL(), "--humidity-dpt", dpt, "--codec", string(wire)}
		if err := run(ctx, args, &log); err != nil {
			t.Errorf("station: %v; log:\n%s", err, log.String())
		}
	})

	tctx, tcancel := context.WithTimeout(ctx, 20*time.Second)
	defer tcancel()
	c, err := aimx.Dial(tctx, sock, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// KNX keeps no state: write until the station is connected and the
	// hub has derived a dew point.
	var dew contracts.DewPoint
	for {
		k.GroupWrite(t, "9/1/0", 0x0c, 0x1a) // 21 °C
		k.GroupWrite(t, "9/1/1", humidity...)
		if raw, err := c.Get(tctx, contracts.KeyName(7, contracts.KindDewPoint)); err == nil {
			if err := json.Unmarshal(raw, &dew); err != nil {
				t.Fatalf("dew point %s: %v", raw, err)
			}
			break
		}
		select {
		case <-tctx.Done():
			t.Fatalf("no dew point for station 7 at the hub; station log:\n%s", log.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	raw, err := c.Get(tctx, contracts.KeyName(7, contracts.KindTemperature))
	if err != nil {
		t.Fatal(err)
	}
	var temp contracts.Temperature
	if err := json.Unmarshal(raw, &temp); err != nil || temp.Celsius != 21 || temp.Timestamp == 0 {
		t.Errorf("station.7.temperature = %s (%v); want 21 °C with a timestamp", raw, err)
	}
	if !strings.Contains(string(raw), `"schema_version":2`) {
		t.Errorf("station.7.temperature = %s; want schema version 2", raw)
	}
	want := contracts.DewPointOf(contracts.Temperature{Celsius: 21}, contracts.Humidity{Percent: float32(wantHumidity)})
	if math.Abs(float64(dew.Celsius-want.Celsius)) > 1e-4 {
		t.Errorf("dew point %v °C; want %v (21 °C, %v %%)", dew.Celsius, want.Celsius, wantHumidity)
	}

	// A truncated temperature (one octet) is refused and logged; the
	// hub's value stays.
	k.GroupWrite(t, "9/1/0", 0x0c)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(log.String(), "inbound payload failed to decode") {
		if time.Now().After(deadline) {
			t.Fatalf("the station did not report the truncated telegram; log:\n%s", log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, w := range []string{"link=knx://9/1/0", "DPT 9.001: want 2 bytes, have 1"} {
		if !strings.Contains(log.String(), w) {
			t.Errorf("station log lacks %q:\n%s", w, log.String())
		}
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
