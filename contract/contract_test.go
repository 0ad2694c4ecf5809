package contract_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb/contract"
)

// A three-version chain: a reading in any unit (v1), in Celsius (v2),
// in Celsius with the sensor's name (v3).
type readingV1 struct {
	Temp float64
	Unit string
}

type readingV2 struct{ Celsius float64 }

type reading struct {
	Celsius float64
	Sensor  string
}

func (readingV1) Schema() contract.Schema { return contract.Schema{Name: "reading", Version: 1} }
func (readingV2) Schema() contract.Schema { return contract.Schema{Name: "reading", Version: 2} }
func (reading) Schema() contract.Schema   { return contract.Schema{Name: "reading", Version: 3} }

func v1to2(v readingV1) (readingV2, error) {
	switch v.Unit {
	case "C":
		return readingV2{Celsius: v.Temp}, nil
	case "F":
		return readingV2{Celsius: (v.Temp - 32) * 5 / 9}, nil
	}
	return readingV2{}, fmt.Errorf("unit %q is not C or F", v.Unit)
}

func v2to1(v readingV2) (readingV1, error) { return readingV1{Temp: v.Celsius, Unit: "C"}, nil }

func v2to3(v readingV2) (reading, error) { return reading{Celsius: v.Celsius, Sensor: "unknown"}, nil }

func v3to2(v reading) (readingV2, error) { return readingV2{Celsius: v.Celsius}, nil }

func checkReading(v reading) error { return contract.Range("celsius", v.Celsius, -90, 70) }

var readings = contract.New(contract.Def[reading]{
	VersionField: "schema_version",
	Steps:        []contract.Step{contract.NewStep(v1to2, v2to1), contract.NewStep(v2to3, v3to2)},
	Check:        checkReading,
})

// fillWith returns a fill function that stores v into the pointer the
// contract hands it, as a codec would after decoding v.
func fillWith(v any) func(p any) error {
	return func(p any) error {
		switch p := p.(type) {
		case *readingV1:
			*p = v.(readingV1)
		case *readingV2:
			*p = v.(readingV2)
		case *reading:
			*p = v.(reading)
		default:
			return fmt.Errorf("unexpected %T", p)
		}
		return nil
	}
}

