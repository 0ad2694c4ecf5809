package mesh

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector/mqtt"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
)

// stationRing is the capacity of a station's records, as upstream.
const stationRing = 10

// StationClientID returns the MQTT client id of the station in slot n,
// weather-station-<n>.
func StationClientID(n int) string { return "weather-station-" + strconv.Itoa(n) }

// StationDialer returns the MQTT dialer of the station in slot n for the
// broker URL (see HubDialer), with client id weather-station-<n>.
func StationDialer(broker string, slot int) (*mqtt.Dialer, error) {
	return mqtt.NewDialer(broker, mqtt.Options{ClientID: StationClientID(slot)})
}

// Station registers in db the records of the simulated station in slot
// n, station.<n>.temperature and station.<n>.humidity (rings of 10), each
// with a source that takes a reading from sim every interval, starting at
// once, on the DB's clock. The records are linked out to
// mqtt://station/<n>/temperature and mqtt://station/<n>/humidity with
// QoS 1 and retain off, and opened for remote access.
//
// sim nil means NewSimulator(uint64(slot)). db must have an MQTT
// connector under the "mqtt" scheme (see StationDialer). Station fails if
// slot is outside 0..contracts.MaxSlot or interval is not positive.
func Station(db *aimdb.DB, slot int, interval time.Duration, sim *Simulator) error {
	return StationWith(db, slot, StationOptions{Interval: interval, Simulator: sim})
}

// StationOn is Station on engine e: on NATS the records are linked out
// to the JetStream subjects station.<n>.temperature and
// station.<n>.humidity, with the same JSON payloads (see
// StationConnector).
func StationOn(db *aimdb.DB, e Engine, slot int, interval time.Duration, sim *Simulator) error {
	return StationWith(db, slot, StationOptions{Interval: interval, Simulator: sim, Engine: e})
}

// StationOptions configure StationWith.
type StationOptions struct {
	Interval  time.Duration // between readings; required
	Simulator *Simulator    // nil: NewSimulator(uint64(slot))
	Wire      Wire          // the payloads' encoding; default JSON
	Engine    Engine        // the message engine; default MQTT
}

// StationWith is Station with options: with Wire Postcard the station
// publishes Postcard payloads, for a hub with the same Wire; with an
// Engine other than MQTT it publishes there (see StationOn).
func StationWith(db *aimdb.DB, slot int, o StationOptions) error {
	interval, sim, e := o.Interval, o.Simulator, o.Engine
	if e == "" {
		e = MQTT
	}
	tc, hc, err := o.Wire.codecs()
	if err != nil {
		return err
	}
	if slot < 0 || slot > contracts.MaxSlot {
		return fmt.Errorf("mesh: station slot %d: want 0 to %d", slot, contracts.MaxSlot)
	}
	if interval <= 0 {
		return fmt.Errorf("mesh: station interval %v: want a positive duration", interval)
	}
	if sim == nil {
		sim = NewSimulator(uint64(slot))
	}
	temp, err := aimdb.Register(db, contracts.TemperatureKey(slot), aimdb.Ring(stationRing))
	if err != nil {
		return err
	}
	hum, err := aimdb.Register(db, contracts.HumidityKey(slot), aimdb.Ring(stationRing))
	if err != nil {
		return err
	}
	temp.Source(sample(interval, sim.Temperature), aimdb.Named("simulator"))
	hum.Source(sample(interval, sim.Humidity), aimdb.Named("simulator"))
	turl, topts := link(e, contracts.TemperatureTopic(slot))
	hurl, hopts := link(e, contracts.HumidityTopic(slot))
	if e == MQTT {
		topts = append(topts, mqtt.Retain(false))
		hopts = append(hopts, mqtt.Retain(false))
	}
	temp.LinkTo(turl, tc, topts...)
	hum.LinkTo(hurl, hc, hopts...)
	temp.RemoteAccess(contracts.TemperatureCodec)
	hum.RemoteAccess(contracts.HumidityCodec)
	return nil
}

// sample returns a source that produces read(now) every interval.
func sample[T any](interval time.Duration, read func(time.Time) T) aimdb.SourceFunc[T] {
	return func(ctx context.Context, p *aimdb.Producer[T]) error {
		clock := p.Clock()
		for {
			if err := p.Produce(read(clock.Now())); err != nil {
				return err
			}
			if err := clock.Sleep(ctx, interval); err != nil {
				return nil // shutting down
			}
		}
	}
}
