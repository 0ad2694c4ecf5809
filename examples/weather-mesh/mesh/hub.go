package mesh

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector/mqtt"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
)

// DefaultMaxStations is the number of stations a hub holds when
// HubOptions.MaxStations is 0.
const DefaultMaxStations = 20_000

// HubClientIDPrefix begins the MQTT client id of every hub; HubDialer
// adds a random suffix, so that two hubs on one broker do not take each
// other's session.
const HubClientIDPrefix = "weather-hub-"

// HubMaxPacketSize is the biggest MQTT packet a hub accepts: the broker
// drops for the hub any message bigger (a reading is under 100 bytes).
const HubMaxPacketSize = 4 << 10

// RingSize is the capacity of every hub record: the last RingSize
// readings of each station and measurement.
const RingSize = 100

// HubDialer returns the MQTT dialer of a hub for the broker URL
// mqtt://[user[:password]@]host[:port] (or mqtts:// for TLS), with the
// client id weather-hub-<8 random hex digits> and a maximum packet size
// of HubMaxPacketSize. Give it to aimdb.New under
// the "mqtt" scheme.
func HubDialer(broker string) (*mqtt.Dialer, error) {
	var b [4]byte
	_, _ = rand.Read(b[:]) // never fails
	return mqtt.NewDialer(broker, mqtt.Options{
		ClientID:      HubClientIDPrefix + hex.EncodeToString(b[:]),
		MaxPacketSize: HubMaxPacketSize,
	})
}

// HubOptions configures a hub. The zero value (or nil) gives the
// defaults.
type HubOptions struct {
	// MaxStations bounds the stations the hub holds: each of the three
	// families holds at most this many instances. Readings of a station
	// beyond it are dropped and counted in the family's metadata
	// (Refused). Default DefaultMaxStations.
	MaxStations int
	// IdleEviction, when positive, forgets a station whose readings
	// stopped for this long: its records leave the DB, and its next
	// reading creates them again. Default 0: stations are kept until
	// the DB stops.
	IdleEviction time.Duration
	// Wire is the encoding of the stations' payloads. Default JSON.
	Wire Wire
	// Engine is the message engine the hub's links use; db must have its
	// connector (see HubConnector). Default MQTT.
	Engine Engine
	// Mirrors are the schemes of mirror connectors db has (see
	// MirrorConnector): devices or DBs that serve station records over
	// AimX themselves, such as the station firmware on a UART
	// (examples/station-mcu/firmware). The hub links every
	// station.{id}.temperature and station.{id}.humidity each serves into
	// its families, so their dew points are derived as for any station.
	// A mirrored station's id must not be a slot (it is refused and
	// counted in the family's Rejected): the firmware is "mcu1". On MQTT
	// the hub also publishes their readings, in Wire, to
	// station/<id>/temperature and station/<id>/humidity for the mesh's
	// other subscribers, and subscribes with No Local so that it does not
	// read them back.
	Mirrors []string
}

// HubFamilies are the record families of a hub.
type HubFamilies struct {
	Temperature *aimdb.Family[contracts.Temperature]
	Humidity    *aimdb.Family[contracts.Humidity]
	DewPoint    *aimdb.Family[contracts.DewPoint]
}

