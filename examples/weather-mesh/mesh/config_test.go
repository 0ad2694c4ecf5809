package mesh_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
)

func TestHubConfig(t *testing.T) {
	for _, o := range []mesh.HubOptions{{MaxStations: -1}, {IdleEviction: -time.Second}} {
		if _, err := mesh.Hub(aimdb.New(nil), &o); err == nil {
			t.Errorf("Hub(%+v) = nil; want an error", o)
		}
	}
	db := aimdb.New(nil)
	if _, err := mesh.Hub(db, nil); err != nil {
		t.Fatal(err)
	}
	// Families, no records: a station's records appear with its first
	// reading.
	if got := len(db.Records()); got != 0 {
		t.Errorf("Hub registered %d records; want 0", got)
	}
	var tmpls []string
	for _, f := range db.Families() {
		tmpls = append(tmpls, f.Template)
		if f.MaxInstances != mesh.DefaultMaxStations {
			t.Errorf("%s: MaxInstances %d; want %d", f.Template, f.MaxInstances, mesh.DefaultMaxStations)
		}
	}
	if want := []string{"station.{id}.temperature", "station.{id}.humidity", "station.{id}.dew_point"}; !slices.Equal(tmpls, want) {
		t.Errorf("families %v; want %v", tmpls, want)
	}
	// Without an MQTT connector the DB refuses to run, naming the links.
	err := db.Validate()
	if err == nil || !strings.Contains(err.Error(), "mqtt://station/{id}/temperature") {
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
