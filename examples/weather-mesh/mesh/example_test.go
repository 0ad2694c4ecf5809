package mesh_test

import (
	"fmt"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
)

// A hub is three record families, one instance of each per station,
// created on the station's first reading.
func ExampleHub() {
	d, err := mesh.HubDialer("mqtt://127.0.0.1:1883") // connects only when the DB runs
	if err != nil {
		panic(err)
	}
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": d}})
	if _, err := mesh.Hub(db, nil); err != nil {
		panic(err)
	}
	for _, f := range db.Families() {
		fmt.Println(f.Template, f.BufferType, f.MaxInstances)
	}
	fmt.Println(len(db.Records()), "records")
	// Output:
	// station.{id}.temperature spmc_ring 20000
	// station.{id}.humidity spmc_ring 20000
	// station.{id}.dew_point spmc_ring 20000
	// 0 records
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
