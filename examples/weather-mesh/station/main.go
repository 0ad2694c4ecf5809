// Command station is a simulated weather station: every interval it
// publishes a temperature and a humidity reading for its slot to an MQTT
// broker (or NATS JetStream, with --broker nats://host:port, on
// station.<n>.temperature and station.<n>.humidity), where the hub picks
// them up.
//
//	go run ./examples/weather-mesh/station --broker mqtt://127.0.0.1:1883 --slot 1 [--interval 1s] [--seed n] [-v]
//
// The readings follow a daily cycle (warmest at 15:00 local time) with
// random weather on top; the same seed gives the same weather. Ctrl-C
// shuts it down gracefully, publishing what is still queued.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/internal/cmdline"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
)

func main() { cmdline.Main("station", run) }

// run parses args, wires the station and runs it until ctx ends. Logs go
// to stderr.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("station", flag.ContinueOnError)
	broker := fs.String("broker", "mqtt://127.0.0.1:1883", "broker `URL`: mqtt[s]://[user[:password]@]host[:port], nats://host[:port] (NATS JetStream) or kafka://host[:port][,host[:port]…]")
	slot := fs.Int("slot", 1, "the station's slot `n`: it publishes to station/n/temperature and station/n/humidity")
	interval := fs.Duration("interval", time.Second, "time between readings")
	seed := fs.Uint64("seed", 0, "simulator seed; 0 means the slot number")
	verbose := fs.Bool("v", false, "log every reading")
	if err := cmdline.Parse(fs, args, "station [--broker URL] [--slot n] [--interval d] [--seed n] [-v]", stderr); err != nil {
		return err
	}
	if *slot < 0 || *slot > contracts.MaxSlot {
		return cmdline.Usage(fmt.Errorf("--slot %d: want 0 to %d", *slot, contracts.MaxSlot))
	}
	if *interval <= 0 {
		return cmdline.Usage(fmt.Errorf("--interval %v: want a positive duration", *interval))
	}
	engine, d, err := mesh.StationConnector(*broker, *slot)
	if err != nil {
		return cmdline.Usage(fmt.Errorf("--broker: %w", err))
	}
	s := *seed
	if s == 0 {
		s = uint64(*slot)
	}
	log := cmdline.Logger(stderr, *verbose)

	db := aimdb.New(&aimdb.Options{
		Connectors: map[string]connector.Dialer{string(engine): d},
		Logger:     log,
	})
	if err := mesh.StationOn(db, engine, *slot, *interval, mesh.NewSimulator(s)); err != nil {
		return err
	}
	if *verbose {
		temp, err := aimdb.Lookup(db, contracts.TemperatureKey(*slot))
		if err != nil {
			return err
		}
		temp.Tap(func(ctx context.Context, s *aimdb.Subscription[contracts.Temperature]) error {
			for v, err := range s.All(ctx) {
				if err == nil {
					log.Debug("temperature", "celsius", v.Celsius, "timestamp", v.Timestamp)
				}
			}
			return nil
		}, aimdb.Named("log"))
		hum, err := aimdb.Lookup(db, contracts.HumidityKey(*slot))
		if err != nil {
			return err
		}
		hum.Tap(func(ctx context.Context, s *aimdb.Subscription[contracts.Humidity]) error {
			for v, err := range s.All(ctx) {
				if err == nil {
					log.Debug("humidity", "percent", v.Percent, "timestamp", v.Timestamp)
				}
			}
			return nil
		}, aimdb.Named("log"))
	}

	log.Info("weather station running", "broker", fmt.Sprint(d), "client_id", mesh.ClientName(d),
		"slot", *slot, "interval", *interval, "seed", s)
	return db.Run(ctx)
}
