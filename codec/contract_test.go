package codec_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/contract"
)

// The weather temperature contract of upstream: v1 in any unit, v2 in
// Celsius.
type tempV1 struct {
	Temp      float64 `json:"temp"`
	Timestamp uint64  `json:"timestamp"`
	Unit      string  `json:"unit,omitempty"`
}

type temp struct {
	Celsius   float64 `json:"celsius"`
	Timestamp uint64  `json:"timestamp"`
}

func (tempV1) Schema() contract.Schema { return contract.Schema{Name: "temperature", Version: 1} }
func (temp) Schema() contract.Schema   { return contract.Schema{Name: "temperature", Version: 2} }

var temps = contract.New(contract.Def[temp]{
	VersionField: "schema_version",
	Steps: []contract.Step{contract.NewStep(
		func(v tempV1) (temp, error) {
			c := v.Temp
			switch v.Unit {
			case "F":
				c = (v.Temp - 32) * 5 / 9
			case "K":
				c = v.Temp - 273.15
			}
			return temp{Celsius: c, Timestamp: v.Timestamp}, nil
		},
		func(v temp) (tempV1, error) { return tempV1{Temp: v.Celsius, Timestamp: v.Timestamp, Unit: "C"}, nil },
	)},
	Check: func(v temp) error { return contract.Range("celsius", v.Celsius, -90, 70) },
})

var tempJSON = codec.JSONFor(temps)

func TestContractJSONDecode(t *testing.T) {
	if err := tempJSON.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		payload string
		want    temp
	}{
		{`{"schema_version":2,"celsius":21.5,"timestamp":7}`, temp{21.5, 7}},
		{`{"timestamp":7,"celsius":-12.5,"schema_version":2,"station":"x"}`, temp{-12.5, 7}},
		{`{"schema_version":1,"temp":50,"timestamp":7,"unit":"F"}`, temp{10, 7}},
		{`{"schema_version":1,"temp":300,"timestamp":7,"unit":"K"}`, temp{300 - 273.15, 7}},
		{`{"schema_version":1,"temp":20,"timestamp":7}`, temp{20, 7}},
	}
	for _, tt := range tests {
		got, err := tempJSON.Decode([]byte(tt.payload))
		if err != nil || math.Abs(got.Celsius-tt.want.Celsius) > 1e-9 || got.Timestamp != tt.want.Timestamp {
			t.Errorf("Decode(%s) = %+v, %v; want %+v", tt.payload, got, err, tt.want)
		}
	}
}

func TestContractJSONRefuses(t *testing.T) {
	tests := []struct {
		payload string
		kind    error
		want    string
	}{
		{`{"schema_version":2,`, contract.ErrDecode, `contract "temperature": payload does not decode: malformed JSON at byte 20`},
		{`[2]`, contract.ErrDecode, `contract "temperature": payload does not decode: want a JSON object, got an array`},
		{`null`, contract.ErrDecode, `want a JSON object, got null`},
		{`{"celsius":21.5,"timestamp":7}`, contract.ErrNoVersion, `contract "temperature": payload has no version: field "schema_version": missing`},
		{`{"Schema_Version":2,"celsius":21.5,"timestamp":7}`, contract.ErrNoVersion, `field "schema_version": missing`},
		{`{"schema_version":"2","celsius":21.5,"timestamp":7}`, contract.ErrNoVersion, `field "schema_version": want an unsigned 32-bit integer, got "2"`},
		{`{"schema_version":2.0,"celsius":21.5,"timestamp":7}`, contract.ErrNoVersion, `got 2.0`},
		{`{"schema_version":-1,"celsius":21.5,"timestamp":7}`, contract.ErrNoVersion, `got -1`},
		{`{"schema_version":4294967296,"celsius":21.5,"timestamp":7}`, contract.ErrNoVersion, `got 4294967296`},
		{`{"schema_version":3,"celsius":21.5,"timestamp":7}`, contract.ErrTooNew, `contract "temperature" v3: version too new: the newest known is v2`},
		{`{"schema_version":0,"celsius":21.5,"timestamp":7}`, contract.ErrTooOld, `contract "temperature": version too old: v0 is below v1`},
		{`{"schema_version":2,"temp":21.5,"timestamp":7}`, contract.ErrDecode, `contract "temperature" v2: payload does not decode: field "celsius": missing`},
		{`{"schema_version":2,"Celsius":21.5,"timestamp":7}`, contract.ErrDecode, `field "celsius": missing`},
		{`{"schema_version":2,"celsius":null,"timestamp":7}`, contract.ErrDecode, `field "celsius": null, but the field is required`},
		{`{"schema_version":2,"celsius":"21.5","timestamp":7}`, contract.ErrDecode, `contract "temperature" v2: payload does not decode: field "celsius": want a number (float64), got string`},
		{`{"schema_version":2,"celsius":1e999,"timestamp":7}`, contract.ErrDecode, `field "celsius": want a number (float64), got number 1e999`},
		{`{"schema_version":2,"celsius":21.5,"timestamp":-7}`, contract.ErrDecode, `field "timestamp": want an unsigned integer (uint64), got number -7`},
		{`{"schema_version":1,"temp":21.5,"unit":"C"}`, contract.ErrDecode, `contract "temperature" v1: payload does not decode: field "timestamp": missing`},
		{`{"schema_version":2,"celsius":-300,"timestamp":7}`, contract.ErrInvalid, `contract "temperature" v2: invalid value: field "celsius": -300 is outside -90 to 70`},
		{`{"schema_version":1,"temp":212,"timestamp":7,"unit":"F"}`, contract.ErrInvalid, `field "celsius": 100 is outside -90 to 70`},
	}
	for _, tt := range tests {
		got, err := tempJSON.Decode([]byte(tt.payload))
		if err == nil {
			t.Errorf("Decode(%s) = %+v; want an error", tt.payload, got)
			continue
		}
		if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Decode(%s) = %q (kind %v: %v); want it to contain %q", tt.payload, err, tt.kind, errors.Is(err, tt.kind), tt.want)
		}
	}
}

