// Package codec provides aimdb.Codec implementations for links.
package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// JSON encodes values of type T as compact JSON, the default payload of
// AimDB links: field names as the json tags say, no envelope.
type JSON[T any] struct{}

// Encode returns the JSON encoding of v.
func (JSON[T]) Encode(v T) ([]byte, error) { return json.Marshal(v) }

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

// Decode returns a copy of b.
func (Bytes) Decode(b []byte) ([]byte, error) { return append([]byte(nil), b...), nil }

// String encodes strings as their UTF-8 bytes.
type String struct{}

// Encode returns the bytes of v.
func (String) Encode(v string) ([]byte, error) { return []byte(v), nil }

// Decode returns b as a string.
func (String) Decode(b []byte) (string, error) { return string(b), nil }
