// Command hello-latest shows SingleLatest: the record keeps only its
// newest value, and a subscriber that arrives late still gets it once.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/aimdb-go/aimdb"
)

// Config is the application's live configuration.
type Config struct {
	SampleRateHz int
	Unit         string
}

var AppConfig = aimdb.NewKey[Config]("app.config.current")

func main() {
	db := aimdb.New(nil)
	cfg, err := aimdb.Register(db, AppConfig, aimdb.Latest())
	if err != nil {
		log.Fatal(err)
	}
	early, err := cfg.Subscribe()
	if err != nil {
		log.Fatal(err)
	}
	defer early.Close()

	// Three updates before anyone reads: intermediate values collapse.
	for _, hz := range []int{1, 5, 10} {
		if err := aimdb.Produce(db, AppConfig, Config{SampleRateHz: hz, Unit: "celsius"}); err != nil {
			log.Fatal(err)
		}
	}
	ctx := context.Background()
	c, _ := early.Recv(ctx)
	fmt.Printf("early subscriber: %d Hz\n", c.SampleRateHz)
	if _, err := early.TryRecv(); errors.Is(err, aimdb.ErrEmpty) {
		fmt.Println("early subscriber: nothing new")
	}

	// A subscriber that arrives now receives the current value once.
	late, err := aimdb.Subscribe(db, AppConfig)
	if err != nil {
		log.Fatal(err)
	}
	defer late.Close()
	c, _ = late.Recv(ctx)
	fmt.Printf("late subscriber: %d Hz\n", c.SampleRateHz)

	// Peek reads the current value without consuming anything.
	if c, ok := cfg.Peek(); ok {
		fmt.Printf("peek: %d Hz in %s\n", c.SampleRateHz, c.Unit)
	}
	m := db.Records()[0]
	fmt.Printf("produced %d, consumed %d, dropped %d\n", m.ProducedCount, m.ConsumedCount, m.DroppedCount)
}
