package mesh

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector/mirror"
	"github.com/aimdb-go/aimdb/connector/mqtt"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
)

// UARTScheme is the connector scheme MirrorConnector gives a device on a
// serial line: the hub's links from it read uart://station.{id}.…, and
// the dashboard marks its stations as arriving over a UART.
const UARTScheme = "uart"

// MirrorConnector returns a scheme and a mirror dialer (connector/mirror)
// for a device or DB that serves its station records over AimX at
// endpoint: "uart" for serial:///dev/ttyX?baud=…, "aimx" for tcp:// and
// unix://. The n-th endpoint (from 1) of a hub gets the scheme with n
// appended when n > 1 ("uart2"). Give the dialer to aimdb.New under the
// scheme and the scheme to HubOptions.Mirrors.
func MirrorConnector(endpoint string, n int) (string, *mirror.Dialer, error) {
	d, err := mirror.NewDialer(endpoint, nil)
	if err != nil {
		return "", nil, err
	}
	scheme := "aimx"
	if strings.HasPrefix(endpoint, "serial://") {
		scheme = UARTScheme
	}
	if n > 1 {
		scheme += fmt.Sprint(n)
	}
	return scheme, d, nil
}

// mirrorStations links the station records that the peers behind
// schemes serve into temp and hum: every key station.{id}.temperature
// and station.{id}.humidity they hold, decoded by the contract's codecs.
// On MQTT the hub then publishes those stations' readings, in its wire
// encoding w, to station/<id>/<kind> for the mesh's other subscribers.
func mirrorStations(db *aimdb.DB, schemes []string, e Engine, temp *aimdb.Family[contracts.Temperature], hum *aimdb.Family[contracts.Humidity],
	tc aimdb.Codec[contracts.Temperature], hc aimdb.Codec[contracts.Humidity]) error {
	ids := &sync.Map{} // the ids of mirrored stations
	for _, s := range schemes {
		if s == "" || s == string(e) {
			return fmt.Errorf("mesh: hub mirror scheme %q: want a mirror connector's own scheme (see MirrorConnector)", s)
		}
		temp.LinkFrom(s+"://"+contracts.TemperatureFamily.Template(), mirrored[contracts.Temperature]{wrapped[contracts.Temperature]{contracts.TemperatureCodec}, ids})
		hum.LinkFrom(s+"://"+contracts.HumidityFamily.Template(), mirrored[contracts.Humidity]{wrapped[contracts.Humidity]{contracts.HumidityCodec}, ids})
	}
	if e != MQTT {
		return nil
	}
	out, err := aimdb.Register(db, aimdb.NewKey[republished]("hub.mirrored_to_mqtt"), aimdb.Ring(256))
	if err != nil {
		return err
	}
	out.LinkTo("mqtt://station/mirrored", rawCodec{}, mqtt.QoS(1), aimdb.TopicFrom(func(m republished) string { return m.topic }))
	temp.Tap(republish(tc, ids, contracts.KindTemperature, out), aimdb.Named("to_mqtt"))
	hum.Tap(republish(hc, ids, contracts.KindHumidity, out), aimdb.Named("to_mqtt"))
	return nil
}

// mirrored is the codec of a mirror link: the contract's, refusing a
// station id that is a slot (those belong to the MQTT stations) and
// noting the others as mirrored.
type mirrored[T any] struct {
	wrapped[T]
	ids *sync.Map
}

// DecodeTopic decodes the value of the peer's record key.
func (c mirrored[T]) DecodeTopic(key string, payload []byte) (T, error) {
	var zero T
	parts := strings.Split(key, ".")
	if len(parts) != 3 {
		return zero, fmt.Errorf("mesh: mirrored record %q: want station.<id>.<measurement>", key)
	}
	id := parts[1]
	if _, _, err := contracts.ParseKey(key); err == nil {
		return zero, fmt.Errorf("mesh: mirrored record %q: station id %s is a slot of the MQTT stations; give the device a name that is not a number (mcu1)", key, id)
	}
	v, err := c.c.Decode(payload)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", key, err)
	}
	c.ids.LoadOrStore(id, struct{}{})
	return v, nil
}

// republished is one MQTT message of a mirrored station's reading.
type republished struct {
	topic   string
	payload []byte
}

// rawCodec publishes a republished message's payload as it is.
type rawCodec struct{}

func (rawCodec) Encode(m republished) ([]byte, error) { return m.payload, nil }

func (rawCodec) Decode([]byte) (republished, error) {
	return republished{}, errors.New("mesh: hub.mirrored_to_mqtt is outbound only")
}

// republish is a family tap that hands the readings of mirrored stations
// to out, encoded by c, with their MQTT topic.
func republish[T any](c aimdb.Codec[T], ids *sync.Map, kind contracts.Kind, out *aimdb.Record[republished]) aimdb.FamilyTapFunc[T] {
	return func(ctx context.Context, s *aimdb.FamilySubscription[T]) error {
		for {
			inst, v, err := s.Recv(ctx)
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, aimdb.ErrClosed) {
					return nil
				}
				continue // lagged: the ring's metadata counts it
			}
			id := inst.Captures["id"]
			if _, ok := ids.Load(id); !ok {
				continue
			}
			b, err := c.Encode(v)
			if err != nil {
				s.Logger().Warn("mesh: mirrored reading not republished", "record", inst.Key, "err", err)
				continue
			}
			if err := out.Produce(republished{"station/" + id + "/" + string(kind), b}); err != nil {
				return nil
			}
		}
	}
}
