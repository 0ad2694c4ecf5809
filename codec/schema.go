package codec

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aimdb-go/aimdb/contract"
)

// JSONSchemaDialect is the JSON Schema dialect JSONSchema writes.
const JSONSchemaDialect = "https://json-schema.org/draft/2020-12/schema"

// An Exported is a contract as JSONSchema and TypeScript read it: its
// versions, the Go type of each, its version field and its limits.
// *contract.Contract[T] is one.
type Exported interface {
	contract.Versioned
	Schema() contract.Schema
	VersionField() string
	Value(version uint32) any
	Bounds() []contract.Bound
	Validate() error
}

// JSONSchema returns one JSON Schema (2020-12) document describing the
// JSON payloads of the contracts, as ContractJSON reads and writes them.
// Its $defs hold one schema per contract and version, named
// "<name>.v<version>" (temperature.v1, temperature.v2), and one per
// contract, named "<name>", that accepts every version a decoder
// accepts. A payload valid against "<name>.v<n>" has the fields that
// version requires with the JSON types its Go type decodes from, the
// version field set to n when the contract has one, and, for the current
// version, the values within the contract's limits (contract.Between).
// Unknown fields are allowed, as the codec ignores them (a Strict codec
// refuses them). Checks written as code (Def.Check) and migrations cannot
// be expressed; a payload the schema accepts can still be refused by
// them.
//
// The contracts are described in the order given. Two contracts of one
// name, or an Exported that is not a contract JSONSchema can read, are
// errors.
func JSONSchema(cs ...contract.Versioned) ([]byte, error) {
	defs, err := exportDefs(cs)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("{\n  \"$schema\": " + quote(JSONSchemaDialect) + ",\n  \"$defs\": {")
	for i, d := range defs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n    " + quote(d.name) + ": ")
		v, err := json.Marshal(d.schema)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteString("\n  }\n}\n")
	return b.Bytes(), nil
}

// TypeScript returns TypeScript declarations of the contracts' JSON
// payloads, with the rules of JSONSchema: one interface per contract and
// version (TemperatureV1, TemperatureV2, named in PascalCase from the
// schema name) and one union type per contract (Temperature) of every
// version a decoder accepts. Limits are stated in doc comments.
func TypeScript(cs ...contract.Versioned) (string, error) {
	list, err := exported(cs)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("// The JSON payloads of AimDB data contracts: one interface per contract\n// and version, one union per contract of every version a decoder accepts.\n")
	for _, c := range list {
		name := pascal(c.Schema().Name)
		bounds := boundsOf(c)
		var union []string
		for _, v := range c.Versions() {
			iface := name + "V" + strconv.FormatUint(uint64(v.Schema.Version), 10)
			union = append(union, iface)
			current := v.Schema.Version == c.Schema().Version
			fmt.Fprintf(&b, "\n/** %s (Go type %s)", v.Schema, v.Type)
			if current {
				b.WriteString(", the current version")
			}
			b.WriteString(". */\nexport interface " + iface + " {\n")
			if f := c.VersionField(); f != "" {
				fmt.Fprintf(&b, "  %s: %d;\n", tsKey(f), v.Schema.Version)
			}
			for _, f := range fieldsOf(reflect.TypeOf(c.Value(v.Schema.Version)).Elem()) {
				if current {
					if bd, ok := bounds[f.name]; ok {
						fmt.Fprintf(&b, "  /** %s */\n", describeBound(bd))
					}
				}
				opt, typ := "", tsType(f.typ, 1)
				if !f.required {
					opt = "?"
					if !strings.HasSuffix(typ, " | null") {
						typ += " | null"
					}
				}
				fmt.Fprintf(&b, "  %s%s: %s;\n", tsKey(f.name), opt, typ)
			}
			b.WriteString("}\n")
		}
		fmt.Fprintf(&b, "\n/** Every version of %q a decoder accepts. */\nexport type %s = %s;\n", c.Schema().Name, name, strings.Join(union, " | "))
	}
	return b.String(), nil
}

// schemaDef is one entry of the $defs of JSONSchema.
type schemaDef struct {
	name   string
	schema map[string]any
}