// Hub registers the hub's three record families in db, whose instances
// are created for a station on its first valid reading:
//
//	station.{id}.temperature  Ring(100), from MQTT station/{id}/temperature
//	station.{id}.humidity     Ring(100), from MQTT station/{id}/humidity
//	station.{id}.dew_point    Ring(100), JoinFamily2 of the two (contracts.DewPointOf)
//
// A station id is a slot of the contract: a canonical decimal number from
// 0 to contracts.MaxSlot (see contracts.ParseTopic). db must have an MQTT
// connector under the "mqtt" scheme (see HubDialer); Run reports it
// otherwise. Every instance is opened for remote access; the readings
// have an inbound link as their writer and the dew points a join, so no
// remote client can write them, whatever the server's policy.
//
// The hub subscribes to station/+/temperature and station/+/humidity at
// QoS 1: one subscription per measurement, whatever the number of
// stations. Each instance's link metadata counts its own messages
// (received, decode_errors). A message whose topic names no valid station
// id, or whose payload breaks the contract (see contracts.TemperatureContract
// and contracts.HumidityContract) before its station has a record, is
// dropped, logged and counted in the family's metadata (Rejected).
//
// Hub must be called before db runs, once per DB. A nil opts gives the
// defaults.
func Hub(db *aimdb.DB, opts *HubOptions) (*HubFamilies, error) {
	var o HubOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxStations == 0 {
		o.MaxStations = DefaultMaxStations
	}
	if o.MaxStations < 1 {
		return nil, fmt.Errorf("mesh: hub MaxStations %d: want at least 1", o.MaxStations)
	}
	if o.IdleEviction < 0 {
		return nil, fmt.Errorf("mesh: hub IdleEviction %v: want a positive duration or 0", o.IdleEviction)
	}
	fopts := []aimdb.FamilyOption{aimdb.MaxInstances(o.MaxStations)}
	if o.IdleEviction > 0 {
		fopts = append(fopts, aimdb.IdleEviction(o.IdleEviction))
	}
	temp, err := aimdb.RegisterFamily(db, contracts.TemperatureFamily, aimdb.Ring(RingSize), fopts...)
	if err != nil {
		return nil, err
	}
	hum, err := aimdb.RegisterFamily(db, contracts.HumidityFamily, aimdb.Ring(RingSize), fopts...)
	if err != nil {
		return nil, err
	}
	dew, err := aimdb.RegisterFamily(db, contracts.DewPointFamily, aimdb.Ring(RingSize), fopts...)
	if err != nil {
		return nil, err
	}
	temp.RemoteAccess(contracts.TemperatureCodec)
	hum.RemoteAccess(contracts.HumidityCodec)
	dew.RemoteAccess(contracts.DewPointCodec)
	// The contracts name their signals (contract.Observable): each
	// station's records keep a gauge of them in signal_stats.
	aimdb.ObserveFamily(temp)
	aimdb.ObserveFamily(hum)
	aimdb.ObserveFamily(dew)
	tc, hc, err := o.Wire.codecs()
	if err != nil {
		return nil, err
	}
	if o.Engine == "" {
		o.Engine = MQTT
	}
	turl, topts := link(o.Engine, contracts.TemperatureTopicTemplate)
	hurl, hopts := link(o.Engine, contracts.HumidityTopicTemplate)
	if len(o.Mirrors) > 0 && o.Engine == MQTT {
		topts, hopts = append(topts, mqtt.NoLocal()), append(hopts, mqtt.NoLocal())
	}
	temp.LinkFrom(turl, inbound[contracts.Temperature]{wrapped[contracts.Temperature]{tc}, contracts.KindTemperature, o.Engine}, topts...)
	hum.LinkFrom(hurl, inbound[contracts.Humidity]{wrapped[contracts.Humidity]{hc}, contracts.KindHumidity, o.Engine}, hopts...)
	if len(o.Mirrors) > 0 {
		if err := mirrorStations(db, o.Mirrors, o.Engine, temp, hum, tc, hc); err != nil {
			return nil, err
		}
	}
	aimdb.JoinFamily2(dew, contracts.TemperatureFamily, contracts.HumidityFamily,
		func(t contracts.Temperature, h contracts.Humidity) (contracts.DewPoint, bool) {
			return contracts.DewPointOf(t, h), true
		}, aimdb.Named("dew_point"))
	return &HubFamilies{Temperature: temp, Humidity: hum, DewPoint: dew}, nil
}

// wrapped forwards a codec's methods, Validate included; the hub's link
// codecs embed it and add their DecodeTopic.
type wrapped[T any] struct{ c aimdb.Codec[T] }

func (c wrapped[T]) Encode(v T) ([]byte, error) { return c.c.Encode(v) }

func (c wrapped[T]) Decode(payload []byte) (T, error) { return c.c.Decode(payload) }

// Validate reports the mistakes of the contract codec it wraps.
func (c wrapped[T]) Validate() error {
	if v, ok := c.c.(interface{ Validate() error }); ok {
		return v.Validate()
	}
	return nil
}

// inbound is the codec of the hub's family links: it checks that the
// message's topic names a valid station id before decoding the payload,
// and names the station's record in its errors.
type inbound[T any] struct {
	wrapped[T]
	kind   contracts.Kind
	engine Engine // the engine's topics are mapped back to MQTT's (see mqttTopic)
}

var _ aimdb.TopicDecoder[contracts.Temperature] = inbound[contracts.Temperature]{}

func (c inbound[T]) DecodeTopic(topic string, payload []byte) (T, error) {
	var zero T
	slot, kind, err := contracts.ParseTopic(mqttTopic(c.engine, topic))
	if err != nil {
		return zero, fmt.Errorf("mesh: message dropped: %w", err)
	}
	if kind != c.kind {
		return zero, fmt.Errorf("mesh: message dropped: topic %q is not a %s topic", topic, c.kind)
	}
	v, err := c.c.Decode(payload)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", contracts.KeyName(slot, kind), err)
	}
	return v, nil
}
