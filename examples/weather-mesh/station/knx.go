package main

import (
	"fmt"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector/knx"
	"github.com/aimdb-go/aimdb/connector/mqtt"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
)

// Local record keys of a KNX station: the last value read from the bus.
var (
	knxTemperature = aimdb.NewKey[float64]("knx.temperature")
	knxHumidity    = aimdb.NewKey[float64]("knx.humidity")
)

// humidityCodec returns the codec of the humidity DPT: 9.007 (two-octet
// float, %) or 5.001 (one octet, 0-100 %).
func humidityCodec(dpt string) (aimdb.Codec[float64], error) {
	switch dpt {
	case "9.007":
		return knx.Humidity, nil
	case "5.001":
		return knx.Percent{}, nil
	}
	return nil, fmt.Errorf("%q: want 9.007 or 5.001", dpt)
}

// knxStation registers the records of a station that reads a KNX bus:
// knx.temperature (DPT 9.001) and knx.humidity (hum) hold the last value
// of their group addresses, and transforms stamp each value with the time
// it arrived and write it to station.<slot>.temperature and
// station.<slot>.humidity, which are linked out to the mesh's MQTT topics
// as the simulated station's are, in the wire's encoding. A telegram that does not decode (a
// truncated or malformed one, or one of another DPT) is refused, logged
// and counted in the link's decode_errors; a value outside the mesh
// contract (−90 to +70 °C, 0 to 100 %) is refused by the outbound codec
// and counted in encode_errors.
func knxStation(db *aimdb.DB, slot int, tempGA, humGA string, hum aimdb.Codec[float64], wire mesh.Wire) error {
	tc, hc := aimdb.Codec[contracts.Temperature](contracts.TemperatureCodec), aimdb.Codec[contracts.Humidity](contracts.HumidityCodec)
	if wire == mesh.Postcard {
		tc, hc = contracts.TemperaturePostcard, contracts.HumidityPostcard
	}
	kt, err := aimdb.Register(db, knxTemperature, aimdb.Latest())
	if err != nil {
		return err
	}
	kh, err := aimdb.Register(db, knxHumidity, aimdb.Latest())
	if err != nil {
		return err
	}
	kt.LinkFrom("knx://"+tempGA, knx.Temperature)
	kh.LinkFrom("knx://"+humGA, hum)

	temp, err := aimdb.Register(db, contracts.TemperatureKey(slot), aimdb.Ring(10))
	if err != nil {
		return err
	}
	h, err := aimdb.Register(db, contracts.HumidityKey(slot), aimdb.Ring(10))
	if err != nil {
		return err
	}
	aimdb.Transform(temp, knxTemperature, func(c float64) (contracts.Temperature, bool) {
		return contracts.Temperature{Celsius: float32(c), Timestamp: contracts.Millis(time.Now())}, true
	}, aimdb.Named("knx"))
	aimdb.Transform(h, knxHumidity, func(p float64) (contracts.Humidity, bool) {
		return contracts.Humidity{Percent: float32(p), Timestamp: contracts.Millis(time.Now())}, true
	}, aimdb.Named("knx"))
	temp.LinkTo("mqtt://"+contracts.TemperatureTopic(slot), tc, mqtt.QoS(1), mqtt.Retain(false))
	h.LinkTo("mqtt://"+contracts.HumidityTopic(slot), hc, mqtt.QoS(1), mqtt.Retain(false))
	temp.RemoteAccess(contracts.TemperatureCodec)
	h.RemoteAccess(contracts.HumidityCodec)
	return nil
}