func TestContractJSONStrict(t *testing.T) {
	strict := tempJSON.Strict()
	if _, err := strict.Decode([]byte(`{"schema_version":2,"celsius":1,"timestamp":7}`)); err != nil {
		t.Errorf("Strict Decode of a good payload = %v", err)
	}
	_, err := strict.Decode([]byte(`{"schema_version":2,"celsius":1,"timestamp":7,"zeta":1,"celcius":2}`))
	if want := `contract "temperature" v2: payload does not decode: field "celcius": unknown field`; err == nil || err.Error() != want {
		t.Errorf("Strict Decode with unknown fields = %v; want %s", err, want)
	}
	if _, err := tempJSON.Decode([]byte(`{"schema_version":2,"celsius":1,"timestamp":7,"celcius":2}`)); err != nil {
		t.Errorf("non-strict Decode with an unknown field = %v; want it ignored", err)
	}
}

func TestContractJSONEncode(t *testing.T) {
	v := temp{Celsius: 21.5, Timestamp: 7}
	tests := []struct {
		c    *codec.ContractJSON[temp]
		want string
	}{
		{tempJSON, `{"schema_version":2,"celsius":21.5,"timestamp":7}`},
		{tempJSON.As(2), `{"schema_version":2,"celsius":21.5,"timestamp":7}`},
		{tempJSON.As(1), `{"schema_version":1,"temp":21.5,"timestamp":7,"unit":"C"}`},
	}
	for _, tt := range tests {
		b, err := tt.c.Encode(v)
		if err != nil || string(b) != tt.want {
			t.Errorf("Encode = %s, %v; want %s", b, err, tt.want)
		}
		// Every version reads back as the value.
		back, err := tempJSON.Decode(b)
		if err != nil || back != v {
			t.Errorf("Decode(%s) = %+v, %v; want %+v", b, back, err, v)
		}
	}
	if b, err := tempJSON.Encode(temp{Celsius: math.NaN()}); !errors.Is(err, contract.ErrInvalid) {
		t.Errorf("Encode(NaN) = %s, %v; want ErrInvalid", b, err)
	}
	if err := tempJSON.As(3).Validate(); err == nil || !strings.Contains(err.Error(), `contract "temperature" has no v3 to encode as`) {
		t.Errorf("As(3).Validate() = %v", err)
	}
	if _, err := tempJSON.As(3).Encode(v); !errors.Is(err, contract.ErrTooNew) {
		t.Errorf("As(3).Encode = %v; want ErrTooNew", err)
	}
}

// A contract without a version field reads and writes the bare type.
type humidity struct {
	Percent   float64 `json:"percent"`
	Timestamp uint64  `json:"timestamp"`
	Station   *string `json:"station"` // optional: a pointer
}

func (humidity) Schema() contract.Schema { return contract.Schema{Name: "humidity", Version: 1} }

func TestContractJSONUnversioned(t *testing.T) {
	h := codec.JSONFor(contract.New(contract.Def[humidity]{
		Check: func(v humidity) error { return contract.Range("percent", v.Percent, 0, 100) },
	}))
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	got, err := h.Decode([]byte(`{"percent":58.5,"timestamp":9}`))
	if err != nil || got.Percent != 58.5 || got.Timestamp != 9 || got.Station != nil {
		t.Errorf("Decode = %+v, %v", got, err)
	}
	b, err := h.Encode(got)
	if want := `{"percent":58.5,"timestamp":9,"station":null}`; err != nil || string(b) != want {
		t.Errorf("Encode = %s, %v; want %s", b, err, want)
	}
	if _, err := h.Decode([]byte(`{"percent":101,"timestamp":9}`)); err == nil || err.Error() != `contract "humidity" v1: invalid value: field "percent": 101 is outside 0 to 100` {
		t.Errorf("Decode(101 %%) = %v", err)
	}
}

// Mistakes in the types are configuration errors.
type badV1 struct {
	V int `json:"schema_version"`
}

func (badV1) Schema() contract.Schema { return contract.Schema{Name: "bad", Version: 1} }

type scalar float64

func (scalar) Schema() contract.Schema { return contract.Schema{Name: "scalar", Version: 1} }

func TestContractJSONValidate(t *testing.T) {
	err := codec.JSONFor(contract.New(contract.Def[badV1]{VersionField: "schema_version"})).Validate()
	if want := `codec: contract "bad" v1: codec_test.badV1 has a field "schema_version", which is the version field; the codec writes it`; err == nil || err.Error() != want {
		t.Errorf("Validate() = %v; want %s", err, want)
	}
	err = codec.JSONFor(contract.New(contract.Def[scalar]{VersionField: "v"})).Validate()
	if want := `codec: contract "scalar" v1: codec_test.scalar is not a struct, so its JSON cannot carry the version field "v"`; err == nil || err.Error() != want {
		t.Errorf("Validate() = %v; want %s", err, want)
	}
	s := codec.JSONFor(contract.New(contract.Def[scalar]{}))
	if v, err := s.Decode([]byte(`2.5`)); err != nil || v != 2.5 {
		t.Errorf("Decode(2.5) = %v, %v", v, err)
	}
}
