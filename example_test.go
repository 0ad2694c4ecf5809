package aimdb_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aimdb-go/aimdb"
)

type Reading struct {
	Celsius float64
}

var (
	IndoorTemp  = aimdb.NewKey[Reading]("sensor.temp.indoor")
	IndoorTempF = aimdb.NewKey[float64]("sensor.temp_f.indoor")
)

func ExampleRegister() {
	db := aimdb.New(nil)
	temps, err := aimdb.Register(db, IndoorTemp, aimdb.Ring(16))
	if err != nil {
		fmt.Println(err)
		return
	}
	sub, _ := temps.Subscribe()
	defer sub.Close()

	_ = aimdb.Produce(db, IndoorTemp, Reading{21.5})
	v, _ := sub.Recv(context.Background())
	fmt.Println(v.Celsius)
	// Output: 21.5
}

func ExampleTransform() {
	db := aimdb.New(nil)
	aimdb.Register(db, IndoorTemp, aimdb.Ring(16))
	f, _ := aimdb.Register(db, IndoorTempF, aimdb.Latest())
	// Map and filter: drop implausible readings, convert the rest.
	aimdb.Transform(f, IndoorTemp, func(r Reading) (float64, bool) {
		return r.Celsius*9/5 + 32, r.Celsius > -50
	})
	sub, _ := f.Subscribe()
	defer sub.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- db.Run(ctx) }()
	<-db.Started()

	_ = aimdb.Produce(db, IndoorTemp, Reading{-273})
	_ = aimdb.Produce(db, IndoorTemp, Reading{20})
	v, _ := sub.Recv(ctx)
	fmt.Println(v)
	cancel()
	fmt.Println(<-done)
	// Output:
	// 68
	// <nil>
}

func ExampleJoin2() {
	type Humidity struct{ Percent float64 }
	hum := aimdb.NewKey[Humidity]("sensor.humidity.indoor")
	comfort := aimdb.NewKey[string]("room.comfort.indoor")

	db := aimdb.New(nil)
	aimdb.Register(db, IndoorTemp, aimdb.Latest())
	aimdb.Register(db, hum, aimdb.Latest())
	c, _ := aimdb.Register(db, comfort, aimdb.Latest())
	aimdb.Join2(c, IndoorTemp, hum, func(t Reading, h Humidity) (string, bool) {
		return fmt.Sprintf("%.0f°C at %.0f%%", t.Celsius, h.Percent), true
	})
	sub, _ := c.Subscribe()
	defer sub.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- db.Run(ctx) }()
	<-db.Started()

	_ = aimdb.Produce(db, IndoorTemp, Reading{22})
	_ = aimdb.Produce(db, hum, Humidity{45}) // now both inputs have a value
	v, _ := sub.Recv(ctx)
	fmt.Println(v)
	cancel()
	<-done
	// Output: 22°C at 45%
}

func ExampleSubscription_All() {
	db := aimdb.New(nil)
	temps, _ := aimdb.Register(db, IndoorTemp, aimdb.Ring(2))
	sub, _ := temps.Subscribe()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- db.Run(ctx) }()
	<-db.Started()
	for i := range 4 {
		_ = temps.Produce(Reading{float64(i)})
	}
	cancel() // shutdown closes the record; the subscription drains, then ends
	<-done

	for v, err := range sub.All(context.Background()) {
		if lag, ok := errors.AsType[*aimdb.LagError](err); ok {
			fmt.Println("missed", lag.Missed)
			continue
		}
		fmt.Println(v.Celsius)
	}
	// Output:
	// missed 2
	// 2
	// 3
}

func ExampleDB_Validate() {
	db := aimdb.New(nil)
	f, _ := aimdb.Register(db, IndoorTempF, aimdb.Latest())
	aimdb.Transform(f, aimdb.NewKey[int]("sensor.temp.indoor"), func(c int) (float64, bool) { return float64(c), true })
	aimdb.Register(db, IndoorTemp, aimdb.Ring(0))

	err := db.Validate()
	var ice *aimdb.InvalidConfigError
	if errors.As(err, &ice) {
		for _, e := range ice.Errors {
			fmt.Println(e)
		}
	}
	// Output:
	// record "sensor.temp.indoor": ring capacity 0 is less than 1
	// record "sensor.temp_f.indoor": .Transform() input "sensor.temp.indoor" has type aimdb_test.Reading, but the function takes int
}

func ExampleVirtualClock() {
	clock := aimdb.NewVirtualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	db := aimdb.New(&aimdb.Options{Clock: clock})
	temps, _ := aimdb.Register(db, IndoorTemp, aimdb.Ring(8))
	temps.Source(func(ctx context.Context, p *aimdb.Producer[Reading]) error {
		for i := 0; ; i++ {
			if p.Clock().Sleep(ctx, time.Hour) != nil {
				return nil
			}
			_ = p.Produce(Reading{float64(i)})
		}
	})
	sub, _ := temps.Subscribe()
	defer sub.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- db.Run(ctx) }()
	for range 3 { // three simulated hours, instantly
		_ = clock.WaitSleepers(ctx, 1)
		clock.AdvanceToNext()
		v, _ := sub.Recv(ctx)
		fmt.Println(clock.Now().Format("15:04"), v.Celsius)
	}
	cancel()
	<-done
	// Output:
	// 01:00 0
	// 02:00 1
	// 03:00 2
}
