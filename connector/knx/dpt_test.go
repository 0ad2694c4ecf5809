package knx_test

import (
	"math"
	"testing"
	"unicode"

	"github.com/aimdb-go/aimdb/connector/knx"
	"github.com/vapourismo/knx-go/knx/dpt"
	"pgregory.net/rapid"
)

// roundTrip checks Decode(Encode(v)) against v with eq.
func roundTrip[T any](t *rapid.T, c interface {
	Encode(T) ([]byte, error)
	Decode([]byte) (T, error)
}, v T, eq func(a, b T) bool) {
	b, err := c.Encode(v)
	if err != nil {
		t.Fatalf("Encode(%v): %v", v, err)
	}
	got, err := c.Decode(b)
	if err != nil {
		t.Fatalf("Decode(Encode(%v) = % x): %v", v, b, err)
	}
	if !eq(got, v) {
		t.Fatalf("Decode(Encode(%v)) = %v (% x)", v, got, b)
	}
}

func equal[T comparable](a, b T) bool { return a == b }

func TestDPTRoundTrip(t *testing.T) {
	t.Run("1.001", func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) { roundTrip(t, knx.Bool{}, rapid.Bool().Draw(t, "v"), equal) })
	})
	t.Run("5.001", func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) {
			v := rapid.Float64Range(0, 100).Draw(t, "v")
			roundTrip(t, knx.Percent{}, v, func(a, b float64) bool { return math.Abs(a-b) <= 100.0/255/2+1e-9 })
		})
	})
	t.Run("5.010", func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) { roundTrip(t, knx.Uint8{}, rapid.Uint8().Draw(t, "v"), equal) })
	})
	t.Run("7.001", func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) { roundTrip(t, knx.Uint16{}, rapid.Uint16().Draw(t, "v"), equal) })
	})
	for _, c := range []knx.Float16{knx.Temperature, knx.Humidity} {
		t.Run(c.DPT, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				v := rapid.Float64Range(c.Min, c.Max).Draw(t, "v")
				// The step is 0.01·2^E; E is the smallest exponent that
				// holds the value, so the error is at most half a step.
				e := 0
				for math.Abs(v*100)/float64(int(1)<<e) > 2047 {
					e++
				}
				roundTrip(t, c, v, func(a, b float64) bool { return math.Abs(a-b) <= 0.005*float64(int(1)<<e)+1e-9 })
			})
		})
	}
	t.Run("12.001", func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) { roundTrip(t, knx.Uint32{}, rapid.Uint32().Draw(t, "v"), equal) })
	})
	t.Run("13.001", func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) { roundTrip(t, knx.Int32{}, rapid.Int32().Draw(t, "v"), equal) })
	})
	t.Run("14.x", func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) {
			bits := rapid.Uint32().Draw(t, "bits")
			roundTrip(t, knx.Float32{}, math.Float32frombits(bits), func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) })
		})
	})
	t.Run("16.000", func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) {
			s := rapid.StringOfN(rapid.RuneFrom(nil, &unicode.RangeTable{R16: []unicode.Range16{{Lo: 1, Hi: 0x7f, Stride: 1}}}), 0, 14, 14).Draw(t, "s")
			roundTrip(t, knx.String{}, s, equal)
		})
	})
}

// TestDPTKnownValues pins encodings from the KNX specification and
// AimDB's reference (DPT 9: 21.5 °C is 0x0C33; 5.001: 48 % is 122).
func TestDPTKnownValues(t *testing.T) {
	tests := []struct {
		name string
		enc  func() ([]byte, error)
		want []byte
	}{
		{"9.001 21.5", func() ([]byte, error) { return knx.Temperature.Encode(21.5) }, []byte{0x0c, 0x33}},
		{"9.001 0", func() ([]byte, error) { return knx.Temperature.Encode(0) }, []byte{0, 0}},
		{"9.001 -30", func() ([]byte, error) { return knx.Temperature.Encode(-30) }, []byte{0x8a, 0x24}},
		{"9.001 max", func() ([]byte, error) { return knx.Float16{}.Encode(670433.28) }, []byte{0x7f, 0xfe}},
		{"9.x min", func() ([]byte, error) { return knx.Float16{}.Encode(-671088.64) }, []byte{0xf8, 0x00}},
		{"5.001 48", func() ([]byte, error) { return knx.Percent{}.Encode(48) }, []byte{122}},
		{"5.001 100", func() ([]byte, error) { return knx.Percent{}.Encode(100) }, []byte{255}},
		{"1.001 on", func() ([]byte, error) { return knx.Bool{}.Encode(true) }, []byte{1}},
		{"7.001", func() ([]byte, error) { return knx.Uint16{}.Encode(0x1234) }, []byte{0x12, 0x34}},
		{"13.001 -2", func() ([]byte, error) { return knx.Int32{}.Encode(-2) }, []byte{0xff, 0xff, 0xff, 0xfe}},
		{"14.x 1.0", func() ([]byte, error) { return knx.Float32{}.Encode(1) }, []byte{0x3f, 0x80, 0, 0}},
		{"16.000", func() ([]byte, error) { return knx.String{}.Encode("KNX is OK") }, []byte("KNX is OK\x00\x00\x00\x00\x00")},
	}
	for _, tt := range tests {
		got, err := tt.enc()
		if err != nil || string(got) != string(tt.want) {
			t.Errorf("%s: % x, %v; want % x", tt.name, got, err, tt.want)
		}
	}
}

