package mesh_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
)

func TestHubConfig(t *testing.T) {
	for _, slots := range []int{-1, contracts.MaxSlot + 2} {
		if err := mesh.Hub(aimdb.New(nil), slots); err == nil {
			t.Errorf("Hub(slots %d) = nil; want an error", slots)
		}
	}
	db := aimdb.New(nil)
	if err := mesh.Hub(db, 0); err != nil {
		t.Fatal(err)
	}
	if got, want := len(db.Records()), 3*mesh.DefaultSlots; got != want {
		t.Errorf("Hub(slots 0) registered %d records; want %d", got, want)
	}
	// Without an MQTT connector the DB refuses to run, naming the links.
	err := db.Validate()
	if err == nil || !strings.Contains(err.Error(), "mqtt://station/+/temperature") {
		t.Errorf("Validate without a connector = %v; want an error naming the link", err)
	}
	for _, tt := range []struct {
		slot     int
		interval time.Duration
	}{{-1, time.Second}, {contracts.MaxSlot + 1, time.Second}, {1, 0}, {1, -time.Second}} {
		if err := mesh.Station(aimdb.New(nil), tt.slot, tt.interval, nil); err == nil {
			t.Errorf("Station(slot %d, interval %v) = nil; want an error", tt.slot, tt.interval)
		}
	}
	if _, err := mesh.HubDialer("http://broker"); err == nil {
		t.Errorf("HubDialer(http://broker) = nil error")
	}
}