func exported(cs []contract.Versioned) ([]Exported, error) {
	var out []Exported
	seen := map[string]bool{}
	for _, v := range cs {
		c, ok := v.(Exported)
		if !ok {
			return nil, fmt.Errorf("codec: %T is not a contract the schema export can read (it needs the methods of *contract.Contract)", v)
		}
		if err := c.Validate(); err != nil {
			return nil, err
		}
		name := c.Schema().Name
		if seen[name] {
			return nil, fmt.Errorf("codec: two contracts named %q to export", name)
		}
		seen[name] = true
		out = append(out, c)
	}
	return out, nil
}

func exportDefs(cs []contract.Versioned) ([]schemaDef, error) {
	list, err := exported(cs)
	if err != nil {
		return nil, err
	}
	var defs []schemaDef
	for _, c := range list {
		name := c.Schema().Name
		bounds := boundsOf(c)
		var refs []any
		for _, v := range c.Versions() {
			n := v.Schema.Version
			def := name + ".v" + strconv.FormatUint(uint64(n), 10)
			refs = append(refs, map[string]any{"$ref": "#/$defs/" + def})
			current := n == c.Schema().Version
			s := objectSchema(fieldsOf(reflect.TypeOf(c.Value(n)).Elem()), c.VersionField(), n)
			title := v.Schema.String()
			if current {
				title += ", the current version"
				props := s["properties"].(map[string]any)
				for field, bd := range bounds {
					p, ok := props[field].(map[string]any)
					if !ok {
						continue
					}
					if !math.IsInf(bd.Min, 0) {
						p["minimum"] = bd.Min
					}
					if !math.IsInf(bd.Max, 0) {
						p["maximum"] = bd.Max
					}
				}
			}
			s["title"] = title
			s["description"] = "Go type " + v.Type
			defs = append(defs, schemaDef{name: def, schema: s})
		}
		all := map[string]any{"title": strconv.Quote(name) + ", any version a decoder accepts"}
		if len(refs) == 1 {
			all["$ref"] = refs[0].(map[string]any)["$ref"]
		} else {
			all["oneOf"] = refs
		}
		defs = append(defs, schemaDef{name: name, schema: all})
	}
	return defs, nil
}

func boundsOf(c Exported) map[string]contract.Bound {
	m := map[string]contract.Bound{}
	for _, b := range c.Bounds() {
		m[b.Field] = b
	}
	return m
}

func describeBound(b contract.Bound) string {
	switch {
	case math.IsInf(b.Min, -1) && math.IsInf(b.Max, 1):
		return "A finite number."
	case math.IsInf(b.Min, -1):
		return "At most " + strconv.FormatFloat(b.Max, 'g', -1, 64) + "."
	case math.IsInf(b.Max, 1):
		return "At least " + strconv.FormatFloat(b.Min, 'g', -1, 64) + "."
	}
	return "From " + strconv.FormatFloat(b.Min, 'g', -1, 64) + " to " + strconv.FormatFloat(b.Max, 'g', -1, 64) + "."
}

// schemaField is a field of a version's Go type, as the JSON codec reads
// it: its wire name, whether it is required and its Go type.
type schemaField struct {
	name     string
	required bool
	typ      reflect.Type
}

// fieldsOf returns the top-level fields of t with the codec's rules
// (addFields): required unless a pointer, omitempty or omitzero.
func fieldsOf(t reflect.Type) []schemaField {
	var s shape
	addFields(&s, t)
	out := make([]schemaField, len(s.fields))
	for i, f := range s.fields {
		out[i] = schemaField(f)
	}
	return out
}

func objectSchema(fields []schemaField, versionField string, version uint32) map[string]any {
	props := map[string]any{}
	var required []string
	if versionField != "" {
		props[versionField] = map[string]any{"const": version}
		required = append(required, versionField)
	}
	for _, f := range fields {
		if f.required {
			props[f.name] = typeSchema(f.typ, 0)
			required = append(required, f.name)
		} else {
			props[f.name] = nullable(typeSchema(f.typ, 0))
		}
	}
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	marshalerType = reflect.TypeFor[json.Marshaler]()
)

