// Package contracts is the data contract of the weather mesh: the payload
// types stations publish and the hub stores, their record keys and MQTT
// topics, the dew point formula, and the codecs that check payloads on the
// way in.
//
// The contract is wire-compatible with AimDB's Rust weather mesh
// (aimdb-dev/aimdb-weather-mesh): a Rust station can publish into a Go hub
// and a Go station into a Rust hub.
//
//	record key                MQTT topic                payload
//	station.<n>.temperature   station/<n>/temperature   {"schema_version":2,"celsius":21.4,"timestamp":1754044800000}
//	station.<n>.humidity      station/<n>/humidity      {"percent":58.2,"timestamp":1754044800000}
//	station.<n>.dew_point     (not published)           {"celsius":13.2,"timestamp":1754044800000}
//
// Timestamps are Unix milliseconds. The payloads are data contracts
// (package contract): temperature payloads carry a schema version, and
// version 1 is migrated to 2 when decoded; a payload without a version,
// with a version above 2, or with an implausible value (a temperature
// outside −90 to +70 °C, a humidity outside 0 to 100 %, a number that is
// not finite) is refused and never stored.
package contracts

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aimdb-go/aimdb"
)

// TemperatureSchemaVersion is the temperature schema version this package
// writes. Decoding accepts versions 1 and 2.
const TemperatureSchemaVersion = 2

// Temperature is a temperature reading: the TemperatureV2 contract (see
// [TemperatureContract]). Its JSON form, as [TemperatureCodec] writes
// it, carries the version first:
//
//	{"schema_version":2,"celsius":21.4,"timestamp":1754044800000}
type Temperature struct {
	Celsius   float32 `json:"celsius"`   // degrees Celsius; MinCelsius to MaxCelsius
	Timestamp uint64  `json:"timestamp"` // Unix milliseconds
}

// TemperatureV1 is the legacy temperature payload, accepted by
// [TemperatureCodec] and migrated to [Temperature]:
//
//	{"schema_version":1,"temp":70.5,"timestamp":1754044800000,"unit":"F"}
type TemperatureV1 struct {
	Temp      float64 `json:"temp"`
	Timestamp uint64  `json:"timestamp"`      // Unix milliseconds
	Unit      string  `json:"unit,omitempty"` // "F" (Fahrenheit), "K" (Kelvin); anything else is Celsius
}

// Migrate converts a version 1 reading to the current contract: Fahrenheit
// by (t−32)·5/9, Kelvin by t−273.15, any other unit taken as Celsius.
func (v TemperatureV1) Migrate() Temperature {
	c := v.Temp
	switch v.Unit {
	case "F":
		c = (v.Temp - 32) * 5 / 9
	case "K":
		c = v.Temp - 273.15
	}
	return Temperature{Celsius: float32(c), Timestamp: v.Timestamp}
}

// Humidity is a relative humidity reading (see [HumidityContract]):
//
//	{"percent":58.2,"timestamp":1754044800000}
type Humidity struct {
	Percent   float32 `json:"percent"`   // relative humidity, 0 to 100
	Timestamp uint64  `json:"timestamp"` // Unix milliseconds
}

// DewPoint is the dew point the hub derives from a station's temperature
// and humidity (see [DewPointOf] and [DewPointContract]):
//
//	{"celsius":13.2,"timestamp":1754044800000}
type DewPoint struct {
	Celsius   float32 `json:"celsius"`
	Timestamp uint64  `json:"timestamp"` // Unix milliseconds
}

// DewPointOf returns the dew point of a temperature and a relative
// humidity by the approximation T − (100 − RH)/5, stamped with the later
// of the two timestamps.
func DewPointOf(t Temperature, h Humidity) DewPoint {
	return DewPoint{
		Celsius:   float32(float64(t.Celsius) - (100-float64(h.Percent))/5),
		Timestamp: max(t.Timestamp, h.Timestamp),
	}
}

// Millis returns t as a contract timestamp: Unix milliseconds. Times
// before 1970 give 0.
func Millis(t time.Time) uint64 {
	return uint64(max(t.UnixMilli(), 0))
}

// A Kind names one of a station slot's three records.
type Kind string

// The kinds of a slot's records, as they appear in keys and topics.
const (
	KindTemperature Kind = "temperature"
	KindHumidity    Kind = "humidity"
	KindDewPoint    Kind = "dew_point" // a hub record only; never published
)

// MaxSlot is the highest slot number: slots are 16-bit, as upstream.
const MaxSlot = math.MaxUint16

