package mesh_test

import (
	"fmt"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
)

// A hub of two slots: three records per slot, and one inbound link per
// measurement on slot 0's records that feeds the whole pool.
func ExampleHub() {
	d, err := mesh.HubDialer("mqtt://127.0.0.1:1883") // connects only when the DB runs
	if err != nil {
		panic(err)
	}
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": d}})
	if err := mesh.Hub(db, 2); err != nil {
		panic(err)
	}
	for _, md := range db.Records() {
		fmt.Print(md.RecordKey)
		for _, l := range md.Links {
			fmt.Print(" ← ", l.Address)
		}
		fmt.Println()
	}
	// Output:
	// station.0.temperature ← mqtt://station/+/temperature
	// station.0.humidity ← mqtt://station/+/humidity
	// station.0.dew_point
	// station.1.temperature
	// station.1.humidity
	// station.1.dew_point
}

// A seeded simulator gives the same readings for the same times, so a
// VirtualClock makes a station reproducible.
func ExampleSimulator() {
	sim := mesh.NewSimulator(42)
	day := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	for _, h := range []int{3, 9, 15, 21} {
		at := day.Add(time.Duration(h) * time.Hour)
		t, rh := sim.Temperature(at), sim.Humidity(at)
		fmt.Printf("%02d:00 %5.2f °C %5.2f %%\n", h, t.Celsius, rh.Percent)
	}
	// Output:
	// 03:00 11.18 °C 83.30 %
	// 09:00 16.15 °C 59.53 %
	// 15:00 22.03 °C 38.79 %
	// 21:00 16.15 °C 51.33 %
}
