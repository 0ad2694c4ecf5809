package postcard_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb/codec/postcard"
	"github.com/aimdb-go/aimdb/contract"
)

// The upstream weather contracts, with Go fields as upstream's Rust
// fields: TemperatureV2 {schema_version: u32, celsius: f32, timestamp:
// u64}, HumidityV1 {percent: f32, timestamp: u64}, DewPointV1 {celsius:
// f32, timestamp: u64}. The schema_version field is the contract's
// version field: ContractCodec writes it, so the Go type has no field
// for it. temperatureV1 is the legacy reading in any unit.
type temperatureV1 struct {
	Temp      float32
	Timestamp uint64
	Unit      string
}

type temperatureV2 struct {
	Celsius   float32
	Timestamp uint64
}

type humidityV1 struct {
	Percent   float32
	Timestamp uint64
}

type dewPointV1 struct {
	Celsius   float32
	Timestamp uint64
}

func (temperatureV1) Schema() contract.Schema {
	return contract.Schema{Name: "temperature", Version: 1}
}
func (temperatureV2) Schema() contract.Schema {
	return contract.Schema{Name: "temperature", Version: 2}
}
func (humidityV1) Schema() contract.Schema { return contract.Schema{Name: "humidity", Version: 1} }
func (dewPointV1) Schema() contract.Schema { return contract.Schema{Name: "dew_point", Version: 1} }

func (t temperatureV1) MarshalPostcard(e *postcard.Encoder) {
	e.F32(t.Temp)
	e.U64(t.Timestamp)
	e.Str(t.Unit)
}

func (t *temperatureV1) UnmarshalPostcard(d *postcard.Decoder) error {
	t.Temp = d.Field("temp").F32()
	t.Timestamp = d.Field("timestamp").U64()
	t.Unit = d.Field("unit").Str()
	return d.Err()
}

func (t temperatureV2) MarshalPostcard(e *postcard.Encoder) {
	e.F32(t.Celsius)
	e.U64(t.Timestamp)
}

func (t *temperatureV2) UnmarshalPostcard(d *postcard.Decoder) error {
	t.Celsius = d.Field("celsius").F32()
	t.Timestamp = d.Field("timestamp").U64()
	return d.Err()
}

func (h humidityV1) MarshalPostcard(e *postcard.Encoder) {
	e.F32(h.Percent)
	e.U64(h.Timestamp)
}

func (h *humidityV1) UnmarshalPostcard(d *postcard.Decoder) error {
	h.Percent = d.Field("percent").F32()
	h.Timestamp = d.Field("timestamp").U64()
	return d.Err()
}

func (p dewPointV1) MarshalPostcard(e *postcard.Encoder) {
	e.F32(p.Celsius)
	e.U64(p.Timestamp)
}

func (p *dewPointV1) UnmarshalPostcard(d *postcard.Decoder) error {
	p.Celsius = d.Field("celsius").F32()
	p.Timestamp = d.Field("timestamp").U64()
	return d.Err()
}

var temperatures = postcard.For(contract.New(contract.Def[temperatureV2]{
	VersionField: "schema_version",
	Steps: []contract.Step{contract.NewStep(
		func(v temperatureV1) (temperatureV2, error) {
			c := v.Temp
			if v.Unit == "F" {
				c = (v.Temp - 32) * 5 / 9
			}
			return temperatureV2{Celsius: c, Timestamp: v.Timestamp}, nil
		},
		func(v temperatureV2) (temperatureV1, error) {
			return temperatureV1{Temp: v.Celsius, Timestamp: v.Timestamp, Unit: "C"}, nil
		})},
	Check: func(v temperatureV2) error { return contract.Range("celsius", float64(v.Celsius), -90, 70) },
}))

var humidities = postcard.For(contract.New(contract.Def[humidityV1]{
	Check: func(v humidityV1) error { return contract.Range("percent", float64(v.Percent), 0, 100) },
}))

