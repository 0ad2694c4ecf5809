package mesh

import (
	"fmt"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector/mqtt"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
)

// DefaultSlots is the size of the hub's slot pool when none is given.
const DefaultSlots = 64

// HubClientID is the MQTT client id of the hub.
const HubClientID = "weather-hub"

// ringSize is the capacity of every hub record.
const ringSize = 100

// HubDialer returns the MQTT dialer of a hub for the broker URL
// mqtt://[user[:password]@]host[:port] (or mqtts:// for TLS), with client
// id weather-hub. Give it to aimdb.New under the "mqtt" scheme.
func HubDialer(broker string) (*mqtt.Dialer, error) {
	return mqtt.NewDialer(broker, mqtt.Options{ClientID: HubClientID})
}

// Hub registers the hub's records in db for every slot n in [0, slots):
//
//	station.<n>.temperature  Ring(100), from MQTT station/<n>/temperature
//	station.<n>.humidity     Ring(100), from MQTT station/<n>/humidity
//	station.<n>.dew_point    Ring(100), Join2 of the two (contracts.DewPointOf)
//
// slots 0 means DefaultSlots; more than contracts.MaxSlot+1 is an error.
// db must have an MQTT connector under the "mqtt" scheme (see HubDialer);
// Run reports it otherwise. Every record is opened for remote access.
//
// The hub subscribes to station/+/temperature and station/+/humidity at
// QoS 1: one subscription per measurement, whatever the pool size. Both
// inbound links belong to slot 0's records, so the links' metadata there
// (received, decode_errors) counts the messages of every slot. A message
// is dropped, logged and counted as a decode error when its topic names
// no slot of the pool or its payload breaks the contract (see
// contracts.TemperatureCodec and contracts.HumidityCodec); the error
// names the slot's record.
//
// Hub must be called before db runs, once per DB.
func Hub(db *aimdb.DB, slots int) error {
	if slots == 0 {
		slots = DefaultSlots
	}
	if slots < 1 || slots > contracts.MaxSlot+1 {
		return fmt.Errorf("mesh: hub slots %d: want 1 to %d", slots, contracts.MaxSlot+1)
	}
	for n := range slots {
		temp, err := aimdb.Register(db, contracts.TemperatureKey(n), aimdb.Ring(ringSize))
		if err != nil {
			return err
		}
		temp.RemoteAccess(contracts.TemperatureCodec{})
		hum, err := aimdb.Register(db, contracts.HumidityKey(n), aimdb.Ring(ringSize))
		if err != nil {
			return err
		}
		hum.RemoteAccess(contracts.HumidityCodec{})
		dew, err := aimdb.Register(db, contracts.DewPointKey(n), aimdb.Ring(ringSize))
		if err != nil {
			return err
		}
		dew.RemoteAccess(codec.JSON[contracts.DewPoint]{})
		aimdb.Join2(dew, contracts.TemperatureKey(n), contracts.HumidityKey(n),
			func(t contracts.Temperature, h contracts.Humidity) (contracts.DewPoint, bool) {
				return contracts.DewPointOf(t, h), true
			}, aimdb.Named("dew_point"))
		if n == 0 {
			temp.LinkFrom("mqtt://"+contracts.TemperatureFilter,
				inbound[contracts.Temperature]{contracts.TemperatureCodec{}, contracts.KindTemperature, slots},
				mqtt.QoS(1), aimdb.RouteTopic(route))
			hum.LinkFrom("mqtt://"+contracts.HumidityFilter,
				inbound[contracts.Humidity]{contracts.HumidityCodec{}, contracts.KindHumidity, slots},
				mqtt.QoS(1), aimdb.RouteTopic(route))
		}
	}
	return nil
}

// route returns the key of the record a topic's messages go to. Only
// topics that inbound.DecodeTopic accepted reach it.
func route(topic string) string {
	slot, kind, err := contracts.ParseTopic(topic)
	if err != nil {
		return "" // not reached: DecodeTopic rejected the message
	}
	return contracts.KeyName(slot, kind)
}

// inbound is the codec of the hub's wildcard links: it checks the
// message's topic against the slot pool before decoding the payload, and
// names the slot's record in its errors.
type inbound[T any] struct {
	c     aimdb.Codec[T]
	kind  contracts.Kind
	slots int
}

var _ aimdb.TopicDecoder[contracts.Temperature] = inbound[contracts.Temperature]{}

func (c inbound[T]) Encode(v T) ([]byte, error) { return c.c.Encode(v) }

func (c inbound[T]) Decode(payload []byte) (T, error) { return c.c.Decode(payload) }

func (c inbound[T]) DecodeTopic(topic string, payload []byte) (T, error) {
	var zero T
	slot, kind, err := contracts.ParseTopic(topic)
	if err != nil {
		return zero, fmt.Errorf("mesh: message dropped: %w", err)
	}
	if kind != c.kind {
		return zero, fmt.Errorf("mesh: message dropped: topic %q is not a %s topic", topic, c.kind)
	}
	if slot >= c.slots {
		return zero, fmt.Errorf("mesh: message dropped: topic %q: slot %d outside the hub's pool 0..%d", topic, slot, c.slots-1)
	}
	v, err := c.c.Decode(payload)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", contracts.KeyName(slot, kind), err)
	}
	return v, nil
}
