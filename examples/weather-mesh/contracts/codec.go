package contracts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/aimdb-go/aimdb"
)

// ErrRejected is wrapped by every error of the codecs' Decode methods: the
// payload does not match its contract and must not be stored.
var ErrRejected = errors.New("contracts: rejected payload")

var (
	_ aimdb.Codec[Temperature] = TemperatureCodec{}
	_ aimdb.Codec[Humidity]    = HumidityCodec{}
)

// TemperatureCodec is the link and remote-access codec of temperature
// records. It is stateless; the zero value is ready to use.
//
// Decode accepts schema version 2 and migrates version 1 (see
// [TemperatureV1.Migrate]). It rejects, with an error wrapping
// ErrRejected that names the problem: a payload that is not a JSON
// object, a missing or non-integer schema_version, a version other than 1
// or 2, a missing celsius (v2) or temp (v1), a missing or negative
// timestamp, a field of the wrong JSON type, a unit that is not a string,
// and a temperature that is not a finite number. Unknown fields are
// ignored, as upstream does.
type TemperatureCodec struct{}

// Encode returns the version 2 JSON of v. It fails if v.Celsius is not
// finite.
func (TemperatureCodec) Encode(v Temperature) ([]byte, error) {
	if !finite(v.Celsius) {
		return nil, fmt.Errorf("contracts: temperature: celsius %v is not finite", v.Celsius)
	}
	b := make([]byte, 0, 64)
	b = append(b, `{"schema_version":2,"celsius":`...)
	b = appendFloat(b, v.Celsius)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendUint(b, v.Timestamp, 10)
	return append(b, '}'), nil
}

// Decode decodes a version 1 or 2 temperature payload.
func (TemperatureCodec) Decode(payload []byte) (Temperature, error) {
	f, err := fields(payload, "temperature")
	if err != nil {
		return Temperature{}, err
	}
	raw, ok := f["schema_version"]
	if !ok {
		return Temperature{}, reject("temperature", "missing schema_version (version 1 or 2 required)")
	}
	ver, err := integer(raw)
	if err != nil {
		return Temperature{}, reject("temperature", "schema_version: "+err.Error())
	}
	ts, err := timestamp(f, "temperature")
	if err != nil {
		return Temperature{}, err
	}
	switch {
	case ver == 2:
		c, err := number(f, "celsius", "temperature")
		if err != nil {
			return Temperature{}, err
		}
		return Temperature{Celsius: c, Timestamp: ts}, nil
	case ver == 1:
		t, err := number(f, "temp", "temperature")
		if err != nil {
			return Temperature{}, err
		}
		v1 := TemperatureV1{SchemaVersion: 1, Temp: t, Timestamp: ts}
		if u, ok := f["unit"]; ok {
			if err := json.Unmarshal(u, &v1.Unit); err != nil || isNull(u) {
				return Temperature{}, reject("temperature", "unit: want a string, got "+kind(u))
			}
		}
		m := v1.Migrate()
		if !finite(m.Celsius) {
			return Temperature{}, reject("temperature", fmt.Sprintf("temp %v %s is not a finite temperature", t, v1.Unit))
		}
		return m, nil
	case ver > TemperatureSchemaVersion:
		return Temperature{}, reject("temperature", fmt.Sprintf("schema_version %d is newer than %d, the newest known", ver, TemperatureSchemaVersion))
	default:
		return Temperature{}, reject("temperature", fmt.Sprintf("unknown schema_version %d (want 1 or 2)", ver))
	}
}

// MarshalJSON returns the version 2 JSON of t, as TemperatureCodec.Encode.
func (t Temperature) MarshalJSON() ([]byte, error) { return TemperatureCodec{}.Encode(t) }

