package codec_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/contract"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
	"github.com/aimdb-go/aimdb/internal/tooltest"
)

// gadget is a contract with every kind of field the export describes.
type gadget struct {
	Name  string           `json:"name"`
	Count int16            `json:"count"`
	Level uint8            `json:"level"`
	Tags  []string         `json:"tags,omitempty"`
	Ratio *float32         `json:"ratio"`
	Meta  map[string]uint8 `json:"meta,omitempty"`
	Pos   struct {
		X float64 `json:"x"`
		N uint32  `json:"n"`
	} `json:"pos"`
	On bool    `json:"on"`
	G  float32 `json:"g"`
}

func (gadget) Schema() contract.Schema { return contract.Schema{Name: "gadget", Version: 1} }

var gadgetContract = contract.New(contract.Def[gadget]{
	Limits: []contract.Limit[gadget]{contract.Between("g", -2, 2, func(g gadget) float64 { return float64(g.G) })},
})

// exportCase is one payload checked against one $defs entry.
type exportCase struct {
	Def     string `json:"def"`
	Payload string `json:"payload"`
	want    bool   // the codec's verdict
	why     string
}

// TestJSONSchemaAjv checks the exported JSON Schema with ajv, a real
// validator, in its strict mode: thousands of random payloads of every
// contract and version, good and bad, must be valid for ajv exactly
// when the codec accepts them (for an old version: when the codec reads
// them, whatever the migration or the checks then say, which a schema
// cannot express).
func TestJSONSchemaAjv(t *testing.T) {
	node := tooltest.Path(t, "node")
	dir := filepath.Join("testdata", "ajv")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ajv")); err != nil {
		tooltest.Missing(t, "the npm package ajv", "npm ci --prefix codec/testdata/ajv")
	}
	type target struct {
		c      codec.Exported
		decode func([]byte) error
	}
	targets := []target{
		{contracts.TemperatureContract, func(b []byte) error { _, err := contracts.TemperatureCodec.Decode(b); return err }},
		{contracts.HumidityContract, func(b []byte) error { _, err := contracts.HumidityCodec.Decode(b); return err }},
		{contracts.DewPointContract, func(b []byte) error { _, err := contracts.DewPointCodec.Decode(b); return err }},
		{gadgetContract, func(b []byte) error { _, err := codec.JSONFor(gadgetContract).Decode(b); return err }},
	}
	var all []contract.Versioned
	for _, tg := range targets {
		all = append(all, tg.c)
	}
	doc, err := codec.JSONSchema(all...)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(17, 4))
	var cases []exportCase
	for _, tg := range targets {
		c := tg.c
		current := c.Schema().Version
		for _, v := range c.Versions() {
			n := v.Schema.Version
			typ := reflect.TypeOf(c.Value(n)).Elem()
			for range 400 {
				p := genObject(rng, typ, c.VersionField(), n, current)
				err := tg.decode([]byte(p))
				got, known := versionOf(p, c.VersionField(), current)
				read := err == nil || got < current && (errors.Is(err, contract.ErrInvalid) || errors.Is(err, contract.ErrMigrate))
				name := c.Schema().Name
				def := name + ".v" + strconv.Itoa(int(n))
				cases = append(cases,
					exportCase{Def: def, Payload: p, want: known && got == n && read, why: fmt.Sprint(err)},
					exportCase{Def: name, Payload: p, want: known && read, why: fmt.Sprint(err)})
			}
		}
	}
	in, _ := json.Marshal(map[string]any{"schema": json.RawMessage(doc), "cases": cases})
	cmd := exec.Command(node, "validate.mjs")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ajv: %v\n%s\nschema:\n%s", err, stderr.String(), doc)
	}
	var verdicts []bool
	if err := json.Unmarshal(out, &verdicts); err != nil || len(verdicts) != len(cases) {
		t.Fatalf("ajv printed %d verdicts for %d cases (%v): %.300s", len(verdicts), len(cases), err, out)
	}
	valid, bad := 0, 0
	for i, c := range cases {
		if verdicts[i] {
			valid++
		}
		if verdicts[i] != c.want {
			if bad++; bad <= 10 {
				t.Errorf("%s: %s: ajv says valid=%v, the codec %v (decode error: %s)", c.Def, c.Payload, verdicts[i], c.want, c.why)
			}
		}
	}
	t.Logf("%d payloads checked, %d valid for ajv, %d disagreements", len(cases), valid, bad)
	if valid < len(cases)/10 || valid > len(cases)*9/10 {
		t.Errorf("%d of %d payloads valid: the generator should make both kinds", valid, len(cases))
	}
}

// versionOf returns the version a payload names in field, or current
// when the contract has no version field; false if it names none that
// a decoder could read.
func versionOf(payload, field string, current uint32) (uint32, bool) {
	if field == "" {
		return current, true
	}
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(payload), &m) != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(string(m[field]), 10, 32)
	if err != nil || n == 0 || uint32(n) > current {
		return 0, false
	}
	return uint32(n), true
}

// wrongs are JSON values of the wrong type for most fields.
var wrongs = []string{`"x"`, `true`, `null`, `1.5`, `-3`, `[]`, `{}`, `1e39`, `[1]`, `{"x":"y"}`}

