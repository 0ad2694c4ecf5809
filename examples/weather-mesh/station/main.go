// Command station is a weather station: it publishes a temperature and a
// humidity reading for its slot to an MQTT broker (or NATS JetStream,
// with --broker nats://host:port, on station.<n>.temperature and
// station.<n>.humidity, or Kafka), where the hub picks them up and
// derives the dew point. By default it simulates them; with --knx it
// reads them from a KNX bus through a KNXnet/IP tunnelling gateway, as
// AimDB's weather-station-knx does, and publishes them on MQTT.
//
//	go run ./examples/weather-mesh/station --broker mqtt://127.0.0.1:1883 --slot 1 [--interval 1s] [--seed n] [-v]
//	go run ./examples/weather-mesh/station --broker mqtt://127.0.0.1:1883 --id 7 --knx udp://192.168.1.19:3671 \
//		[--temperature-ga 9/1/0] [--humidity-ga 9/1/1] [--humidity-dpt 9.007|5.001]
//
// Simulated readings follow a daily cycle (warmest at 15:00 local time)
// with random weather on top; the same seed gives the same weather. A KNX
// station publishes each GroupValueWrite of the temperature group address
// (DPT 9.001) and of the humidity group address (DPT 9.007, or 5.001) as
// it arrives; telegrams that do not decode are refused, logged and
// counted. Ctrl-C shuts it down gracefully, publishing what is still
// queued.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/knx"
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
	fs.IntVar(slot, "id", 1, "the same as --slot: the station `id` in the mesh (a slot number)")
	knxGW := fs.String("knx", "", "read the readings from a KNX bus through the KNXnet/IP tunnelling gateway at this `URL` (udp://host[:port]), or by routing (multicast://224.0.23.12?iface=name), instead of simulating them")
	tempGA := fs.String("temperature-ga", "9/1/0", "with --knx: the temperature's group `address` (DPT 9.001)")
	humGA := fs.String("humidity-ga", "9/1/1", "with --knx: the humidity's group `address`")
	humDPT := fs.String("humidity-dpt", "9.007", "with --knx: the humidity's datapoint `type`, 9.007 or 5.001")
	interval := fs.Duration("interval", time.Second, "time between readings")
	seed := fs.Uint64("seed", 0, "simulator seed; 0 means the slot number")
	verbose := fs.Bool("v", false, "log every reading")
	codecName := fs.String("codec", "json", "the payloads: `json` or postcard (for a hub with the same --codec)")
	if err := cmdline.Parse(fs, args, "station [--broker URL] [--slot n] [--interval d] [--seed n] [--codec json|postcard] [--knx URL [--temperature-ga a] [--humidity-ga a] [--humidity-dpt t]] [-v]", stderr); err != nil {
		return err
	}
	wire, err := mesh.ParseWire(*codecName)
	if err != nil {
		return cmdline.Usage(fmt.Errorf("--codec: %w", err))
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

	connectors := map[string]connector.Dialer{string(engine): d}
	var kd *knx.Dialer
	var humCodec aimdb.Codec[float64]
	if *knxGW != "" {
		if engine != mesh.MQTT {
			return cmdline.Usage(fmt.Errorf("--knx: a KNX station publishes on MQTT, not %s", engine))
		}
		if kd, err = knx.NewDialer(*knxGW, &knx.Options{Logger: log}); err != nil {
			return cmdline.Usage(fmt.Errorf("--knx: %w", err))
		}
		for name, ga := range map[string]string{"--temperature-ga": *tempGA, "--humidity-ga": *humGA} {
			if _, err := knx.ParseGroupAddress(ga); err != nil {
				return cmdline.Usage(fmt.Errorf("%s: %w", name, err))
			}
		}
		if humCodec, err = humidityCodec(*humDPT); err != nil {
			return cmdline.Usage(fmt.Errorf("--humidity-dpt %w", err))
		}
		connectors["knx"] = kd
	}
	db := aimdb.New(&aimdb.Options{
		Connectors: connectors,
		Logger:     log,
	})
	if kd != nil {
		if err := knxStation(db, *slot, *tempGA, *humGA, humCodec, wire); err != nil {
			return err
		}
	} else if err := mesh.StationWith(db, *slot, mesh.StationOptions{Interval: *interval, Simulator: mesh.NewSimulator(s), Wire: wire, Engine: engine}); err != nil {
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

	if kd != nil {
		log.Info("weather station running", "broker", fmt.Sprint(d), "client_id", mesh.ClientName(d),
			"slot", *slot, "knx", kd.String(), "temperature_ga", *tempGA, "humidity_ga", *humGA, "humidity_dpt", *humDPT)
	} else {
		log.Info("weather station running", "broker", fmt.Sprint(d), "client_id", mesh.ClientName(d),
			"slot", *slot, "interval", *interval, "seed", s)
	}
	return db.Run(ctx)
}