// TestDPTRefused: out-of-range values and malformed payloads are errors.
func TestDPTRefused(t *testing.T) {
	encs := map[string]error{}
	_, encs["9.001 -274"] = knx.Temperature.Encode(-274)
	_, encs["9.007 -1"] = knx.Humidity.Encode(-1)
	_, encs["9.x NaN"] = knx.Float16{}.Encode(math.NaN())
	_, encs["9.x 1e9"] = knx.Float16{}.Encode(1e9)
	_, encs["5.001 101"] = knx.Percent{}.Encode(101)
	_, encs["5.001 NaN"] = knx.Percent{}.Encode(math.NaN())
	_, encs["16.000 long"] = knx.String{}.Encode("fifteen chars!!")
	_, encs["16.000 umlaut"] = knx.String{}.Encode("grün")
	_, encs["1.001 [2]"] = knx.Bool{}.Decode([]byte{2})
	_, encs["1.001 []"] = knx.Bool{}.Decode(nil)
	_, encs["5.001 2 bytes"] = knx.Percent{}.Decode([]byte{0, 1})
	_, encs["7.001 1 byte"] = knx.Uint16{}.Decode([]byte{1})
	_, encs["9.001 1 byte"] = knx.Temperature.Decode([]byte{1})
	_, encs["9.001 0x7fff"] = knx.Temperature.Decode([]byte{0x7f, 0xff})
	_, encs["9.001 below -273"] = knx.Temperature.Decode([]byte{0xb0, 0x00}) // -1310.72
	_, encs["12.001 3 bytes"] = knx.Uint32{}.Decode([]byte{1, 2, 3})
	_, encs["13.001 5 bytes"] = knx.Int32{}.Decode([]byte{1, 2, 3, 4, 5})
	_, encs["14.x 2 bytes"] = knx.Float32{}.Decode([]byte{1, 2})
	_, encs["16.000 13 bytes"] = knx.String{}.Decode(make([]byte, 13))
	_, encs["16.000 after NUL"] = knx.String{}.Decode([]byte("ab\x00c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	for name, err := range encs {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestFloat16AgainstKnxGo decodes knx-go's DPT 9 encodings and has
// knx-go decode ours: the two agree on the format (knx-go truncates where
// this package rounds, so encodings may differ by one step).
func TestFloat16AgainstKnxGo(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := rapid.Float64Range(-273, 670433).Draw(t, "v")
		theirs := dpt.DPT_9001(v).Pack() // [6-bit field, hi, lo]
		got, err := knx.Float16{}.Decode(theirs[1:])
		if err != nil {
			t.Fatal(err)
		}
		var back dpt.DPT_9001
		if err := back.Unpack(theirs); err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-float64(back)) > 1e-3*math.Max(1, math.Abs(got)) {
			t.Fatalf("% x: knx-go decodes %v, this package %v", theirs, float64(back), got)
		}
		ours, _ := knx.Temperature.Encode(v)
		var dec dpt.DPT_9001
		if err := dec.Unpack(append([]byte{0}, ours...)); err != nil {
			t.Fatal(err)
		}
		mine, _ := knx.Temperature.Decode(ours)
		if math.Abs(float64(dec)-mine) > 1e-3*math.Max(1, math.Abs(mine)) {
			t.Fatalf("% x: knx-go decodes %v, this package %v", ours, float64(dec), mine)
		}
	})
}

// FuzzDPT decodes arbitrary payloads with every codec: no panic, and a
// payload that decodes re-encodes to a payload that decodes to the same
// value.
func FuzzDPT(f *testing.F) {
	for _, s := range [][]byte{{0}, {1}, {0x0c, 0x33}, {0x7f, 0xff}, {1, 2, 3, 4}, []byte("KNX is OK\x00\x00\x00\x00\x00"), {}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		check(t, knx.Bool{}, b, equal)
		check(t, knx.Percent{}, b, func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })
		check(t, knx.Uint8{}, b, equal)
		check(t, knx.Uint16{}, b, equal)
		check(t, knx.Temperature, b, func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(a)) })
		check(t, knx.Humidity, b, func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(a)) })
		check(t, knx.Float16{}, b, func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(a)) })
		check(t, knx.Uint32{}, b, equal)
		check(t, knx.Int32{}, b, equal)
		check(t, knx.Float32{}, b, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) })
		check(t, knx.String{}, b, equal)
	})
}

func check[T any](t *testing.T, c interface {
	Encode(T) ([]byte, error)
	Decode([]byte) (T, error)
}, b []byte, eq func(a, b T) bool) {
	v, err := c.Decode(b)
	if err != nil {
		return
	}
	e, err := c.Encode(v)
	if err != nil {
		t.Fatalf("%T: Decode(% x) = %v, which does not encode: %v", c, b, v, err)
	}
	w, err := c.Decode(e)
	if err != nil || !eq(v, w) {
		t.Fatalf("%T: % x → %v → % x → %v, %v", c, b, v, e, w, err)
	}
}