// genObject returns a random JSON object shaped like typ, a version's
// type: most fields right, some missing, null or wrong, the version
// field usually n, sometimes another or missing, and sometimes an
// unknown field.
func genObject(rng *rand.Rand, typ reflect.Type, field string, n, current uint32) string {
	var parts []string
	if field != "" {
		switch r := rng.IntN(20); {
		case r < 16:
			parts = append(parts, strconv.Quote(field)+":"+strconv.Itoa(int(n)))
		case r < 18:
			parts = append(parts, strconv.Quote(field)+":"+strconv.Itoa(rng.IntN(int(current)+2)))
		case r < 19:
			parts = append(parts, strconv.Quote(field)+":"+wrongs[rng.IntN(len(wrongs))])
		}
	}
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if rng.IntN(12) == 0 {
			continue
		}
		parts = append(parts, strconv.Quote(name)+":"+genValue(rng, f.Type, 0))
	}
	if rng.IntN(5) == 0 {
		parts = append(parts, `"extra":`+genValue(rng, reflect.TypeFor[string](), 0))
	}
	rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	return "{" + strings.Join(parts, ",") + "}"
}

// genValue returns a random JSON value for type t, wrong one time in
// ten.
func genValue(rng *rand.Rand, t reflect.Type, depth int) string {
	if rng.IntN(10) == 0 || depth > 3 {
		return wrongs[rng.IntN(len(wrongs))]
	}
	pick := func(vs ...string) string { return vs[rng.IntN(len(vs))] }
	switch t.Kind() {
	case reflect.Bool:
		return pick("true", "false")
	case reflect.Int16:
		return pick("0", "-7", "32767", "-32768", "32768", "-32769", "100")
	case reflect.Uint8:
		return pick("0", "255", "256", "-1", "17")
	case reflect.Uint32:
		return pick("0", "4294967295", "4294967296", "-1", "12")
	case reflect.Uint64:
		return pick("0", "1754044800000", "18446744073709551615", "-1", "5")
	case reflect.Float32, reflect.Float64:
		return pick("21.4", "-12.5", "0", "70", "70.5", "71", "-90", "-90.5", "100", "100.5", "-1", "1.5", "-2.5", "2", "3.4e38", "3.5e38", "-3.5e38", "1e39", "1e300")
	case reflect.String:
		return pick(`"F"`, `"K"`, `"C"`, `""`, `"päivää"`)
	case reflect.Pointer:
		if rng.IntN(3) == 0 {
			return "null"
		}
		return genValue(rng, t.Elem(), depth+1)
	case reflect.Slice:
		k := rng.IntN(3)
		vs := make([]string, k)
		for i := range vs {
			vs[i] = genValue(rng, t.Elem(), depth+1)
		}
		return "[" + strings.Join(vs, ",") + "]"
	case reflect.Map:
		k := rng.IntN(3)
		vs := make([]string, k)
		for i := range vs {
			vs[i] = strconv.Quote("k"+strconv.Itoa(i)) + ":" + genValue(rng, t.Elem(), depth+1)
		}
		return "{" + strings.Join(vs, ",") + "}"
	case reflect.Struct:
		var vs []string
		for f := range t.Fields() {
			if rng.IntN(4) == 0 {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			vs = append(vs, strconv.Quote(name)+":"+genValue(rng, f.Type, depth+1))
		}
		return "{" + strings.Join(vs, ",") + "}"
	}
	panic("genValue: no generator for " + t.String())
}

// TestTypeScript checks the declarations of the weather contracts.
func TestTypeScript(t *testing.T) {
	ts, err := codec.TypeScript(contracts.TemperatureContract, contracts.HumidityContract, contracts.DewPointContract, gadgetContract)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"export interface TemperatureV1 {\n  schema_version: 1;\n  temp: number;\n  timestamp: number;\n  unit?: string | null;\n}",
		"export interface TemperatureV2 {\n  schema_version: 2;\n  /** From -90 to 70. */\n  celsius: number;\n  timestamp: number;\n}",
		"export type Temperature = TemperatureV1 | TemperatureV2;",
		"export interface DewPointV1 {\n  /** A finite number. */\n  celsius: number;",
		"export type DewPoint = DewPointV1;",
		"  tags?: Array<string> | null;\n",
		"  ratio?: number | null;\n",
		"  meta?: Record<string, number> | null;\n",
		"  pos: { n?: number; x?: number; };\n",
	} {
		if !strings.Contains(ts, want) {
			t.Errorf("TypeScript lacks\n%s\nin\n%s", want, ts)
		}
	}
}

// TestExportRefuses checks the export's errors.
func TestExportRefuses(t *testing.T) {
	if _, err := codec.JSONSchema(contracts.HumidityContract, contracts.HumidityContract); err == nil || !strings.Contains(err.Error(), `two contracts named "humidity"`) {
		t.Errorf("two contracts of one name: %v", err)
	}
	broken := contract.New(contract.Def[gadget]{Limits: []contract.Limit[gadget]{contract.Between("g", 2, -2, func(g gadget) float64 { return 0 })}})
	if _, err := codec.TypeScript(broken); err == nil || !strings.Contains(err.Error(), `the limit of "g" is 2 to -2`) {
		t.Errorf("a broken contract: %v", err)
	}
	var r contract.Registry
	if _, err := codec.JSONSchema(notExported{}); err == nil || !strings.Contains(err.Error(), "codec_test.notExported is not a contract") {
		t.Errorf("a Versioned without the contract's methods: %v (%v)", err, r.Err())
	}
}

type notExported struct{}

func (notExported) Versions() []contract.Version { return nil }
