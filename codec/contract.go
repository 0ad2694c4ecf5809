package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/aimdb-go/aimdb/contract"
)

// ContractJSON is the JSON codec of a data contract (package contract):
// the record's codec on every path a value enters by, inbound links and
// remote writes alike, so every one of them migrates and checks the same
// way. Make one with JSONFor.
//
// Decode reads the contract's version field, decodes the payload as the
// type of that version, migrates it to T and checks it. It refuses, with
// a *contract.Error naming the contract, the version and the field:
// malformed JSON, a payload that is not an object, a missing version or
// one that is not an unsigned 32-bit integer, a version the contract
// does not have, a field of the wrong JSON type, a missing or null field
// that is required, a failed migration step, and a value the contract's
// Check refuses. A field is required as serde requires it: unless it is
// a pointer or its tag says omitempty or omitzero. Field names match
// exactly; unknown fields are ignored unless the codec is Strict. These
// rules apply to the top-level fields of a version's type; a type with
// its own UnmarshalJSON keeps its own rules.
//
// Encode checks the value and writes the version field first, then the
// type's fields: {"schema_version":2,"celsius":21.4,…}. As(n) encodes
// as version n, through the contract's down steps.
//
// A ContractJSON is immutable and safe for concurrent use.
type ContractJSON[T contract.SchemaType] struct {
	c       *contract.Contract[T]
	version uint32 // the version Encode writes
	strict  bool
	field   []byte           // the version field's name, JSON-quoted
	shapes  map[uint32]shape // by version
	err     error
}

// shape is what ContractJSON knows of a version's Go type.
type shape struct {
	object bool // a struct, written as a JSON object
	custom bool // has UnmarshalJSON: its own rules
	fields []jsonField
}

type jsonField struct {
	name     string
	required bool
	typ      reflect.Type
}

// JSONFor returns the JSON codec of contract c. Mistakes in c and in its
// types (a version's type is not a struct but payloads carry a version
// field, or it has a field named like the version field) are reported by
// Validate, which the DB calls before it runs.
func JSONFor[T contract.SchemaType](c *contract.Contract[T]) *ContractJSON[T] {
	j := &ContractJSON[T]{c: c, version: c.Schema().Version, shapes: map[uint32]shape{}}
	errs := []error{c.Validate()}
	if f := c.VersionField(); f != "" {
		j.field, _ = json.Marshal(f)
	}
	for _, v := range c.Versions() {
		p := c.Value(v.Schema.Version)
		if p == nil {
			continue
		}
		s := shapeOf(reflect.TypeOf(p).Elem())
		j.shapes[v.Schema.Version] = s
		if j.field == nil {
			continue
		}
		if !s.object {
			errs = append(errs, fmt.Errorf("codec: contract %q v%d: %s is not a struct, so its JSON cannot carry the version field %q",
				c.Schema().Name, v.Schema.Version, v.Type, c.VersionField()))
			continue
		}
		if b, err := json.Marshal(p); err == nil {
			var m map[string]json.RawMessage
			if json.Unmarshal(b, &m) == nil {
				if _, dup := m[c.VersionField()]; dup {
					errs = append(errs, fmt.Errorf("codec: contract %q v%d: %s has a field %q, which is the version field; the codec writes it",
						c.Schema().Name, v.Schema.Version, v.Type, c.VersionField()))
				}
			}
		}
	}
	j.err = errors.Join(errs...)
	return j
}

// As returns a copy of j that encodes as version n, for a peer that
// speaks only that version; decoding is unchanged. A version the
// contract does not have makes every Encode fail.
func (j *ContractJSON[T]) As(n uint32) *ContractJSON[T] {
	k := *j
	k.version = n
	return &k
}

// Strict returns a copy of j that also refuses a field the payload's
// version does not have: use it for commands, where a misspelt field
// would otherwise arrive as a zero value.
func (j *ContractJSON[T]) Strict() *ContractJSON[T] {
	k := *j
	k.strict = true
	return &k
}

// Schema returns the contract's name with the version j encodes as: what
// a history store records beside each payload (package persist).
func (j *ContractJSON[T]) Schema() contract.Schema {
	return contract.Schema{Name: j.c.Schema().Name, Version: j.version}
}

// Validate returns every mistake in the contract and in the codec's
// configuration, or nil.
func (j *ContractJSON[T]) Validate() error {
	if j.err != nil {
		return j.err
	}
	if j.version == 0 || j.version > j.c.Schema().Version {
		return fmt.Errorf("codec: contract %q has no v%d to encode as (it has v1 to v%d)", j.c.Schema().Name, j.version, j.c.Schema().Version)
	}
	return nil
}

