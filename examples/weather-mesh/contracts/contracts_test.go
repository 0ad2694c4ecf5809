package contracts_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/contract"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
)

const ts uint64 = 1754044800000

// kelvin300 is a variable so that 300 − 273.15 is computed in float64, as
// the codec does, and not exactly as a constant.
var kelvin300 = 300.0

func TestTemperatureDecode(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    contracts.Temperature
	}{
		{"v2", `{"schema_version":2,"celsius":21.4,"timestamp":1754044800000}`, contracts.Temperature{Celsius: 21.4, Timestamp: ts}},
		{"v2 negative", `{"schema_version":2,"celsius":-12.5,"timestamp":0}`, contracts.Temperature{Celsius: -12.5}},
		{"v2 unknown field ignored", `{"schema_version":2,"celsius":1,"timestamp":5,"station":"x"}`, contracts.Temperature{Celsius: 1, Timestamp: 5}},
		{"v2 field order free", `{"timestamp":5,"celsius":1,"schema_version":2}`, contracts.Temperature{Celsius: 1, Timestamp: 5}},
		{"v1 fahrenheit", `{"schema_version":1,"temp":70.5,"timestamp":1754044800000,"unit":"F"}`, contracts.Temperature{Celsius: (70.5 - 32) * 5 / 9, Timestamp: ts}},
		{"v1 freezing", `{"schema_version":1,"temp":32,"timestamp":1,"unit":"F"}`, contracts.Temperature{Celsius: 0, Timestamp: 1}},
		{"v1 kelvin", `{"schema_version":1,"temp":300,"timestamp":1,"unit":"K"}`, contracts.Temperature{Celsius: float32(kelvin300 - 273.15), Timestamp: 1}},
		{"v1 celsius", `{"schema_version":1,"temp":21.5,"timestamp":1,"unit":"C"}`, contracts.Temperature{Celsius: 21.5, Timestamp: 1}},
		{"v1 other unit is celsius", `{"schema_version":1,"temp":21.5,"timestamp":1,"unit":"f"}`, contracts.Temperature{Celsius: 21.5, Timestamp: 1}},
		{"v1 no unit is celsius", `{"schema_version":1,"temp":21.5,"timestamp":1}`, contracts.Temperature{Celsius: 21.5, Timestamp: 1}},
		{"v1 null unit is celsius", `{"schema_version":1,"temp":21.5,"timestamp":1,"unit":null}`, contracts.Temperature{Celsius: 21.5, Timestamp: 1}},
		{"limits", `{"schema_version":2,"celsius":-90,"timestamp":1}`, contracts.Temperature{Celsius: -90, Timestamp: 1}},
		{"v1 ignores celsius", `{"schema_version":1,"temp":50,"celsius":3,"timestamp":1,"unit":"F"}`, contracts.Temperature{Celsius: 10, Timestamp: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := contracts.TemperatureCodec.Decode([]byte(tt.payload))
			if err != nil {
				t.Fatalf("Decode(%s) error: %v", tt.payload, err)
			}
			if got != tt.want {
				t.Errorf("Decode(%s) = %+v; want %+v", tt.payload, got, tt.want)
			}
		})
	}
}

