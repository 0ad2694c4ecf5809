package contract

import (
	"errors"
	"fmt"
)

// A Def declares a contract whose current version is T. T's Schema
// method names the contract and its current version; the older versions
// are the types of Steps.
type Def[T SchemaType] struct {
	// VersionField names the field of a payload that carries its
	// version; upstream's contracts use "schema_version". A codec writes
	// it before the type's own fields and reads it to choose the type a
	// payload decodes as, so the types do not hold it. Empty means
	// payloads carry no version and are read as the current one; a
	// contract with Steps needs a VersionField.
	VersionField string

	// Steps migrate from version 1 to T's version, one step per version,
	// in order: v1 → v2, v2 → v3, …
	Steps []Step

	// Limits bound numeric fields of current values, after migration
	// (see Between). They are checked before Check, and exports publish
	// them.
	Limits []Limit[T]

	// Check, if not nil, refuses values that the type can hold but the
	// contract does not allow: out of range, not finite, missing. It
	// sees current values only, after migration and Limits, and returns
	// a *FieldError (see Field, Finite and Range) to name the field.
	Check func(v T) error
}

// A Contract is a schema with its migrations and checks: the one place
// that says what a payload of each version holds and how it becomes the
// current type. Codecs built on it (codec.JSONFor, postcard.For) read
// payloads of every version, migrate them, check them, and refuse what
// does not fit with an *Error; they can also write an older version.
//
// A Contract is immutable and safe for concurrent use.
type Contract[T SchemaType] struct {
	schema Schema
	typ    string
	field  string
	steps  []Step
	limits []Limit[T]
	check  func(T) error
	err    error
}

// New returns the contract d declares. Mistakes in d do not panic: they
// are all reported by Validate, which the DB calls through the codecs
// built on the contract, so they appear with the DB's other
// configuration errors; until they are fixed every Decode and Encode
// fails.
func New[T SchemaType](d Def[T]) *Contract[T] {
	var zero T
	c := &Contract[T]{
		schema: zero.Schema(),
		typ:    fmt.Sprintf("%T", zero),
		field:  d.VersionField,
		steps:  append([]Step(nil), d.Steps...),
		limits: append([]Limit[T](nil), d.Limits...),
		check:  d.Check,
	}
	c.err = c.validate()
	return c
}

// validate returns every mistake in c's declaration.
func (c *Contract[T]) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("contract %q: "+format, append([]any{c.schema.Name}, args...)...))
	}
	if c.schema.Name == "" {
		bad("%s declares an empty schema name", c.typ)
	}
	if c.schema.Version == 0 {
		bad("%s declares version 0; versions count from 1", c.typ)
	}
	if len(c.steps) > 0 && c.field == "" {
		bad("migration steps need a VersionField to tell the versions of a payload apart")
	}
	if len(c.steps) == 0 && c.schema.Version > 1 {
		bad("%s is v%d but there are no migration steps; versions 1 to %d need one step each", c.typ, c.schema.Version, c.schema.Version-1)
	}
	for i, s := range c.steps {
		n := i + 1
		if s.mistake != "" {
			bad("step %d (%s): %s", n, s, s.mistake)
		}
		if s.from.Name != c.schema.Name || s.to.Name != c.schema.Name {
			bad("step %d (%s): the types declare schemas %q and %q, not %q", n, s, s.from.Name, s.to.Name, c.schema.Name)
		}
		if s.to.Version != s.from.Version+1 {
			bad("step %d (%s): a step must go up by exactly one version", n, s)
		}
		if i == 0 && s.from.Version != 1 {
			bad("step 1 (%s) starts at v%d; the first step must start at v1", s, s.from.Version)
		}
		if i > 0 {
			p := c.steps[i-1]
			if s.from.Version != p.to.Version {
				bad("step %d ends at v%d but step %d starts at v%d; the steps must be consecutive", i, p.to.Version, n, s.from.Version)
			}
			if !p.isNew(s.newOld()) {
				bad("step %d goes to %s but step %d starts from %s", i, p.newType, n, s.oldType)
			}
		}
	}
	for _, l := range c.limits {
		if m := l.mistake(); m != "" {
			bad("%s", m)
		}
	}
	if k := len(c.steps); k > 0 {
		last := c.steps[k-1]
		if last.to.Version != c.schema.Version {
			bad("the last step (%s) ends at v%d; it must end at v%d, the version of %s", last, last.to.Version, c.schema.Version, c.typ)
		}
		if !last.isNew(new(T)) {
			bad("the last step (%s) goes to %s, not to %s", last, last.newType, c.typ)
		}
	}
	return errors.Join(errs...)
}

// Validate returns every mistake in the contract's declaration, or nil:
// an empty name, version 0, a step that does not go up by one, steps
// that are not consecutive, a chain that does not start at v1 or end at
// the current version, a step whose types do not chain, a nil up
// function, steps without a VersionField, a limit without a field or a
// value function or with an empty range.
func (c *Contract[T]) Validate() error { return c.err }

// Schema returns the contract's name and current version.
func (c *Contract[T]) Schema() Schema { return c.schema }