// Encode returns the JSON of v as the codec's version.
func (j *ContractJSON[T]) Encode(v T) ([]byte, error) {
	var out []byte
	err := j.c.Encode(v, j.version, func(p any) error {
		b, err := json.Marshal(p)
		if err != nil {
			return err
		}
		if j.field == nil {
			out = b
			return nil
		}
		if len(b) < 2 || b[0] != '{' {
			return fmt.Errorf("codec: contract %q: %T does not encode as a JSON object", j.c.Schema().Name, p)
		}
		out = make([]byte, 0, len(b)+len(j.field)+12)
		out = append(out, '{')
		out = append(out, j.field...)
		out = append(out, ':')
		out = strconv.AppendUint(out, uint64(j.version), 10)
		if len(b) > 2 {
			out = append(out, ',')
		}
		out = append(out, b[1:]...)
		return nil
	})
	return out, err
}

// Decode decodes a payload of any version the contract has.
func (j *ContractJSON[T]) Decode(payload []byte) (T, error) {
	name := j.c.Schema().Name
	version := j.c.Schema().Version
	var m map[string]json.RawMessage
	if s := j.shapes[version]; j.field != nil || s.object {
		var err error
		if m, err = object(payload); err != nil {
			var zero T
			return zero, &contract.Error{Schema: contract.Schema{Name: name}, Kind: contract.ErrDecode, Err: err}
		}
	}
	if j.field != nil {
		raw, ok := m[j.c.VersionField()]
		if !ok {
			var zero T
			return zero, j.c.NoVersion(nil)
		}
		n, err := strconv.ParseUint(string(raw), 10, 32)
		if err != nil {
			var zero T
			return zero, j.c.NoVersion(errors.New("want an unsigned 32-bit integer, got " + excerpt(raw)))
		}
		version = uint32(n)
	}
	return j.c.Decode(version, func(p any) error {
		s := j.shapes[version]
		if s.object && !s.custom {
			if err := j.fieldsOK(s, m); err != nil {
				return err
			}
		}
		return unmarshal(payload, p)
	})
}

// fieldsOK checks the payload's members m against a version's fields.
func (j *ContractJSON[T]) fieldsOK(s shape, m map[string]json.RawMessage) error {
	for _, f := range s.fields {
		raw, ok := m[f.name]
		switch {
		case !f.required:
		case !ok:
			return contract.Field(f.name, errors.New("missing"))
		case string(raw) == "null":
			return contract.Field(f.name, errors.New("null, but the field is required"))
		}
	}
	if !j.strict {
		return nil
	}
	var unknown []string
	for k := range m {
		if k != j.c.VersionField() && !slices.ContainsFunc(s.fields, func(f jsonField) bool { return f.name == k }) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return contract.Field(unknown[0], errors.New("unknown field"))
	}
	return nil
}

// object splits a JSON object into its members, whose names match
// exactly.
func object(payload []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(payload, &m); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("malformed JSON at byte %d: %v", se.Offset, se)
		}
		return nil, errors.New("want a JSON object, got " + jsonKind(payload))
	}
	if m == nil {
		return nil, errors.New("want a JSON object, got null")
	}
	return m, nil
}

// unmarshal decodes payload into p, naming the field of a type error.
func unmarshal(payload []byte, p any) error {
	err := json.Unmarshal(payload, p)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return contract.Field(te.Field, fmt.Errorf("want %s, got %s", goKind(te.Type), te.Value))
	}
	return err
}

func goKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		return "a number (" + t.String() + ")"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer (" + t.String() + ")"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an unsigned integer (" + t.String() + ")"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object (" + t.String() + ")"
}

// jsonKind names the JSON type of valid JSON.
func jsonKind(raw []byte) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// excerpt returns raw, shortened for an error message.
func excerpt(raw []byte) string {
	if len(raw) > 32 {
		return string(raw[:32]) + "…"
	}
	return string(raw)
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// shapeOf returns the JSON shape of t: its top-level fields as
// encoding/json names them.
func shapeOf(t reflect.Type) shape {
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return shape{object: t.Kind() == reflect.Struct, custom: true}
	}
	if t.Kind() != reflect.Struct {
		return shape{}
	}
	s := shape{object: true}
	addFields(&s, t)
	return s
}

func addFields(s *shape, t reflect.Type) {
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			addFields(s, f.Type)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		optional := f.Type.Kind() == reflect.Pointer
		for o := range strings.SplitSeq(opts, ",") {
			optional = optional || o == "omitempty" || o == "omitzero"
		}
		s.fields = append(s.fields, jsonField{name: name, required: !optional, typ: f.Type})
	}
}