// Wildcard topic filters that match every station's publications.
const (
	TemperatureFilter = "station/+/temperature"
	HumidityFilter    = "station/+/humidity"
)

// The hub's record families: one instance per station, whose {id} is
// the station's slot.
var (
	TemperatureFamily = aimdb.NewFamily[Temperature]("station.{id}.temperature")
	HumidityFamily    = aimdb.NewFamily[Humidity]("station.{id}.humidity")
	DewPointFamily    = aimdb.NewFamily[DewPoint]("station.{id}.dew_point")
)

// Topic templates of the stations' publications, for a family link: the
// {id} level is the station's slot.
const (
	TemperatureTopicTemplate = "station/{id}/temperature"
	HumidityTopicTemplate    = "station/{id}/humidity"
)

// TemperatureKey returns the key of slot n's temperature record,
// station.<n>.temperature.
func TemperatureKey(n int) aimdb.Key[Temperature] {
	return aimdb.NewKey[Temperature](KeyName(n, KindTemperature))
}

// HumidityKey returns the key of slot n's humidity record,
// station.<n>.humidity.
func HumidityKey(n int) aimdb.Key[Humidity] {
	return aimdb.NewKey[Humidity](KeyName(n, KindHumidity))
}

// DewPointKey returns the key of slot n's dew point record,
// station.<n>.dew_point.
func DewPointKey(n int) aimdb.Key[DewPoint] {
	return aimdb.NewKey[DewPoint](KeyName(n, KindDewPoint))
}

// KeyName returns the record key of slot n's record of kind k:
// station.<n>.<k>.
func KeyName(n int, k Kind) string {
	return "station." + strconv.Itoa(n) + "." + string(k)
}

// TemperatureTopic returns the MQTT topic slot n publishes temperatures
// on, station/<n>/temperature. A link URL is "mqtt://" + the topic.
func TemperatureTopic(n int) string { return Topic(n, KindTemperature) }

// HumidityTopic returns the MQTT topic slot n publishes humidity on,
// station/<n>/humidity.
func HumidityTopic(n int) string { return Topic(n, KindHumidity) }

// Topic returns the MQTT topic of slot n's record of kind k:
// station/<n>/<k>.
func Topic(n int, k Kind) string {
	return "station/" + strconv.Itoa(n) + "/" + string(k)
}

// ErrNotMesh reports a topic or key outside the mesh's naming scheme.
var ErrNotMesh = errors.New("contracts: not a weather mesh name")

// ParseTopic returns the slot and kind of a station topic,
// station/<n>/temperature or station/<n>/humidity. The slot must be
// written canonically (decimal, no sign, no leading zero) and be at most
// MaxSlot, so that every slot has exactly one topic. Other topics fail
// with an error wrapping ErrNotMesh that says what is wrong.
func ParseTopic(topic string) (slot int, k Kind, err error) {
	slot, k, err = parse(topic, "/", "station/<n>/temperature|humidity")
	if err == nil && k == KindDewPoint {
		return 0, "", fmt.Errorf("%w: topic %q: dew points are not published", ErrNotMesh, topic)
	}
	if err != nil {
		return 0, "", fmt.Errorf("%w: topic %q: %s", ErrNotMesh, topic, err)
	}
	return slot, k, nil
}

// ParseKey returns the slot and kind of a mesh record key,
// station.<n>.temperature, station.<n>.humidity or station.<n>.dew_point,
// with the rules of ParseTopic.
func ParseKey(key string) (slot int, k Kind, err error) {
	slot, k, err = parse(key, ".", "station.<n>.temperature|humidity|dew_point")
	if err != nil {
		return 0, "", fmt.Errorf("%w: key %q: %s", ErrNotMesh, key, err)
	}
	return slot, k, nil
}

func parse(s, sep, want string) (int, Kind, error) {
	parts := strings.Split(s, sep)
	if len(parts) != 3 || parts[0] != "station" {
		return 0, "", errors.New("want " + want)
	}
	n, err := parseSlot(parts[1])
	if err != nil {
		return 0, "", err
	}
	switch k := Kind(parts[2]); k {
	case KindTemperature, KindHumidity, KindDewPoint:
		return n, k, nil
	default:
		return 0, "", fmt.Errorf("unknown measurement %q", parts[2])
	}
}

func parseSlot(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty slot")
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("slot %q is not a decimal number", s)
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("slot %q has a leading zero", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > MaxSlot {
		return 0, fmt.Errorf("slot %s above %d", s, MaxSlot)
	}
	return n, nil
}
