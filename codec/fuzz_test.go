package codec_test

import (
	"testing"
)

// FuzzContractJSONDecode decodes any bytes with a contract of two
// versions: a value it accepts passes the contract's check and
// round-trips through every version.
func FuzzContractJSONDecode(f *testing.F) {
	for _, s := range []string{
		`{"schema_version":2,"celsius":21.5,"timestamp":7}`,
		`{"schema_version":1,"temp":50,"timestamp":7,"unit":"F"}`,
		`{"schema_version":1,"temp":300,"timestamp":7,"unit":"K"}`,
		`{"schema_version":3,"celsius":1,"timestamp":1}`,
		`{"celsius":1,"timestamp":1}`,
		`{"schema_version":2,"celsius":null,"timestamp":1}`,
		`{"schema_version":2,"celsius":1e308,"timestamp":18446744073709551615}`,
		`[]`, `null`, `{`, `"x"`,
	} {
		f.Add([]byte(s))
	}
	strict := tempJSON.Strict()
	v1 := tempJSON.As(1)
	f.Fuzz(func(t *testing.T, payload []byte) {
		v, err := tempJSON.Decode(payload)
		if _, serr := strict.Decode(payload); serr == nil && err != nil {
			t.Fatalf("Strict accepts %q, which the lenient codec refuses: %v", payload, err)
		}
		if err != nil {
			return
		}
		if !(v.Celsius >= -90 && v.Celsius <= 70) {
			t.Fatalf("Decode(%q) = %+v, which the check refuses", payload, v)
		}
		for _, c := range []interface {
			Encode(temp) ([]byte, error)
		}{tempJSON, v1} {
			enc, err := c.Encode(v)
			if err != nil {
				t.Fatalf("Decode(%q) = %+v, which does not encode: %v", payload, v, err)
			}
			again, err := strict.Decode(enc)
			if err != nil || again != v {
				t.Fatalf("Decode(%s) = %+v, %v; want %+v", enc, again, err, v)
			}
		}
	})
}
