//go:build !js && !wasip1

package mesh_test

import (
	"errors"
	"runtime"
	"testing"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/connector/mqtt/mqttbroker"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
)

// TestHubTenThousandStations writes one temperature for each of 10 000
// station ids into a hub with its default bounds, in process
// (aimdb.Produce on the instance keys: 10 000 MQTT round trips are too
// slow on a small CI machine under -race), and reports what a station
// costs.
func TestHubTenThousandStations(t *testing.T) {
	const stations = 10_000
	d, err := mesh.HubDialer(mqttbroker.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	db := newDB(t, d, nil, nil)
	if _, err := mesh.Hub(db, nil); err != nil {
		t.Fatal(err)
	}
	aimdbtest.Start(t, db)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for n := range stations {
		id := 50_000 + n // ids no slot pool ever had
		if err := aimdb.Produce(db, contracts.TemperatureKey(id), contracts.Temperature{Celsius: 20, Timestamp: 1}); err != nil {
			t.Fatalf("station %d: %v", id, err)
		}
		if err := aimdb.Produce(db, contracts.HumidityKey(id), contracts.Humidity{Percent: 50, Timestamp: 1}); err != nil {
			t.Fatalf("station %d: %v", id, err)
		}
	}
	if err := db.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	for _, f := range db.Families() {
		if f.Instances != stations || f.Refused != 0 {
			t.Errorf("%s: %d instances, %d refused; want %d, 0", f.Template, f.Instances, f.Refused, stations)
		}
	}
	// A station's readings have an inbound link as their writer and its
	// dew point a join: remote writes are refused whatever the server's
	// policy (AimX answers ErrHasWriter with "denied").
	for _, k := range []contracts.Kind{contracts.KindTemperature, contracts.KindHumidity, contracts.KindDewPoint} {
		key := contracts.KeyName(50_000, k)
		rr, err := db.Remote(key)
		if err != nil {
			t.Fatal(err)
		}
		if err := rr.Set([]byte(`{"schema_version":2,"celsius":1,"timestamp":2,"percent":1}`)); !rr.HasWriter() || !errors.Is(err, aimdb.ErrHasWriter) {
			t.Errorf("%s: HasWriter %v, remote Set = %v; want true, ErrHasWriter", key, rr.HasWriter(), err)
		}
	}
	perStation := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / stations
	t.Logf("%d stations (3 records each, 2 readings and a dew point): %d bytes of heap per station", stations, perStation)
	if perStation > 64<<10 {
		t.Errorf("a station costs %d bytes; want at most 64 KiB", perStation)
	}
}
