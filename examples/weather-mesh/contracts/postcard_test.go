package contracts_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb/contract"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPostcardVectors checks the mesh's Postcard codecs against byte
// vectors worked out from the format and upstream's contracts
// (TemperatureV2 {schema_version u32, celsius f32, timestamp u64},
// HumidityV1 {percent f32, timestamp u64}), and what they refuse.
func TestPostcardVectors(t *testing.T) {
	const ts = 1754044800000
	for _, err := range []error{contracts.TemperaturePostcard.Validate(), contracts.HumidityPostcard.Validate(), contracts.DewPointPostcard.Validate()} {
		if err != nil {
			t.Fatal(err)
		}
	}
	enc := []struct {
		name string
		got  func() ([]byte, error)
		want string
	}{
		{"temperature v2", func() ([]byte, error) {
			return contracts.TemperaturePostcard.Encode(contracts.Temperature{Celsius: 21.5, Timestamp: ts})
		}, "02 00 00 ac 41 80 b8 de a9 86 33"},
		{"temperature as v1", func() ([]byte, error) {
			return contracts.TemperaturePostcard.As(1).Encode(contracts.Temperature{Celsius: 21.5, Timestamp: ts})
		}, "01 00 00 ac 41 80 b8 de a9 86 33 01 43"},
		{"humidity", func() ([]byte, error) {
			return contracts.HumidityPostcard.Encode(contracts.Humidity{Percent: 58.2, Timestamp: ts + 1000})
		}, "cd cc 68 42 e8 bf de a9 86 33"},
		{"dew point", func() ([]byte, error) {
			return contracts.DewPointPostcard.Encode(contracts.DewPoint{Celsius: -40})
		}, "00 00 20 c2 00"},
	}
	for _, tt := range enc {
		got, err := tt.got()
		if want := unhex(t, tt.want); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: % x, %v; want % x", tt.name, got, err, want)
		}
	}
	// A v1 reading in Fahrenheit is migrated: 70.5 °F (f32 0x428d0000).
	v, err := contracts.TemperaturePostcard.Decode(unhex(t, "01 00 00 8d 42 80 b8 de a9 86 33 01 46"))
	if want := float32((70.5 - 32) * 5 / 9); err != nil || v.Celsius != want || v.Timestamp != ts {
		t.Errorf("v1 °F: %+v, %v; want %v °C", v, err, want)
	}
	for _, tt := range []struct {
		name, in string
		kind     error
	}{
		{"empty", "", contract.ErrNoVersion},
		{"version 3", "03 00 00 ac 41 00", contract.ErrTooNew},
		{"truncated celsius", "02 00 00 ac", contract.ErrDecode},
		{"overlong timestamp", "02 00 00 ac 41 80 80 80 80 80 80 80 80 80 80 01", contract.ErrDecode},
		{"trailing byte", "02 00 00 ac 41 00 00", contract.ErrDecode},
		{"-300 °C", "02 00 00 96 c3 00", contract.ErrInvalid},
		{"NaN", "02 00 00 c0 7f 00", contract.ErrInvalid},
	} {
		if v, err := contracts.TemperaturePostcard.Decode(unhex(t, tt.in)); !errors.Is(err, tt.kind) {
			t.Errorf("%s: %+v, %v; want %v", tt.name, v, err, tt.kind)
		}
	}
	if v, err := contracts.HumidityPostcard.Decode(unhex(t, "00 00 cc 42 00")); !errors.Is(err, contract.ErrInvalid) {
		t.Errorf("102 %%: %+v, %v; want refused", v, err)
	}
}

func FuzzTemperaturePostcard(f *testing.F) {
	for _, s := range []string{"02 00 00 ac 41 80 b8 de a9 86 33", "01 00 00 8d 42 80 b8 de a9 86 33 01 46", "", "03", "02 00 00 c0 7f 00"} {
		f.Add(unhex(f, s))
	}
	c := contracts.TemperaturePostcard
	f.Fuzz(func(t *testing.T, payload []byte) {
		v, err := c.Decode(payload)
		if err != nil {
			return
		}
		enc, err := c.Encode(v)
		if err != nil {
			t.Fatalf("Decode(% x) = %+v, which does not encode: %v", payload, v, err)
		}
		if again, err := c.Decode(enc); err != nil || again != v {
			t.Fatalf("Decode(Encode(%+v)) = %+v, %v", v, again, err)
		}
	})
}
