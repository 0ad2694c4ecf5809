package mesh

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/kafka"
	"github.com/aimdb-go/aimdb/connector/mqtt"
	"github.com/aimdb-go/aimdb/connector/nats"
	"github.com/nats-io/nats.go/jetstream"
)

// An Engine is the message engine the mesh runs on, named by its link
// scheme: "mqtt" (the default), "nats" (JetStream) or "kafka".
type Engine string

// The engines.
const (
	MQTT  Engine = "mqtt"
	NATS  Engine = "nats"
	Kafka Engine = "kafka"
)

// EngineOf returns the engine of a broker URL: NATS for nats:// and
// tls:// URLs, Kafka for kafka://, MQTT for anything else
// (mqtt.NewDialer reports what is wrong with it).
func EngineOf(broker string) Engine {
	scheme, _, _ := strings.Cut(broker, "://")
	switch strings.ToLower(scheme) {
	case "nats", "tls":
		return NATS
	case "kafka":
		return Kafka
	}
	return MQTT
}

// NATSStream is the JetStream stream of the mesh on NATS: every
// station's readings, kept for an hour (at most 1 GiB).
var NATSStream = jetstream.StreamConfig{
	Name:     "WEATHER",
	Subjects: []string{"station.*.temperature", "station.*.humidity"},
	MaxAge:   time.Hour,
	MaxBytes: 1 << 30,
	Storage:  jetstream.FileStorage,
}

// HubConnector returns the connector of a hub for broker: HubDialer's
// for MQTT; for NATS a dialer named weather-hub-<8 random hex digits>
// that creates NATSStream and whose inbound links share the group (if
// not empty) with every hub of that group; for Kafka a client of that
// name in the consumer group (or a group of its own). Give it to
// aimdb.New under the engine's scheme.
func HubConnector(broker, group string) (Engine, connector.Dialer, error) {
	e := EngineOf(broker)
	if e == MQTT {
		d, err := HubDialer(broker)
		return e, d, err
	}
	var b [4]byte
	_, _ = rand.Read(b[:]) // never fails
	if e == Kafka {
		d, err := kafka.NewDialer(broker, kafka.Options{ClientID: HubClientIDPrefix + hex.EncodeToString(b[:]), Group: group, AutoCreate: true})
		return e, d, err
	}
	d, err := nats.NewDialer(broker, nats.Options{
		Name:    HubClientIDPrefix + hex.EncodeToString(b[:]),
		Group:   group,
		Streams: []jetstream.StreamConfig{NATSStream},
	})
	return e, d, err
}

// StationConnector returns the connector of the station in slot n for
// broker (see StationDialer), on NATS named weather-station-<n>.
func StationConnector(broker string, slot int) (Engine, connector.Dialer, error) {
	e := EngineOf(broker)
	switch e {
	case MQTT:
		d, err := StationDialer(broker, slot)
		return e, d, err
	case Kafka:
		d, err := kafka.NewDialer(broker, kafka.Options{ClientID: StationClientID(slot), AutoCreate: true})
		return e, d, err
	}
	d, err := nats.NewDialer(broker, nats.Options{Name: StationClientID(slot), Streams: []jetstream.StreamConfig{NATSStream}})
	return e, d, err
}

// link returns the link URL and options of an MQTT topic (or template)
// station/<n>/<kind> on engine e: on NATS the levels become tokens
// ("station.{id}.temperature") and the link uses JetStream; on Kafka the
// topic is station and the key <n>/<kind> ("kafka://station/{id}/temperature"):
// the connector partitions by the key's first level, so both readings of
// a station stay in one partition, in order, and reach one hub.
func link(e Engine, topic string) (string, []aimdb.LinkOption) {
	switch e {
	case NATS:
		return "nats://" + strings.ReplaceAll(topic, "/", "."), []aimdb.LinkOption{nats.JetStream()}
	case Kafka:
		return "kafka://" + topic, nil
	}
	return "mqtt://" + topic, []aimdb.LinkOption{mqtt.QoS(1)}
}

// mqttTopic maps a concrete topic of engine e back to the MQTT topic
// station/<n>/<kind> that contracts.ParseTopic reads.
func mqttTopic(e Engine, topic string) string {
	if e == NATS {
		return strings.ReplaceAll(topic, ".", "/")
	}
	return topic
}

// ClientName returns the name a connector of HubConnector or
// StationConnector gives the broker: the MQTT client id or the NATS
// connection name.
func ClientName(d connector.Dialer) string {
	switch d := d.(type) {
	case *mqtt.Dialer:
		return d.ClientID()
	case *nats.Dialer:
		return d.Name()
	case *kafka.Dialer:
		return d.ClientID()
	}
	return ""
}
