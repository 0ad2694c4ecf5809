package aimdb_test

import (
	"context"
	"fmt"
	"slices"

	"github.com/aimdb-go/aimdb"
)

// A family of records, one per station, created on their first write; a
// derived family joins two families station by station.
func ExampleRegisterFamily() {
	var (
		temp = aimdb.NewFamily[float64]("station.{id}.temperature")
		hum  = aimdb.NewFamily[float64]("station.{id}.humidity")
		dew  = aimdb.NewFamily[float64]("station.{id}.dew_point")
	)
	db := aimdb.New(nil)
	_, _ = aimdb.RegisterFamily(db, temp, aimdb.Latest(), aimdb.MaxInstances(100))
	_, _ = aimdb.RegisterFamily(db, hum, aimdb.Latest(), aimdb.MaxInstances(100))
	dews, _ := aimdb.RegisterFamily(db, dew, aimdb.Ring(16), aimdb.MaxInstances(100))
	// A rough dew point: temperature − (100 − relative humidity) / 5.
	aimdb.JoinFamily2(dews, temp, hum, func(t, h float64) (float64, bool) { return t - (100-h)/5, true })
	sub := dews.Subscribe()
	defer sub.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = db.Run(ctx); close(done) }()
	<-db.Started()

	// The first write to an instance key creates the instance. In a real
	// deployment, a LinkFrom("mqtt://station/{id}/temperature", …) does
	// the writing.
	_ = aimdb.Produce(db, temp.Instance("7"), 20.0)
	_ = aimdb.Produce(db, hum.Instance("7"), 60.0)
	_ = aimdb.Produce(db, temp.Instance("4711"), 25.0)
	_ = aimdb.Produce(db, hum.Instance("4711"), 80.0)

	var lines []string
	for range 2 {
		inst, v, _ := sub.Recv(ctx)
		lines = append(lines, fmt.Sprintf("%s (id=%s): %.1f °C", inst.Key, inst.Captures["id"], v))
	}
	slices.Sort(lines) // the two stations are served in either order
	for _, l := range lines {
		fmt.Println(l)
	}
	for _, f := range db.Families() {
		fmt.Printf("%s: %d of %d instances\n", f.Template, f.Instances, f.MaxInstances)
	}
	cancel()
	<-done
	// Output:
	// station.4711.dew_point (id=4711): 21.0 °C
	// station.7.dew_point (id=7): 12.0 °C
	// station.{id}.temperature: 2 of 100 instances
	// station.{id}.humidity: 2 of 100 instances
	// station.{id}.dew_point: 2 of 100 instances
}