func TestTemperatureRejects(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    string // a part of the error
	}{
		{"empty", ``, "malformed JSON"},
		{"malformed", `{"schema_version":2,`, "malformed JSON"},
		{"not an object", `[2,21.4]`, "want a JSON object, got an array"},
		{"a number", `21.4`, "want a JSON object, got a number"},
		{"null", `null`, "want a JSON object, got null"},
		{"no schema_version", `{"celsius":21.4,"timestamp":1}`, `payload has no version: field "schema_version": missing`},
		{"schema_version case differs", `{"Schema_Version":2,"celsius":21.4,"timestamp":1}`, `field "schema_version": missing`},
		{"schema_version null", `{"schema_version":null,"celsius":21.4,"timestamp":1}`, `field "schema_version": want an unsigned 32-bit integer, got null`},
		{"schema_version string", `{"schema_version":"2","celsius":21.4,"timestamp":1}`, `want an unsigned 32-bit integer, got "2"`},
		{"schema_version fraction", `{"schema_version":2.5,"celsius":21.4,"timestamp":1}`, "want an unsigned 32-bit integer, got 2.5"},
		{"too new", `{"schema_version":3,"celsius":21.4,"timestamp":1}`, `contract "temperature" v3: version too new: the newest known is v2`},
		{"far too new", `{"schema_version":99999999999,"celsius":21.4,"timestamp":1}`, "want an unsigned 32-bit integer, got 99999999999"},
		{"version 0", `{"schema_version":0,"celsius":21.4,"timestamp":1}`, "version too old: v0 is below v1"},
		{"negative version", `{"schema_version":-1,"celsius":21.4,"timestamp":1}`, "want an unsigned 32-bit integer, got -1"},
		{"v2 missing celsius", `{"schema_version":2,"temp":21.4,"timestamp":1}`, `contract "temperature" v2: payload does not decode: field "celsius": missing`},
		{"v2 celsius string", `{"schema_version":2,"celsius":"21.4","timestamp":1}`, `field "celsius": want a number (float32), got string`},
		{"v2 celsius null", `{"schema_version":2,"celsius":null,"timestamp":1}`, `field "celsius": null, but the field is required`},
		{"v2 celsius overflow", `{"schema_version":2,"celsius":1e999,"timestamp":1}`, `field "celsius": want a number (float32), got number 1e999`},
		{"v2 celsius beyond float32", `{"schema_version":2,"celsius":1e39,"timestamp":1}`, `field "celsius": want a number (float32), got number 1e39`},
		{"v2 missing timestamp", `{"schema_version":2,"celsius":21.4}`, `field "timestamp": missing`},
		{"v2 negative timestamp", `{"schema_version":2,"celsius":21.4,"timestamp":-5}`, `field "timestamp": want an unsigned integer (uint64), got number -5`},
		{"v2 fractional timestamp", `{"schema_version":2,"celsius":21.4,"timestamp":1.5}`, "got number 1.5"},
		{"v2 string timestamp", `{"schema_version":2,"celsius":21.4,"timestamp":"1"}`, "got string"},
		{"v2 too cold", `{"schema_version":2,"celsius":-300,"timestamp":1}`, `contract "temperature" v2: invalid value: field "celsius": -300 is outside -90 to 70`},
		{"v2 too hot", `{"schema_version":2,"celsius":70.1,"timestamp":1}`, `field "celsius": 70.1 is outside -90 to 70`},
		{"v1 missing temp", `{"schema_version":1,"celsius":21.4,"timestamp":1,"unit":"C"}`, `contract "temperature" v1: payload does not decode: field "temp": missing`},
		{"v1 temp bool", `{"schema_version":1,"temp":true,"timestamp":1,"unit":"C"}`, `field "temp": want a number (float64), got bool`},
		{"v1 unit number", `{"schema_version":1,"temp":70,"timestamp":1,"unit":1}`, `field "unit": want a string, got number`},
		{"v1 too hot once migrated", `{"schema_version":1,"temp":212,"timestamp":1,"unit":"F"}`, `contract "temperature" v2: invalid value: field "celsius": 100 is outside -90 to 70`},
		{"v1 fahrenheit overflow", `{"schema_version":1,"temp":-1.7976931348623157e308,"timestamp":1,"unit":"F"}`, `field "celsius": -Inf is not a finite number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := contracts.TemperatureCodec.Decode([]byte(tt.payload))
			if err == nil {
				t.Fatalf("Decode(%s) = %+v; want an error containing %q", tt.payload, got, tt.want)
			}
			if ce := (*contract.Error)(nil); !errors.As(err, &ce) || ce.Schema.Name != "temperature" {
				t.Errorf("Decode(%s) error %v is not a *contract.Error of the temperature contract", tt.payload, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode(%s) error %q; want it to contain %q", tt.payload, err, tt.want)
			}
		})
	}
}

func TestTemperatureEncode(t *testing.T) {
	tests := []struct {
		in   contracts.Temperature
		want string
	}{
		{contracts.Temperature{Celsius: 21.4, Timestamp: ts}, `{"schema_version":2,"celsius":21.4,"timestamp":1754044800000}`},
		{contracts.Temperature{}, `{"schema_version":2,"celsius":0,"timestamp":0}`},
		{contracts.Temperature{Celsius: -40, Timestamp: 1}, `{"schema_version":2,"celsius":-40,"timestamp":1}`},
		{contracts.Temperature{Celsius: 1e-9, Timestamp: 1}, `{"schema_version":2,"celsius":1e-9,"timestamp":1}`},
	}
	for _, tt := range tests {
		got, err := contracts.TemperatureCodec.Encode(tt.in)
		if err != nil || string(got) != tt.want {
			t.Errorf("Encode(%+v) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	// For a peer that speaks only version 1.
	got, err := contracts.TemperatureCodec.As(1).Encode(contracts.Temperature{Celsius: 21.4, Timestamp: ts})
	if want := `{"schema_version":1,"temp":21.4,"timestamp":1754044800000,"unit":"C"}`; err != nil || string(got) != want {
		t.Errorf("As(1).Encode = %s, %v; want %s", got, err, want)
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -90.5, 71} {
		if got, err := contracts.TemperatureCodec.Encode(contracts.Temperature{Celsius: float32(bad)}); err == nil {
			t.Errorf("Encode(celsius %v) = %s; want an error", bad, got)
		}
	}
}

func TestHumidityCodec(t *testing.T) {
	good := []struct {
		payload string
		want    contracts.Humidity
	}{
		{`{"percent":58.2,"timestamp":1754044800000}`, contracts.Humidity{Percent: 58.2, Timestamp: ts}},
		{`{"percent":0,"timestamp":1}`, contracts.Humidity{Percent: 0, Timestamp: 1}},
		{`{"percent":100,"timestamp":1}`, contracts.Humidity{Percent: 100, Timestamp: 1}},
	}
	for _, tt := range good {
		got, err := contracts.HumidityCodec.Decode([]byte(tt.payload))
		if err != nil || got != tt.want {
			t.Errorf("Decode(%s) = %+v, %v; want %+v", tt.payload, got, err, tt.want)
		}
		enc, err := contracts.HumidityCodec.Encode(got)
		if err != nil || string(enc) != tt.payload {
			t.Errorf("Encode(%+v) = %s, %v; want %s", got, enc, err, tt.payload)
		}
	}
	bad := []struct {
		payload string
		want    string
	}{
		{`{"timestamp":1}`, `contract "humidity" v1: payload does not decode: field "percent": missing`},
		{`{"percent":"58","timestamp":1}`, `field "percent": want a number (float32), got string`},
		{`{"percent":null,"timestamp":1}`, `field "percent": null, but the field is required`},
		{`{"percent":100.5,"timestamp":1}`, `contract "humidity" v1: invalid value: field "percent": 100.5 is outside 0 to 100`},
		{`{"percent":-0.1,"timestamp":1}`, `field "percent": -0.1 is outside 0 to 100`},
		{`{"percent":50}`, `field "timestamp": missing`},
		{`{"percent":50,"timestamp":-1}`, `field "timestamp": want an unsigned integer`},
		{`["percent",50]`, "want a JSON object, got an array"},
		{`{"percent":5`, "malformed JSON"},
	}
	for _, tt := range bad {
		got, err := contracts.HumidityCodec.Decode([]byte(tt.payload))
		if err == nil || !errors.Is(err, contract.ErrDecode) && !errors.Is(err, contract.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Decode(%s) = %+v, %v; want an error containing %q", tt.payload, got, err, tt.want)
		}
	}
	for _, p := range []float64{-1, 101, math.NaN()} {
		if got, err := contracts.HumidityCodec.Encode(contracts.Humidity{Percent: float32(p)}); err == nil {
			t.Errorf("Encode(percent %v) = %s; want an error", p, got)
		}
	}
}

func TestDewPointOf(t *testing.T) {
	tests := []struct {
		t    contracts.Temperature
		h    contracts.Humidity
		want contracts.DewPoint
	}{
		{contracts.Temperature{Celsius: 20, Timestamp: 10}, contracts.Humidity{Percent: 50, Timestamp: 20}, contracts.DewPoint{Celsius: 10, Timestamp: 20}},
		{contracts.Temperature{Celsius: 20, Timestamp: 30}, contracts.Humidity{Percent: 100, Timestamp: 20}, contracts.DewPoint{Celsius: 20, Timestamp: 30}},
		{contracts.Temperature{Celsius: 0, Timestamp: 5}, contracts.Humidity{Percent: 0, Timestamp: 5}, contracts.DewPoint{Celsius: -20, Timestamp: 5}},
	}
	for _, tt := range tests {
		if got := contracts.DewPointOf(tt.t, tt.h); got != tt.want {
			t.Errorf("DewPointOf(%+v, %+v) = %+v; want %+v", tt.t, tt.h, got, tt.want)
		}
	}
	b, err := json.Marshal(contracts.DewPoint{Celsius: 13.2, Timestamp: ts})
	if want := `{"celsius":13.2,"timestamp":1754044800000}`; err != nil || string(b) != want {
		t.Errorf("json.Marshal(DewPoint) = %s, %v; want %s", b, err, want)
	}
}

func TestKeysAndTopics(t *testing.T) {
	if got, want := contracts.TemperatureKey(7).Name(), "station.7.temperature"; got != want {
		t.Errorf("TemperatureKey(7) = %q; want %q", got, want)
	}
	if got, want := contracts.HumidityKey(0).Name(), "station.0.humidity"; got != want {
		t.Errorf("HumidityKey(0) = %q; want %q", got, want)
	}
	if got, want := contracts.DewPointKey(63).Name(), "station.63.dew_point"; got != want {
		t.Errorf("DewPointKey(63) = %q; want %q", got, want)
	}
	if got, want := contracts.TemperatureTopic(12), "station/12/temperature"; got != want {
		t.Errorf("TemperatureTopic(12) = %q; want %q", got, want)
	}
	if got, want := contracts.HumidityTopic(1), "station/1/humidity"; got != want {
		t.Errorf("HumidityTopic(1) = %q; want %q", got, want)
	}
	if got := contracts.Millis(time.UnixMilli(int64(ts))); got != ts {
		t.Errorf("Millis = %d; want %d", got, ts)
	}
}

func TestParseTopic(t *testing.T) {
	good := []struct {
		topic string
		slot  int
		kind  contracts.Kind
	}{
		{"station/0/temperature", 0, contracts.KindTemperature},
		{"station/7/humidity", 7, contracts.KindHumidity},
		{"station/65535/temperature", 65535, contracts.KindTemperature},
	}
	for _, tt := range good {
		slot, k, err := contracts.ParseTopic(tt.topic)
		if err != nil || slot != tt.slot || k != tt.kind {
			t.Errorf("ParseTopic(%q) = %d, %q, %v; want %d, %q", tt.topic, slot, k, err, tt.slot, tt.kind)
		}
	}
	bad := []struct{ topic, want string }{
		{"", "want station/<n>/temperature|humidity"},
		{"station/1", "want station/<n>/temperature|humidity"},
		{"station/1/temperature/x", "want station/<n>/temperature|humidity"},
		{"sensors/1/temperature", "want station/<n>/temperature|humidity"},
		{"station//temperature", "empty slot"},
		{"station/x/temperature", `slot "x" is not a decimal number`},
		{"station/-1/temperature", "not a decimal number"},
		{"station/+1/temperature", "not a decimal number"},
		{"station/01/temperature", "leading zero"},
		{"station/65536/temperature", "above 65535"},
		{"station/99999999999999999999999/temperature", "above 65535"},
		{"station/1/pressure", `unknown measurement "pressure"`},
		{"station/1/dew_point", "dew points are not published"},
	}
	for _, tt := range bad {
		slot, k, err := contracts.ParseTopic(tt.topic)
		if err == nil || !errors.Is(err, contracts.ErrNotMesh) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseTopic(%q) = %d, %q, %v; want an error containing %q", tt.topic, slot, k, err, tt.want)
		}
	}
	slot, k, err := contracts.ParseKey("station.3.dew_point")
	if err != nil || slot != 3 || k != contracts.KindDewPoint {
		t.Errorf("ParseKey(station.3.dew_point) = %d, %q, %v; want 3, dew_point", slot, k, err)
	}
	if _, _, err := contracts.ParseKey("station/3/temperature"); err == nil {
		t.Errorf("ParseKey accepted a topic")
	}
}

// A slot's key and topic parse back to the slot.
func TestParseRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 9, 10, 63, 64, 1000, contracts.MaxSlot} {
		for _, k := range []contracts.Kind{contracts.KindTemperature, contracts.KindHumidity} {
			slot, kind, err := contracts.ParseTopic(contracts.Topic(n, k))
			if err != nil || slot != n || kind != k {
				t.Errorf("ParseTopic(Topic(%d, %s)) = %d, %s, %v", n, k, slot, kind, err)
			}
			slot, kind, err = contracts.ParseKey(contracts.KeyName(n, k))
			if err != nil || slot != n || kind != k {
				t.Errorf("ParseKey(KeyName(%d, %s)) = %d, %s, %v", n, k, slot, kind, err)
			}
		}
	}
}