func TestDecodeMigrates(t *testing.T) {
	if err := readings.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	tests := []struct {
		version uint32
		in      any
		want    reading
	}{
		{1, readingV1{Temp: 50, Unit: "F"}, reading{Celsius: 10, Sensor: "unknown"}},
		{1, readingV1{Temp: -5, Unit: "C"}, reading{Celsius: -5, Sensor: "unknown"}},
		{2, readingV2{Celsius: 21.5}, reading{Celsius: 21.5, Sensor: "unknown"}},
		{3, reading{Celsius: 1, Sensor: "roof"}, reading{Celsius: 1, Sensor: "roof"}},
	}
	for _, tt := range tests {
		got, err := readings.Decode(tt.version, fillWith(tt.in))
		if err != nil || got != tt.want {
			t.Errorf("Decode(v%d, %+v) = %+v, %v; want %+v", tt.version, tt.in, got, err, tt.want)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	tests := []struct {
		name    string
		version uint32
		in      any
		fill    func(any) error
		kind    error
		want    string
	}{
		{"too new", 4, reading{}, nil, contract.ErrTooNew, `contract "reading" v4: version too new: the newest known is v3`},
		{"version 0", 0, reading{}, nil, contract.ErrTooOld, `contract "reading": version too old: v0 is below v1, the oldest there is`},
		{"step fails", 1, readingV1{Temp: 1, Unit: "K"}, nil, contract.ErrMigrate, `contract "reading": migration failed: v1 to v2: unit "K" is not C or F`},
		{"invalid after migration", 1, readingV1{Temp: 212, Unit: "F"}, nil, contract.ErrInvalid, `contract "reading" v3: invalid value: field "celsius": 100 is outside -90 to 70`},
		{"invalid current", 3, reading{Celsius: math.NaN()}, nil, contract.ErrInvalid, `contract "reading" v3: invalid value: field "celsius": NaN is not a finite number`},
		{"fill fails", 2, nil, func(any) error { return contract.Field("celsius", errors.New("want a number")) }, contract.ErrDecode,
			`contract "reading" v2: payload does not decode: field "celsius": want a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fill := tt.fill
			if fill == nil {
				fill = fillWith(tt.in)
			}
			got, err := readings.Decode(tt.version, fill)
			if err == nil {
				t.Fatalf("Decode = %+v; want an error", got)
			}
			var ce *contract.Error
			if !errors.Is(err, tt.kind) || !errors.As(err, &ce) || err.Error() != tt.want {
				t.Errorf("Decode error %q (kind ok: %v); want %q", err, errors.Is(err, tt.kind), tt.want)
			}
		})
	}
	err := readings.NoVersion(nil)
	if want := `contract "reading": payload has no version: field "schema_version": missing`; !errors.Is(err, contract.ErrNoVersion) || err.Error() != want {
		t.Errorf("NoVersion(nil) = %q; want %q", err, want)
	}
}

func TestEncodeDowngrades(t *testing.T) {
	v := reading{Celsius: 20, Sensor: "roof"}
	want := map[uint32]any{1: readingV1{Temp: 20, Unit: "C"}, 2: readingV2{Celsius: 20}, 3: v}
	for version, w := range want {
		var got any
		err := readings.Encode(v, version, func(p any) error {
			switch p := p.(type) {
			case *readingV1:
				got = *p
			case *readingV2:
				got = *p
			case *reading:
				got = *p
			}
			return nil
		})
		if err != nil || got != w {
			t.Errorf("Encode(%+v, v%d) emitted %+v, %v; want %+v", v, version, got, err, w)
		}
		// And back up: every version round-trips to the value less
		// what the old version cannot hold.
		back, err := readings.Decode(version, fillWith(got))
		if version < 3 {
			v := v
			v.Sensor = "unknown"
			if err != nil || back != v {
				t.Errorf("Decode(v%d, Encode) = %+v, %v; want %+v", version, back, err, v)
			}
		}
	}
	emit := func(any) error { return nil }
	for _, tt := range []struct {
		v       reading
		version uint32
		kind    error
	}{
		{v, 4, contract.ErrTooNew},
		{v, 0, contract.ErrTooOld},
		{reading{Celsius: 71}, 3, contract.ErrInvalid},
	} {
		if err := readings.Encode(tt.v, tt.version, emit); !errors.Is(err, tt.kind) {
			t.Errorf("Encode(%+v, v%d) = %v; want %v", tt.v, tt.version, err, tt.kind)
		}
	}
	noDown := contract.New(contract.Def[reading]{
		VersionField: "v",
		Steps:        []contract.Step{contract.NewStep(v1to2, nil), contract.NewStep(v2to3, v3to2)},
	})
	if err := noDown.Encode(v, 2, emit); err != nil {
		t.Errorf("Encode(v2) without a v2→v1 down = %v", err)
	}
	err := noDown.Encode(v, 1, emit)
	if !errors.Is(err, contract.ErrMigrate) || !strings.Contains(err.Error(), "v2 to v1: no down function") {
		t.Errorf("Encode(v1) without a down function = %v; want ErrMigrate naming v2 to v1", err)
	}
}

// Mistakes in a chain are reported all at once, each naming the
// contract and the versions.
type otherV1 struct{}
type skipV3 struct{}
type wrongV2 struct{}
type zeroVersion struct{}

func (otherV1) Schema() contract.Schema     { return contract.Schema{Name: "other", Version: 1} }
func (skipV3) Schema() contract.Schema      { return contract.Schema{Name: "reading", Version: 3} }
func (wrongV2) Schema() contract.Schema     { return contract.Schema{Name: "reading", Version: 2} }
func (zeroVersion) Schema() contract.Schema { return contract.Schema{Name: ""} }

func up[Old, New any](Old) (New, error) { var n New; return n, nil }

func TestValidateChain(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		wants []string
	}{
		{"gap", contract.New(contract.Def[reading]{VersionField: "v", Steps: []contract.Step{
			contract.NewStep(up[readingV1, skipV3], nil),
		}}).Validate(), []string{
			`contract "reading": step 1 (contract_test.readingV1 v1 → contract_test.skipV3 v3): a step must go up by exactly one version`,
			`the last step (contract_test.readingV1 v1 → contract_test.skipV3 v3) goes to contract_test.skipV3, not to contract_test.reading`,
		}},
		{"wrong start and wrong end", contract.New(contract.Def[reading]{VersionField: "v", Steps: []contract.Step{
			contract.NewStep(up[readingV2, reading], nil), contract.NewStep(up[reading, readingV2], nil),
		}}).Validate(), []string{
			`step 1 (contract_test.readingV2 v2 → contract_test.reading v3) starts at v2; the first step must start at v1`,
			`step 2 (contract_test.reading v3 → contract_test.readingV2 v2): a step must go up by exactly one version`,
			`step 1 ends at v3 but step 2 starts at v3`, // not reported: they are consecutive
			`the last step (contract_test.reading v3 → contract_test.readingV2 v2) ends at v2; it must end at v3, the version of contract_test.reading`,
		}},
		{"not consecutive, types do not chain", contract.New(contract.Def[reading]{VersionField: "v", Steps: []contract.Step{
			contract.NewStep(up[readingV1, wrongV2], nil), contract.NewStep(up[readingV2, reading], nil),
		}}).Validate(), []string{
			`step 1 goes to contract_test.wrongV2 but step 2 starts from contract_test.readingV2`,
		}},
		{"no steps, no field, other name, nil up", contract.New(contract.Def[reading]{Steps: []contract.Step{
			contract.NewStep[otherV1, readingV2](nil, nil), contract.NewStep(v2to3, nil),
		}}).Validate(), []string{
			`contract "reading": migration steps need a VersionField`,
			`step 1 (contract_test.otherV1 v1 → contract_test.readingV2 v2): nil up function`,
			`step 1 (contract_test.otherV1 v1 → contract_test.readingV2 v2): the types declare schemas "other" and "reading", not "reading"`,
		}},
		{"v3 without steps", contract.New(contract.Def[reading]{}).Validate(), []string{
			`contract "reading": contract_test.reading is v3 but there are no migration steps; versions 1 to 2 need one step each`,
		}},
		{"empty name, version 0", contract.New(contract.Def[zeroVersion]{}).Validate(), []string{
			`contract "": contract_test.zeroVersion declares an empty schema name`,
			`contract_test.zeroVersion declares version 0; versions count from 1`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("Validate() = nil; want errors")
			}
			for _, w := range tt.wants {
				absent := strings.HasPrefix(w, "step 1 ends at v3 but step 2 starts at v3")
				if got := strings.Contains(tt.err.Error(), w); got == absent {
					t.Errorf("Validate() =\n%v\nwant it to contain (%v):\n%s", tt.err, !absent, w)
				}
			}
		})
	}
	// A contract declared wrongly refuses to decode or encode.
	bad := contract.New(contract.Def[reading]{})
	if _, err := bad.Decode(3, fillWith(reading{})); err == nil || !strings.Contains(err.Error(), "is declared wrongly") {
		t.Errorf("Decode on a bad contract = %v; want the declaration error", err)
	}
}

func TestVersionsAndValue(t *testing.T) {
	got := readings.Versions()
	want := []contract.Version{
		{Schema: contract.Schema{Name: "reading", Version: 1}, Type: "contract_test.readingV1"},
		{Schema: contract.Schema{Name: "reading", Version: 2}, Type: "contract_test.readingV2"},
		{Schema: contract.Schema{Name: "reading", Version: 3}, Type: "contract_test.reading"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Versions() = %v; want %v", got, want)
	}
	for v, want := range map[uint32]string{0: "<nil>", 1: "*contract_test.readingV1", 2: "*contract_test.readingV2", 3: "*contract_test.reading", 4: "<nil>"} {
		if got := fmt.Sprintf("%T", readings.Value(v)); got != want {
			t.Errorf("Value(%d) is a %s; want %s", v, got, want)
		}
	}
	if got, want := readings.Schema().String(), `"reading" v3`; got != want {
		t.Errorf("Schema().String() = %s; want %s", got, want)
	}
}

type twin struct{}

func (twin) Schema() contract.Schema { return contract.Schema{Name: "reading", Version: 2} }

func TestRegistry(t *testing.T) {
	var r contract.Registry
	if err := r.Register(readings); err != nil {
		t.Fatalf("Register = %v", err)
	}
	err := r.Register(contract.New(contract.Def[twin]{VersionField: "v", Steps: []contract.Step{contract.NewStep(up[readingV1, twin], nil)}}))
	for _, want := range []string{
		`contract: schema "reading" v1 registered twice: by contract_test.readingV1 and by contract_test.readingV1`,
		`contract: schema "reading" v2 registered twice: by contract_test.readingV2 and by contract_test.twin`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(r.Err().Error(), want) {
			t.Errorf("Register(twin) = %v; want it to contain %q", err, want)
		}
	}
	if v, ok := r.Lookup(contract.Schema{Name: "reading", Version: 2}); !ok || v.Type != "contract_test.readingV2" {
		t.Errorf("Lookup(reading v2) = %v, %v; want the first registration kept", v, ok)
	}
	if got := len(r.All()); got != 3 {
		t.Errorf("All() has %d versions; want 3", got)
	}
}

func TestRangeAndFinite(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, ""}, {-90, ""}, {70, ""},
		{70.5, `field "x": 70.5 is outside -90 to 70`},
		{float64(float32(21.4)) + 100, `field "x": 121.39999961853027 is outside -90 to 70`},
		{float64(float32(-90.1)), `field "x": -90.1 is outside -90 to 70`},
		{math.Inf(-1), `field "x": -Inf is not a finite number`},
		{math.NaN(), `field "x": NaN is not a finite number`},
	}
	for _, tt := range tests {
		err := contract.Range("x", tt.v, -90, 70)
		if got := fmt.Sprint(err); (tt.want == "" && err != nil) || (tt.want != "" && got != tt.want) {
			t.Errorf("Range(%v) = %v; want %q", tt.v, err, tt.want)
		}
	}
	if contract.Field("x", nil) != nil {
		t.Errorf("Field(x, nil) != nil")
	}
}

// probe is a one-version contract of the limit tests.
type probe struct{ Celsius float64 }

func (probe) Schema() contract.Schema { return contract.Schema{Name: "probe", Version: 1} }

// TestLimits checks that limits refuse what is outside them, name the
// field, are checked before Check, and that a wrong declaration is a
// mistake Validate reports.
func TestLimits(t *testing.T) {
	checked := 0
	c := contract.New(contract.Def[probe]{
		Limits: []contract.Limit[probe]{
			contract.Between("celsius", -90, 70, func(r probe) float64 { return r.Celsius }),
		},
		Check: func(probe) error { checked++; return nil },
	})
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, v := range []float64{-90, 0, 70} {
		if err := c.Check(probe{v}); err != nil {
			t.Errorf("Check(%v) = %v", v, err)
		}
	}
	for _, v := range []float64{-90.5, 70.01, math.NaN(), math.Inf(1)} {
		err := c.Check(probe{v})
		var fe *contract.FieldError
		if !errors.Is(err, contract.ErrInvalid) || !errors.As(err, &fe) || fe.Field != "celsius" {
			t.Errorf("Check(%v) = %v; want ErrInvalid naming celsius", v, err)
		}
	}
	if checked != 3 {
		t.Errorf("Check ran %d times; want 3, only for values within the limits", checked)
	}
	if got := c.Bounds(); len(got) != 1 || got[0] != (contract.Bound{Field: "celsius", Min: -90, Max: 70}) {
		t.Errorf("Bounds = %v", got)
	}
	bad := contract.New(contract.Def[probe]{Limits: []contract.Limit[probe]{
		contract.Between("", 0, 1, func(r probe) float64 { return r.Celsius }),
		contract.Between("celsius", 1, 0, func(r probe) float64 { return r.Celsius }),
		{Bound: contract.Bound{Field: "x"}},
	}})
	err := bad.Validate()
	for _, want := range []string{"a limit names no field", `the limit of "celsius" is 1 to 0`, `the limit of "x" has no value function`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v; want it to contain %q", err, want)
		}
	}
}
