// Command hello-mailbox shows the Mailbox: one shared slot where the
// latest command wins. Commands sent while the worker is busy replace each
// other, and each command is taken by exactly one worker.
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/aimdb-go/aimdb"
)

// Command tells an actuator what to do.
type Command struct {
	Action string
	Target int
}

var ValveCmd = aimdb.NewKey[Command]("actuator.valve.cmd")

func main() {
	db := aimdb.New(nil)
	cmds, err := aimdb.Register(db, ValveCmd, aimdb.Mailbox())
	if err != nil {
		log.Fatal(err)
	}
	handled := make(chan Command)
	// Two competing workers: each command goes to exactly one of them.
	for range 2 {
		cmds.Tap(func(ctx context.Context, s *aimdb.Subscription[Command]) error {
			for c, err := range s.All(ctx) {
				if err != nil {
					return err
				}
				handled <- c
			}
			return nil
		})
	}

	// Sent before the DB runs: only the newest survives, and it is still
	// delivered to whichever worker reads first.
	for _, pct := range []int{10, 50, 90} {
		if err := aimdb.Produce(db, ValveCmd, Command{"open", pct}); err != nil {
			log.Fatal(err)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- db.Run(ctx) }()

	c := <-handled
	fmt.Printf("handled: %s %d%%\n", c.Action, c.Target)
	for _, next := range []Command{{"close", 0}, {"open", 25}} {
		if err := aimdb.Produce(db, ValveCmd, next); err != nil {
			log.Fatal(err)
		}
		c := <-handled
		fmt.Printf("handled: %s %d%%\n", c.Action, c.Target)
	}

	cancel()
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	m := db.Records()[0]
	fmt.Printf("produced %d, consumed %d\n", m.ProducedCount, m.ConsumedCount)
}
