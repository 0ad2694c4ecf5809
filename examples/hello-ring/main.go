// Command hello-ring shows the SPMC ring: a source produces eight
// readings, a tap sees every one, and a subscriber that falls behind a
// ring of capacity 4 is told exactly how many it missed.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/aimdb-go/aimdb"
)

// Temperature is the record's type; the key below makes it the contract.
type Temperature struct {
	Celsius float64
}

var IndoorTemp = aimdb.NewKey[Temperature]("sensor.temp.indoor")

func main() {
	db := aimdb.New(nil)
	temps, err := aimdb.Register(db, IndoorTemp, aimdb.Ring(4))
	if err != nil {
		log.Fatal(err)
	}
	temps.Source(func(ctx context.Context, p *aimdb.Producer[Temperature]) error {
		for i := range 8 {
			if err := p.Produce(Temperature{Celsius: 20 + float64(i)/2}); err != nil {
				return err
			}
			if err := p.Clock().Sleep(ctx, 20*time.Millisecond); err != nil {
				return nil
			}
		}
		return nil
	})
	seen := make(chan struct{})
	temps.Tap(func(ctx context.Context, s *aimdb.Subscription[Temperature]) error {
		n := 0
		for t, err := range s.All(ctx) {
			if err != nil {
				return err
			}
			fmt.Printf("tap: %.1f °C\n", t.Celsius)
			if n++; n == 8 {
				close(seen)
			}
		}
		return nil
	})

	// A subscriber that reads nothing until the source is done.
	slow, err := aimdb.Subscribe(db, IndoorTemp)
	if err != nil {
		log.Fatal(err)
	}
	defer slow.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- db.Run(ctx) }()
	<-seen

	for {
		t, err := slow.TryRecv()
		if lag, ok := errors.AsType[*aimdb.LagError](err); ok {
			fmt.Printf("slow: lagged, missed %d readings\n", lag.Missed)
			continue
		}
		if err != nil {
			break // aimdb.ErrEmpty: caught up
		}
		fmt.Printf("slow: %.1f °C\n", t.Celsius)
	}

	cancel()
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	m := db.Records()[0]
	fmt.Printf("produced %d, dropped %d\n", m.ProducedCount, m.DroppedCount)
}