// VersionField returns the name of the field that carries a payload's
// version, "" if payloads carry none.
func (c *Contract[T]) VersionField() string { return c.field }

// Versions returns every version the contract reads, oldest first, with
// the Go type of each.
func (c *Contract[T]) Versions() []Version {
	out := make([]Version, 0, len(c.steps)+1)
	for _, s := range c.steps {
		out = append(out, Version{Schema: s.from, Type: s.oldType})
	}
	return append(out, Version{Schema: c.schema, Type: c.typ})
}

// Value returns a pointer to a new zero value of version's type (a *T
// for the current version), or nil if the contract has no such version.
// Codecs use it to check, when they are validated, that every version's
// type supports them.
func (c *Contract[T]) Value(version uint32) any {
	switch {
	case version == c.schema.Version:
		return new(T)
	case version >= 1 && int64(version) <= int64(len(c.steps)):
		return c.steps[version-1].newOld()
	}
	return nil
}

// Check applies the contract's Limits, then its Check, to v, wrapping a
// refusal in an *Error of kind ErrInvalid.
func (c *Contract[T]) Check(v T) error {
	for _, l := range c.limits {
		if err := l.check(v); err != nil {
			return &Error{Schema: c.schema, Kind: ErrInvalid, Err: err}
		}
	}
	if c.check == nil {
		return nil
	}
	if err := c.check(v); err != nil {
		return &Error{Schema: c.schema, Kind: ErrInvalid, Err: err}
	}
	return nil
}

// NoVersion returns the error of a payload without a version; detail,
// if not nil, says what is there instead.
func (c *Contract[T]) NoVersion(detail error) error {
	if detail == nil {
		detail = errors.New("missing")
	}
	return &Error{Schema: Schema{Name: c.schema.Name}, Kind: ErrNoVersion, Err: Field(c.field, detail)}
}

// knownVersion returns nil if version is one the contract has.
func (c *Contract[T]) knownVersion(version uint32) error {
	switch {
	case c.err != nil:
		return fmt.Errorf("contract %q is declared wrongly: %w", c.schema.Name, c.err)
	case version == 0:
		return &Error{Schema: Schema{Name: c.schema.Name}, Kind: ErrTooOld, Err: errors.New("v0 is below v1, the oldest there is")}
	case version > c.schema.Version:
		return &Error{Schema: Schema{Name: c.schema.Name, Version: version}, Kind: ErrTooNew,
			Err: fmt.Errorf("the newest known is v%d", c.schema.Version)}
	}
	return nil
}

// Decode returns the current value of a payload of the given version.
// fill decodes the payload into p, a pointer to a new value of the
// version's type (see Value); Decode then migrates it up to T and checks
// it. Codecs call Decode; every failure is an *Error naming the contract
// and the version: a version the contract does not have (ErrTooOld,
// ErrTooNew), a fill error (ErrDecode; return a *FieldError to name the
// field), a failed step (ErrMigrate), or a refused value (ErrInvalid).
func (c *Contract[T]) Decode(version uint32, fill func(p any) error) (T, error) {
	var zero T
	if err := c.knownVersion(version); err != nil {
		return zero, err
	}
	if version == c.schema.Version {
		var v T
		if err := fill(&v); err != nil {
			return zero, &Error{Schema: c.schema, Kind: ErrDecode, Err: err}
		}
		if err := c.Check(v); err != nil {
			return zero, err
		}
		return v, nil
	}
	p := c.steps[version-1].newOld()
	if err := fill(p); err != nil {
		return zero, &Error{Schema: Schema{Name: c.schema.Name, Version: version}, Kind: ErrDecode, Err: err}
	}
	for _, s := range c.steps[version-1:] {
		var err error
		if p, err = s.up(p); err != nil {
			return zero, &Error{Schema: Schema{Name: c.schema.Name}, Kind: ErrMigrate,
				Err: fmt.Errorf("v%d to v%d: %w", s.from.Version, s.to.Version, err)}
		}
	}
	v := *p.(*T)
	if err := c.Check(v); err != nil {
		return zero, err
	}
	return v, nil
}

// Encode checks v and hands emit a pointer to it as the given version:
// v itself (a *T) for the current version, else the result of the down
// steps, a pointer to a value of the older type. A value the contract
// refuses, a version it does not have and a missing or failing down step
// are *Errors; emit's error is returned as it is.
func (c *Contract[T]) Encode(v T, version uint32, emit func(p any) error) error {
	if err := c.knownVersion(version); err != nil {
		return err
	}
	if err := c.Check(v); err != nil {
		return err
	}
	var p any = &v
	for i := len(c.steps) - 1; i >= int(version)-1; i-- {
		s := c.steps[i]
		if s.down == nil {
			return &Error{Schema: Schema{Name: c.schema.Name}, Kind: ErrMigrate,
				Err: fmt.Errorf("v%d to v%d: no down function (%s)", s.to.Version, s.from.Version, s)}
		}
		var err error
		if p, err = s.down(p); err != nil {
			return &Error{Schema: Schema{Name: c.schema.Name}, Kind: ErrMigrate,
				Err: fmt.Errorf("v%d to v%d: %w", s.to.Version, s.from.Version, err)}
		}
	}
	return emit(p)
}