// nullable returns s extended to accept null: a null optional field
// decodes as a missing one.
func nullable(s map[string]any) map[string]any {
	if len(s) == 0 {
		return s // anything already
	}
	if _, ok := s["anyOf"]; ok {
		return s // a pointer's: null is in it
	}
	if t, ok := s["type"].([]string); ok && slices.Contains(t, "null") {
		return s
	}
	return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
}

// typeSchema returns the JSON Schema of the JSON encoding/json makes of
// a value of type t. Nested structs list their properties without
// required fields and accept null for each: encoding/json leaves a
// missing or null nested field as it is.
func typeSchema(t reflect.Type, depth int) map[string]any {
	if depth > 16 {
		return map[string]any{}
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "description": "an RFC 3339 time"}
	case t.Implements(marshalerType) || reflect.PointerTo(t).Implements(unmarshalerType):
		return map[string]any{} // its own JSON: anything
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		return map[string]any{"type": "integer", "minimum": int64(-1) << (bits - 1), "maximum": int64(uint64(1)<<(bits-1) - 1)}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return map[string]any{"type": "integer", "minimum": 0, "maximum": uint64(math.MaxUint64) >> (64 - t.Bits())}
	case reflect.Float32:
		// encoding/json refuses a number a float32 cannot hold.
		return map[string]any{"type": "number", "minimum": -math.MaxFloat32, "maximum": math.MaxFloat32}
	case reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Pointer:
		return map[string]any{"anyOf": []any{typeSchema(t.Elem(), depth+1), map[string]any{"type": "null"}}}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": []string{"string", "null"}, "contentEncoding": "base64"}
		}
		return map[string]any{"type": []string{"array", "null"}, "items": typeSchema(t.Elem(), depth+1)}
	case reflect.Array:
		return map[string]any{"type": "array", "items": typeSchema(t.Elem(), depth+1), "minItems": t.Len(), "maxItems": t.Len()}
	case reflect.Map:
		return map[string]any{"type": []string{"object", "null"}, "additionalProperties": typeSchema(t.Elem(), depth+1)}
	case reflect.Struct:
		props := map[string]any{}
		for _, f := range fieldsOf(t) {
			props[f.name] = nullable(typeSchema(f.typ, depth+1))
		}
		return map[string]any{"type": "object", "properties": props}
	}
	return map[string]any{}
}

// tsType returns the TypeScript type of the JSON of a value of type t.
func tsType(t reflect.Type, depth int) string {
	if depth > 16 {
		return "unknown"
	}
	switch {
	case t == timeType:
		return "string"
	case t.Implements(marshalerType) || reflect.PointerTo(t).Implements(unmarshalerType):
		return "unknown"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Pointer:
		return tsType(t.Elem(), depth+1) + " | null"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "string | null"
		}
		return "Array<" + tsType(t.Elem(), depth+1) + "> | null"
	case reflect.Array:
		return "Array<" + tsType(t.Elem(), depth+1) + ">"
	case reflect.Map:
		return "Record<string, " + tsType(t.Elem(), depth+1) + "> | null"
	case reflect.Struct:
		fields := fieldsOf(t)
		slices.SortStableFunc(fields, func(a, b schemaField) int { return cmp.Compare(a.name, b.name) })
		var b strings.Builder
		b.WriteString("{ ")
		for _, f := range fields {
			b.WriteString(tsKey(f.name) + "?: " + tsType(f.typ, depth+1) + "; ")
		}
		b.WriteString("}")
		return b.String()
	}
	return "unknown"
}

// tsKey returns name as a TypeScript property key: as it is when it is
// an identifier, else quoted.
func tsKey(name string) string {
	for i, r := range name {
		if !(r == '_' || r == '$' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || i > 0 && '0' <= r && r <= '9') {
			return quote(name)
		}
	}
	if name == "" {
		return `""`
	}
	return name
}

// pascal returns a schema name in PascalCase: dew_point → DewPoint.
func pascal(name string) string {
	var b strings.Builder
	up := true
	for _, r := range name {
		switch {
		case r == '_' || r == '-' || r == '.' || r == ' ':
			up = true
		case up && 'a' <= r && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
			up = false
		case 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9':
			b.WriteRune(r)
			up = false
		}
	}
	s := b.String()
	if s == "" || '0' <= s[0] && s[0] <= '9' {
		s = "Contract" + s
	}
	return s
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