// The byte vectors, worked out from the format: a struct is its fields
// in order, with no framing.
func TestWeatherVectors(t *testing.T) {
	if err := errors.Join(temperatures.Validate(), humidities.Validate()); err != nil {
		t.Fatal(err)
	}
	const ts = 1754044800000 // 0x198_6537_9c00
	// ts as a varint: its 7-bit groups, least significant first, are
	// 0x00 0x38 0x5e 0x29 0x06 0x33; all but the last get the
	// continuation bit 0x80: 80 b8 de a9 86 33.
	// ts+1000 = 1754044801000: groups 0x68 0x3f 0x5e 0x29 0x06 0x33:
	// e8 bf de a9 86 33.
	tests := []struct {
		name string
		enc  func() ([]byte, error)
		want string
	}{
		{"TemperatureV2 {2, 21.5, ts}", func() ([]byte, error) { return temperatures.Encode(temperatureV2{21.5, ts}) },
			"02" + // schema_version: u32 varint 2
				" 00 00 ac 41" + // celsius: f32 21.5 = 0x41ac0000, little-endian
				" 80 b8 de a9 86 33"}, // timestamp: u64 varint ts
		{"HumidityV1 {58.2, ts+1000}", func() ([]byte, error) { return humidities.Encode(humidityV1{58.2, ts + 1000}) },
			"cd cc 68 42" + // percent: f32 58.2 = 0x4268cccd, little-endian
				" e8 bf de a9 86 33"}, // timestamp: u64 varint ts+1000
		{"DewPointV1 {-40, 0}", func() ([]byte, error) { return postcard.Of[dewPointV1]().Encode(dewPointV1{-40, 0}) },
			"00 00 20 c2" + // celsius: f32 -40 = 0xc2200000, little-endian
				" 00"}, // timestamp: u64 varint 0
		{"TemperatureV2 as v1 {1, 21.5, ts, \"C\"}", func() ([]byte, error) { return temperatures.As(1).Encode(temperatureV2{21.5, ts}) },
			"01" + // schema_version: u32 varint 1
				" 00 00 ac 41" + // temp: f32 21.5
				" 80 b8 de a9 86 33" + // timestamp
				" 01 43"}, // unit: str, length 1, "C"
	}
	for _, tt := range tests {
		got, err := tt.enc()
		if want := hex(t, tt.want); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: encoded % x, %v; want % x", tt.name, got, err, want)
		}
	}

	// Decoding: every version becomes the current value.
	for _, tt := range []struct {
		in   string
		want temperatureV2
	}{
		{"02 00 00 ac 41 80 b8 de a9 86 33", temperatureV2{21.5, ts}},
		{"01 00 00 ac 41 80 b8 de a9 86 33 01 43", temperatureV2{21.5, ts}},
		// v1 50 °F at 0 is 10 °C: 50 = 0x42480000.
		{"01 00 00 48 42 00 01 46", temperatureV2{10, 0}},
	} {
		got, err := temperatures.Decode(hex(t, tt.in))
		if err != nil || got != tt.want {
			t.Errorf("Decode(%s) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	if got, err := humidities.Decode(hex(t, "cd cc 68 42 e8 bf de a9 86 33")); err != nil || got != (humidityV1{58.2, ts + 1000}) {
		t.Errorf("Decode(HumidityV1) = %+v, %v", got, err)
	}
	if got, err := postcard.Of[dewPointV1]().Decode(hex(t, "00 00 20 c2 00")); err != nil || got != (dewPointV1{-40, 0}) {
		t.Errorf("Decode(DewPointV1) = %+v, %v", got, err)
	}
}

func TestWeatherRefusals(t *testing.T) {
	tests := []struct {
		in   string
		kind error
		want string
	}{
		{"", contract.ErrNoVersion, `contract "temperature": payload has no version: field "schema_version": empty payload`},
		{"80 80 80 80 80 01", contract.ErrNoVersion, `field "schema_version": postcard: byte 0: u32 varint is longer than 5 bytes`},
		{"03 00 00 ac 41 00", contract.ErrTooNew, `contract "temperature" v3: version too new: the newest known is v2`},
		{"00 00 00 ac 41 00", contract.ErrTooOld, `version too old`},
		{"02 00 00 ac", contract.ErrDecode, `contract "temperature" v2: payload does not decode: postcard: field "celsius" at byte 1: truncated: f32 needs 4 bytes, 3 left`},
		{"02 00 00 ac 41", contract.ErrDecode, `field "timestamp" at byte 5: truncated: u64 varint ends after 0 bytes`},
		{"02 00 00 ac 41 00 ff", contract.ErrDecode, `postcard: byte 6: 1 bytes after the value`},
		{"01 00 00 ac 41 00 02 c3 28", contract.ErrDecode, `contract "temperature" v1: payload does not decode: postcard: field "unit" at byte 7: string is not valid UTF-8`},
		// -300 = 0xc3960000; NaN = 0x7fc00000.
		{"02 00 00 96 c3 00", contract.ErrInvalid, `contract "temperature" v2: invalid value: field "celsius": -300 is outside -90 to 70`},
		{"02 00 00 c0 7f 00", contract.ErrInvalid, `field "celsius": NaN is not a finite number`},
	}
	for _, tt := range tests {
		got, err := temperatures.Decode(hex(t, tt.in))
		if err == nil || !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Decode(%s) = %+v, %v; want %v containing %q", tt.in, got, err, tt.kind, tt.want)
		}
	}
	// 101 % = 0x42ca0000.
	if _, err := humidities.Decode(hex(t, "00 00 ca 42 00")); !errors.Is(err, contract.ErrInvalid) {
		t.Errorf("Decode(101 %%) = %v; want ErrInvalid", err)
	}
	if b, err := temperatures.Encode(temperatureV2{Celsius: -300}); !errors.Is(err, contract.ErrInvalid) {
		t.Errorf("Encode(-300 °C) = % x, %v; want ErrInvalid", b, err)
	}
}

// A version type without the methods is a configuration error.
type bareV1 struct{ X float32 }

func (bareV1) Schema() contract.Schema { return contract.Schema{Name: "bare", Version: 1} }

type bareV2 struct{ X float32 }

func (bareV2) Schema() contract.Schema                      { return contract.Schema{Name: "bare", Version: 2} }
func (b bareV2) MarshalPostcard(e *postcard.Encoder)        { e.F32(b.X) }
func (b *bareV2) UnmarshalPostcard(*postcard.Decoder) error { return nil }

func TestForValidate(t *testing.T) {
	k := postcard.For(contract.New(contract.Def[bareV2]{VersionField: "v", Steps: []contract.Step{
		contract.NewStep(func(b bareV1) (bareV2, error) { return bareV2(b), nil }, nil),
	}}))
	err := k.Validate()
	for _, want := range []string{
		`postcard: contract "bare" v1: postcard_test.bareV1 has no MarshalPostcard method`,
		`postcard: contract "bare" v1: *postcard_test.bareV1 has no UnmarshalPostcard method`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v; want it to contain %q", err, want)
		}
	}
	if err := temperatures.As(3).Validate(); err == nil || !strings.Contains(err.Error(), "has no v3 to encode as") {
		t.Errorf("As(3).Validate() = %v", err)
	}
}