// UnmarshalJSON decodes a version 1 or 2 payload, as
// TemperatureCodec.Decode.
func (t *Temperature) UnmarshalJSON(b []byte) error {
	v, err := TemperatureCodec{}.Decode(b)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// HumidityCodec is the link and remote-access codec of humidity records.
// It is stateless; the zero value is ready to use.
//
// Decode rejects, with an error wrapping ErrRejected that names the
// problem: a payload that is not a JSON object, a missing or non-numeric
// percent, a percent outside 0..100, and a missing or negative timestamp.
// Encode refuses a percent outside 0..100.
type HumidityCodec struct{}

// Encode returns the JSON of v.
func (HumidityCodec) Encode(v Humidity) ([]byte, error) {
	if !(v.Percent >= 0 && v.Percent <= 100) {
		return nil, fmt.Errorf("contracts: humidity: percent %v outside 0..100", v.Percent)
	}
	b := make([]byte, 0, 48)
	b = append(b, `{"percent":`...)
	b = appendFloat(b, v.Percent)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendUint(b, v.Timestamp, 10)
	return append(b, '}'), nil
}

// Decode decodes a humidity payload.
func (HumidityCodec) Decode(payload []byte) (Humidity, error) {
	f, err := fields(payload, "humidity")
	if err != nil {
		return Humidity{}, err
	}
	p, err := number(f, "percent", "humidity")
	if err != nil {
		return Humidity{}, err
	}
	if p < 0 || p > 100 {
		return Humidity{}, reject("humidity", fmt.Sprintf("percent %v outside 0..100", p))
	}
	ts, err := timestamp(f, "humidity")
	if err != nil {
		return Humidity{}, err
	}
	return Humidity{Percent: p, Timestamp: ts}, nil
}

// UnmarshalJSON decodes a humidity payload, as HumidityCodec.Decode.
func (h *Humidity) UnmarshalJSON(b []byte) error {
	v, err := HumidityCodec{}.Decode(b)
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// A decodeError is a payload rejected by a codec of this package.
type decodeError struct {
	what, msg string
}

func (e *decodeError) Error() string {
	return "contracts: " + e.what + ": rejected payload: " + e.msg
}

func (e *decodeError) Unwrap() error { return ErrRejected }

func reject(what, msg string) error { return &decodeError{what: what, msg: msg} }

// fields splits a JSON object into its members. Names match exactly, as
// serde's do (encoding/json would match them case-insensitively).
func fields(payload []byte, what string) (map[string]json.RawMessage, error) {
	var f map[string]json.RawMessage
	if err := json.Unmarshal(payload, &f); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, reject(what, fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se))
		}
		return nil, reject(what, "want a JSON object, got "+kind(payload))
	}
	if f == nil {
		return nil, reject(what, "want a JSON object, got null")
	}
	return f, nil
}

// number returns the finite number f[name].
func number(f map[string]json.RawMessage, name, what string) (float64, error) {
	raw, ok := f[name]
	if !ok {
		return 0, reject(what, "missing "+name)
	}
	var v float64
	if isNull(raw) || json.Unmarshal(raw, &v) != nil {
		if kind(raw) == "a number" {
			return 0, reject(what, name+": "+string(raw)+" is not a finite number")
		}
		return 0, reject(what, name+": want a number, got "+kind(raw))
	}
	if !finite(v) {
		return 0, reject(what, name+": not a finite number")
	}
	return v, nil
}

func timestamp(f map[string]json.RawMessage, what string) (uint64, error) {
	raw, ok := f["timestamp"]
	if !ok {
		return 0, reject(what, "missing timestamp")
	}
	var v uint64
	if isNull(raw) || json.Unmarshal(raw, &v) != nil {
		return 0, reject(what, "timestamp: want Unix milliseconds as an unsigned integer, got "+describe(raw))
	}
	return v, nil
}

// integer parses a JSON integer.
func integer(raw json.RawMessage) (int64, error) {
	var v int64
	if isNull(raw) || json.Unmarshal(raw, &v) != nil {
		return 0, errors.New("want an integer, got " + describe(raw))
	}
	return v, nil
}

func isNull(raw []byte) bool { return string(raw) == "null" }

// kind names the JSON type of raw, which is valid JSON.
func kind(raw []byte) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// describe is kind, quoting numbers.
func describe(raw []byte) string {
	if k := kind(raw); k != "a number" {
		return k
	}
	return string(raw)
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// appendFloat appends f as JSON does: the shortest text that reads back
// as f.
func appendFloat(b []byte, f float64) []byte {
	fmt := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		fmt = 'e'
	}
	return strconv.AppendFloat(b, f, fmt, -1, 64)
}
