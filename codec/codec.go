// Package codec provides aimdb.Codec implementations for links. Each
// is also an aimdb.AppendEncoder: an outbound link encodes into a buffer
// it reuses, instead of allocating a payload per value.
package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sync"
)

// JSON encodes values of type T as compact JSON, the default payload of
// AimDB links: field names as the json tags say, no envelope.
type JSON[T any] struct{}

// Encode returns the JSON encoding of v.
func (JSON[T]) Encode(v T) ([]byte, error) { return json.Marshal(v) }

// AppendEncode appends the JSON encoding of v to dst, the bytes Encode
// returns, and returns the extended buffer. It allocates no output
// buffer of its own.
func (JSON[T]) AppendEncode(dst []byte, v T) ([]byte, error) { return appendJSON(dst, v) }

// Decode decodes a JSON payload into a T.
func (JSON[T]) Decode(b []byte) (T, error) {
	var v T
	err := json.Unmarshal(b, &v)
	return v, err
}

// StrictJSON is JSON that refuses what JSON tolerates: a field T does not
// have (a typo in a command would otherwise arrive as a zero value), and
// anything after the one JSON value. Use it for commands and
// configuration.
type StrictJSON[T any] struct{}

// Encode returns the JSON encoding of v.
func (StrictJSON[T]) Encode(v T) ([]byte, error) { return json.Marshal(v) }

// AppendEncode appends the JSON encoding of v to dst, as JSON does.
func (StrictJSON[T]) AppendEncode(dst []byte, v T) ([]byte, error) { return appendJSON(dst, v) }

// A jsonEncoder is a json.Encoder writing to its own buffer; encoders
// are pooled, so that encoding reuses their buffers.
type jsonEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var jsonEncoders = sync.Pool{New: func() any {
	e := &jsonEncoder{}
	e.enc = json.NewEncoder(&e.buf)
	return e
}}

// appendJSON appends what json.Marshal(v) returns to dst. (An Encoder
// writes the same bytes, HTML-escaped as Marshal does, and a newline.)
func appendJSON(dst []byte, v any) ([]byte, error) {
	e := jsonEncoders.Get().(*jsonEncoder)
	e.buf.Reset()
	err := e.enc.Encode(v)
	if err == nil {
		out := e.buf.Bytes()
		dst = append(dst, out[:len(out)-1]...)
	}
	if e.buf.Cap() <= 64<<10 { // leave a big buffer to the garbage collector
		jsonEncoders.Put(e)
	}
	return dst, err
}

// Decode decodes a JSON payload into a T, refusing unknown fields and
// trailing data.
func (StrictJSON[T]) Decode(b []byte) (T, error) {
	var v T
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&v); err != nil {
		var zero T
		return zero, err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		var zero T
		return zero, errors.New("codec: data after the JSON value")
	}
	return v, nil
}

// Bytes passes payloads through unchanged: Encode returns the value and
// Decode a copy of the payload.
type Bytes struct{}

// Encode returns v.
func (Bytes) Encode(v []byte) ([]byte, error) { return v, nil }

// AppendEncode appends v to dst.
func (Bytes) AppendEncode(dst, v []byte) ([]byte, error) { return append(dst, v...), nil }

// Decode returns a copy of b.
func (Bytes) Decode(b []byte) ([]byte, error) { return append([]byte(nil), b...), nil }

// String encodes strings as their UTF-8 bytes.
type String struct{}

// Encode returns the bytes of v.
func (String) Encode(v string) ([]byte, error) { return []byte(v), nil }

// AppendEncode appends the bytes of v to dst.
func (String) AppendEncode(dst []byte, v string) ([]byte, error) { return append(dst, v...), nil }

// Decode returns b as a string.
func (String) Decode(b []byte) (string, error) { return string(b), nil }
