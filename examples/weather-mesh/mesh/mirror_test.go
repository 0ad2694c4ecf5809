//go:build !js && !wasip1

package mesh_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/mqtt"
	"github.com/aimdb-go/aimdb/connector/mqtt/mqttbroker"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
)

// TestHubMirrorsDevice: a device serving its station records over AimX
// (as the firmware does on a UART; here over TCP) joins a hub's families
// through a mirror link; the hub derives its dew point and republishes
// its readings on MQTT to another subscriber, without reading them back
// itself; a device station whose id is a slot is refused.
func TestHubMirrorsDevice(t *testing.T) {
	brokerURL := mqttbroker.Start(t)

	dev := aimdb.New(nil)
	temp, err := aimdb.Register(dev, aimdb.NewKey[contracts.Temperature]("station.dev1.temperature"), aimdb.Ring(8))
	if err != nil {
		t.Fatal(err)
	}
	temp.RemoteAccess(contracts.TemperatureCodec)
	hum, err := aimdb.Register(dev, aimdb.NewKey[contracts.Humidity]("station.dev1.humidity"), aimdb.Ring(8))
	if err != nil {
		t.Fatal(err)
	}
	hum.RemoteAccess(contracts.HumidityCodec)
	slot, err := aimdb.Register(dev, aimdb.NewKey[contracts.Temperature]("station.7.temperature"), aimdb.Ring(8))
	if err != nil {
		t.Fatal(err)
	}
	slot.RemoteAccess(contracts.TemperatureCodec)
	aimdbtest.Start(t, dev)
	ln, f, err := aimx.Listen("tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- aimx.NewServer(dev, nil).Serve(ctx, ln, f) }()
	t.Cleanup(func() { cancel(); <-served })

	hd, err := mesh.HubDialer(brokerURL)
	if err != nil {
		t.Fatal(err)
	}
	scheme, md, err := mesh.MirrorConnector("tcp://"+ln.Addr().String(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if scheme != "aimx" {
		t.Errorf("MirrorConnector(tcp://…) scheme %q; want aimx", scheme)
	}
	hub := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": hd, scheme: md}})
	fams, err := mesh.Hub(hub, &mesh.HubOptions{Mirrors: []string{scheme}})
	if err != nil {
		t.Fatal(err)
	}
	dews := subscribeFamily(t, fams.DewPoint)

	sd, err := mqtt.NewDialer(brokerURL, mqtt.Options{ClientID: "mirror-test-subscriber"})
	if err != nil {
		t.Fatal(err)
	}
	sub := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": sd}})
	got, err := aimdb.Register(sub, aimdb.NewKey[contracts.Temperature]("got"), aimdb.Ring(8))
	if err != nil {
		t.Fatal(err)
	}
	got.LinkFrom("mqtt://station/dev1/temperature", contracts.TemperatureCodec)
	gotSub, err := got.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	defer gotSub.Close()
	aimdbtest.Start(t, sub)
	aimdbtest.Start(t, hub)
	connectortest.WaitLink(t, sub, "got", 0, 10*time.Second, "connected", func(md aimdb.LinkMetadata) bool { return md.Connected })
	for deadline := time.Now().Add(10 * time.Second); !mirrorsConnected(hub, scheme); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the hub's mirror links did not connect: %+v", hub.Families())
		}
	}

	const ts uint64 = 1_780_000_000_000
	if err := temp.Produce(contracts.Temperature{Celsius: 21.5, Timestamp: ts}); err != nil {
		t.Fatal(err)
	}
	if err := hum.Produce(contracts.Humidity{Percent: 60, Timestamp: ts}); err != nil {
		t.Fatal(err)
	}
	if err := slot.Produce(contracts.Temperature{Celsius: 3, Timestamp: ts}); err != nil {
		t.Fatal(err)
	}
	if d := dews.next(t, "station.dev1.dew_point"); d != contracts.DewPointOf(contracts.Temperature{Celsius: 21.5, Timestamp: ts}, contracts.Humidity{Percent: 60, Timestamp: ts}) {
		t.Errorf("station.dev1.dew_point = %+v", d)
	}
	rctx, rcancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer rcancel()
	v, err := gotSub.Recv(rctx)
	if err != nil || v.Celsius != 21.5 || v.Timestamp != ts {
		t.Fatalf("an MQTT subscriber of station/dev1/temperature got %+v, %v; want 21.5 °C at %d", v, err, ts)
	}
	for deadline := time.Now().Add(5 * time.Second); hub.Families()[0].Rejected == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("station.7.temperature from the device was not refused")
		}
	}
	if slices.Contains(hub.Keys(), "station.7.temperature") {
		t.Error("the device's station.7.temperature took slot 7")
	}
	for _, r := range hub.Records() {
		if r.RecordKey == "station.dev1.temperature" {
			b, _ := json.Marshal(r)
			t.Logf("%s", b)
		}
	}
	// The republished reading did not come back to the hub: its MQTT
	// link received nothing (no MQTT station published).
	time.Sleep(200 * time.Millisecond)
	for _, f := range hub.Families()[:2] {
		for _, l := range f.Links {
			if l.Protocol == "mqtt" && l.Received != 0 {
				t.Errorf("%s: the hub read back %d of its own republished readings over %s", f.Template, l.Received, l.Address)
			}
		}
	}
}

// mirrorsConnected reports whether the hub's temperature and humidity
// mirror links are connected.
func mirrorsConnected(hub *aimdb.DB, scheme string) bool {
	n := 0
	for _, f := range hub.Families()[:2] {
		for _, l := range f.Links {
			if l.Protocol == scheme && l.Connected {
				n++
			}
		}
	}
	return n == 2
}
