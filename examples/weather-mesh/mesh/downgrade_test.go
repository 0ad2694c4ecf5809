//go:build !js && !wasip1

// This test needs TCP on loopback, which js/wasm and wasip1 do not have:
// the broker listens on 127.0.0.1. The other targets run it.

package mesh_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/connector/mqtt"
	"github.com/aimdb-go/aimdb/connector/mqtt/mqttbroker"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
)

// TestDowngradeOverBroker links a temperature out through a real broker
// with the codecs set to write v1, for a peer that speaks only the old
// contract: a plain MQTT client receives v1 payloads, in JSON and in
// Postcard, and the hub's v1 migration reads them back to the value sent.
func TestDowngradeOverBroker(t *testing.T) {
	url := mqttbroker.Start(t)
	got := mqttbroker.Subscriber(t, url, "old-peer", "old/#")
	d, err := mesh.StationDialer(url, 5)
	if err != nil {
		t.Fatal(err)
	}
	db := newDB(t, d, nil, nil)
	key := contracts.TemperatureKey(5)
	rec, err := aimdb.Register(db, key, aimdb.Ring(10))
	if err != nil {
		t.Fatal(err)
	}
	rec.LinkTo("mqtt://old/json", contracts.TemperatureCodec.As(1), mqtt.QoS(1))
	rec.LinkTo("mqtt://old/postcard", contracts.TemperaturePostcard.As(1), mqtt.QoS(1))
	aimdbtest.Start(t, db)
	sent := contracts.Temperature{Celsius: 21.4, Timestamp: 1754044800000}
	want := map[string][]byte{
		"old/json":     []byte(`{"schema_version":1,"temp":21.4,"timestamp":1754044800000,"unit":"C"}`),
		"old/postcard": {0x01, 0x33, 0x33, 0xab, 0x41, 0x80, 0xb8, 0xde, 0xa9, 0x86, 0x33, 0x01, 'C'},
	}
	// The link connects in the background: produce until both arrive.
	seen := map[string]bool{}
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for len(seen) < len(want) {
		select {
		case m := <-got:
			if !bytes.Equal(m.Payload, want[m.Topic]) {
				t.Fatalf("%s: % x (%q); want % x", m.Topic, m.Payload, m.Payload, want[m.Topic])
			}
			seen[m.Topic] = true
			var back contracts.Temperature
			if m.Topic == "old/json" {
				back, err = contracts.TemperatureCodec.Decode(m.Payload)
			} else {
				back, err = contracts.TemperaturePostcard.Decode(m.Payload)
			}
			if err != nil || back != sent {
				t.Errorf("%s read back as %+v, %v; want %+v", m.Topic, back, err, sent)
			}
		case <-tick.C:
			if err := aimdb.Produce(db, key, sent); err != nil {
				t.Fatal(err)
			}
		case <-deadline:
			t.Fatalf("received %v of %d downgraded payloads", seen, len(want))
		}
	}
}
