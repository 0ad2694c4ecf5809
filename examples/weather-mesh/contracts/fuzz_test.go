package contracts_test

import (
	"testing"

	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
)

func FuzzTemperatureDecode(f *testing.F) {
	for _, s := range []string{
		`{"schema_version":2,"celsius":21.4,"timestamp":1754044800000}`,
		`{"schema_version":1,"temp":70.5,"timestamp":1754044800000,"unit":"F"}`,
		`{"schema_version":1,"temp":300,"timestamp":1,"unit":"K"}`,
		`{"schema_version":3,"celsius":1,"timestamp":1}`,
		`{"celsius":1,"timestamp":1}`,
		`{"schema_version":2,"celsius":1e308,"timestamp":18446744073709551615}`,
		`{"schema_version":1,"temp":-1.7976931348623157e308,"timestamp":1,"unit":"F"}`,
		`[]`, `null`, `{`,
	} {
		f.Add([]byte(s))
	}
	c := contracts.TemperatureCodec
	f.Fuzz(func(t *testing.T, payload []byte) {
		v, err := c.Decode(payload)
		if err != nil {
			return
		}
		enc, err := c.Encode(v)
		if err != nil {
			t.Fatalf("Decode(%q) = %+v, which does not encode: %v", payload, v, err)
		}
		again, err := c.Decode(enc)
		if err != nil || again != v {
			t.Fatalf("Decode(Encode(%+v)) = %+v, %v (encoded %s)", v, again, err, enc)
		}
	})
}

func FuzzHumidityDecode(f *testing.F) {
	for _, s := range []string{
		`{"percent":58.2,"timestamp":1754044800000}`,
		`{"percent":0,"timestamp":0}`,
		`{"percent":100.1,"timestamp":1}`,
		`{"percent":"5","timestamp":1}`,
		`{"timestamp":1}`,
		`[]`, `null`, `{`,
	} {
		f.Add([]byte(s))
	}
	c := contracts.HumidityCodec
	f.Fuzz(func(t *testing.T, payload []byte) {
		v, err := c.Decode(payload)
		if err != nil {
			return
		}
		if !(v.Percent >= 0 && v.Percent <= 100) {
			t.Fatalf("Decode(%q) = %+v: percent out of range", payload, v)
		}
		enc, err := c.Encode(v)
		if err != nil {
			t.Fatalf("Decode(%q) = %+v, which does not encode: %v", payload, v, err)
		}
		again, err := c.Decode(enc)
		if err != nil || again != v {
			t.Fatalf("Decode(Encode(%+v)) = %+v, %v (encoded %s)", v, again, err, enc)
		}
	})
}
