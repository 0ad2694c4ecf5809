package aimdb

import (
	"fmt"
	"strings"
	"unicode"
)

// A Key names a record and fixes the Go type of its values. Declare keys
// once, as package-level variables, in a package that both producers and
// consumers import: the key is the contract.
//
// Keys follow the convention <namespace>.<category>.<instance>, for
// example "sensor.temp.indoor". Segments are separated by dots; the
// wildcard characters '*' and '#' are reserved for patterns.
type Key[T any] struct{ name string }

// NewKey returns the key named name for records of type T. The name is
// checked when the key is registered; see [ValidateKey].
func NewKey[T any](name string) Key[T] { return Key[T]{name: name} }

// Name returns the key's name.
func (k Key[T]) Name() string { return k.name }

// String returns the key's name.
func (k Key[T]) String() string { return k.name }

// ValidateKey reports whether name is a usable record key: not empty, no
// whitespace or control characters, no empty segment (leading, trailing or
// doubled dots), no wildcard characters '*' or '#', and no '/' (segments
// are separated by dots; '/' separates the levels of link topics).
func ValidateKey(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("invalid key %q: empty", name)
	case strings.TrimSpace(name) == "":
		return fmt.Errorf("invalid key %q: only whitespace", name)
	}
	for i, r := range name {
		switch {
		case unicode.IsSpace(r):
			return fmt.Errorf("invalid key %q: whitespace at byte %d", name, i)
		case unicode.IsControl(r) || r == unicode.ReplacementChar:
			return fmt.Errorf("invalid key %q: control or invalid character at byte %d", name, i)
		case r == '*' || r == '#':
			return fmt.Errorf("invalid key %q: wildcard %q is reserved for patterns", name, r)
		case r == '/':
			return fmt.Errorf("invalid key %q: '/' at byte %d; separate segments with dots", name, i)
		}
	}
	for seg := range strings.SplitSeq(name, ".") {
		if seg == "" {
			return fmt.Errorf("invalid key %q: empty segment", name)
		}
	}
	return nil
}

// entity returns the last segment of a key, after its last '.' or '/'.
func entity(key string) string {
	if i := strings.LastIndexAny(key, "./"); i >= 0 {
		return key[i+1:]
	}
	return key
}
