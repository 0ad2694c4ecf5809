// Package codec provides aimdb.Codec implementations for links.
package codec

import "encoding/json"

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
