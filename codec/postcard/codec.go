package postcard

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/aimdb-go/aimdb/contract"
)

// Codec is the aimdb.Codec of a type that writes and reads itself as
// Postcard: the payload is T's fields, nothing more. Make one with Of,
// which infers PT: postcard.Of[Temperature](). Codec is stateless and
// safe for concurrent use.
type Codec[T Marshaler, PT interface {
	*T
	Unmarshaler
}] struct{}

// Of returns the Codec of T.
func Of[T Marshaler, PT interface {
	*T
	Unmarshaler
}]() Codec[T, PT] {
	return Codec[T, PT]{}
}

// Encode returns the Postcard bytes of v.
func (Codec[T, PT]) Encode(v T) ([]byte, error) {
	var e Encoder
	v.MarshalPostcard(&e)
	return e.b, nil
}

// EncodeTo appends the Postcard bytes of v to e. It allocates nothing
// when e's buffer has room.
func (Codec[T, PT]) EncodeTo(e *Encoder, v T) { v.MarshalPostcard(e) }

// Decode reads one T from b, which must hold nothing else.
func (Codec[T, PT]) Decode(b []byte) (T, error) {
	var v T
	d := Decoder{b: b}
	err := unmarshal(&d, PT(&v))
	return v, err
}

// unmarshal reads u from d and refuses bytes after it.
func unmarshal(d *Decoder, u Unmarshaler) error {
	err := u.UnmarshalPostcard(d)
	if d.err != nil {
		return d.err
	}
	if err != nil {
		return err
	}
	if n := d.Remaining(); n > 0 {
		return &Error{Offset: d.off, Msg: strconv.Itoa(n) + " bytes after the value"}
	}
	return nil
}

// ContractCodec is the Postcard codec of a data contract (package
// contract). If the contract has a version field, a payload starts with
// its version as a u32 varint, as the first field of upstream's
// versioned structs does; the fields of that version's type follow. Make
// one with For.
//
// Decode reads the version, decodes the payload as that version's type,
// migrates it to T and checks it, refusing with a *contract.Error that
// names the contract and the version: an empty payload (no version), a
// version the contract does not have, input the Decoder refuses (its
// *Error names the byte and the field), bytes after the value, a failed
// migration step and a value the contract's Check refuses. Encode checks
// the value and writes the codec's version, the current one unless As
// chose another.
//
// Every version's type must implement Marshaler and (through a pointer)
// Unmarshaler; Validate reports one that does not. A ContractCodec is
// immutable and safe for concurrent use.
type ContractCodec[T interface {
	contract.SchemaType
	Marshaler
}, PT interface {
	*T
	Unmarshaler
}] struct {
	c       *contract.Contract[T]
	version uint32
	err     error
}

// For returns the Postcard codec of contract c.
func For[T interface {
	contract.SchemaType
	Marshaler
}, PT interface {
	*T
	Unmarshaler
}](c *contract.Contract[T]) *ContractCodec[T, PT] {
	errs := []error{c.Validate()}
	for _, v := range c.Versions() {
		p := c.Value(v.Schema.Version)
		if _, ok := p.(Marshaler); !ok {
			errs = append(errs, fmt.Errorf("postcard: contract %q v%d: %s has no MarshalPostcard method", v.Schema.Name, v.Schema.Version, v.Type))
		}
		if _, ok := p.(Unmarshaler); !ok {
			errs = append(errs, fmt.Errorf("postcard: contract %q v%d: *%s has no UnmarshalPostcard method", v.Schema.Name, v.Schema.Version, v.Type))
		}
	}
	return &ContractCodec[T, PT]{c: c, version: c.Schema().Version, err: errors.Join(errs...)}
}

// As returns a copy of k that encodes as version n, for a peer that
// speaks only that version; decoding is unchanged.
func (k *ContractCodec[T, PT]) As(n uint32) *ContractCodec[T, PT] {
	c := *k
	c.version = n
	return &c
}

// Validate returns every mistake in the contract and in the codec's
// configuration, or nil.
func (k *ContractCodec[T, PT]) Validate() error {
	if k.err != nil {
		return k.err
	}
	if k.version == 0 || k.version > k.c.Schema().Version {
		return fmt.Errorf("postcard: contract %q has no v%d to encode as (it has v1 to v%d)", k.c.Schema().Name, k.version, k.c.Schema().Version)
	}
	return nil
}

// Encode returns the Postcard bytes of v as the codec's version.
func (k *ContractCodec[T, PT]) Encode(v T) ([]byte, error) {
	var e Encoder
	err := k.EncodeTo(&e, v)
	return e.b, err
}

// EncodeTo appends the Postcard bytes of v as the codec's version to e;
// on error e is unchanged. At the current version it allocates nothing
// when e's buffer has room (and the contract's Check allocates nothing).
func (k *ContractCodec[T, PT]) EncodeTo(e *Encoder, v T) error {
	if k.version == k.c.Schema().Version && k.err == nil {
		if err := k.c.Check(v); err != nil {
			return err
		}
		if k.c.VersionField() != "" {
			e.U32(k.version)
		}
		v.MarshalPostcard(e)
		return nil
	}
	start := len(e.b)
	err := k.c.Encode(v, k.version, func(p any) error {
		m, ok := p.(Marshaler)
		if !ok {
			return fmt.Errorf("postcard: %T has no MarshalPostcard method", p)
		}
		if k.c.VersionField() != "" {
			e.U32(k.version)
		}
		m.MarshalPostcard(e)
		return nil
	})
	if err != nil {
		e.b = e.b[:start]
	}
	return err
}

// Decode reads a payload of any version the contract has.
func (k *ContractCodec[T, PT]) Decode(b []byte) (T, error) {
	d := Decoder{b: b}
	version := k.c.Schema().Version
	if f := k.c.VersionField(); f != "" {
		if len(b) == 0 {
			var zero T
			return zero, k.c.NoVersion(errors.New("empty payload"))
		}
		version = d.U32()
		if d.err != nil {
			var zero T
			return zero, k.c.NoVersion(d.err)
		}
	}
	return k.c.Decode(version, func(p any) error {
		u, ok := p.(Unmarshaler)
		if !ok {
			return fmt.Errorf("postcard: %T has no UnmarshalPostcard method", p)
		}
		return unmarshal(&d, u)
	})
}
