package contract

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// The kinds of refusal. Every error a contract returns for a payload or a
// value is an *Error that matches one of them with errors.Is.
var (
	// ErrNoVersion: the payload has no version field, or its value is not
	// an unsigned 32-bit integer.
	ErrNoVersion = errors.New("contract: payload has no version")
	// ErrTooNew: the payload's version, or the version asked of an
	// encoder, is newer than the contract's current version.
	ErrTooNew = errors.New("contract: version too new")
	// ErrTooOld: the version is below 1, the oldest there is.
	ErrTooOld = errors.New("contract: version too old")
	// ErrDecode: the payload does not decode as the type of its version.
	ErrDecode = errors.New("contract: payload does not decode")
	// ErrMigrate: a migration step, up or down, failed or does not exist.
	ErrMigrate = errors.New("contract: migration failed")
	// ErrInvalid: the value is refused by the contract's Check.
	ErrInvalid = errors.New("contract: invalid value")
)

// An Error is a payload or a value a contract refuses. Its message names
// the contract, the version concerned, and the field at fault when one
// is known, as in
//
//	contract "temperature" v2: invalid value: field "celsius": -300 is outside -90 to 70
type Error struct {
	Schema Schema // the contract's name and the version concerned; Version 0 when not known
	Kind   error  // ErrNoVersion, ErrTooNew, ErrTooOld, ErrDecode, ErrMigrate or ErrInvalid
	Err    error  // the detail; a *FieldError names the field
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("contract ")
	b.WriteString(strconv.Quote(e.Schema.Name))
	if e.Schema.Version != 0 {
		b.WriteString(" v")
		b.WriteString(strconv.FormatUint(uint64(e.Schema.Version), 10))
	}
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(e.Kind.Error(), "contract: "))
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Is reports whether target is e's kind.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap returns the detail.
func (e *Error) Unwrap() error { return e.Err }

// A FieldError is a problem with one field of a value or a payload.
// Check functions and codecs return it so that the refusal names the
// field.
type FieldError struct {
	Field string // as on the wire, for example "celsius"; nested fields joined by "."
	Err   error
}

func (e *FieldError) Error() string {
	return "field " + strconv.Quote(e.Field) + ": " + e.Err.Error()
}

func (e *FieldError) Unwrap() error { return e.Err }

// Field returns a *FieldError for field, or nil if err is nil.
func Field(field string, err error) error {
	if err == nil {
		return nil
	}
	return &FieldError{Field: field, Err: err}
}

// Finite returns a *FieldError if v is NaN or infinite, else nil.
func Finite(field string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return &FieldError{Field: field, Err: errors.New(formatFloat(v) + " is not a finite number")}
	}
	return nil
}

// Range returns a *FieldError if v is not a finite number from lo to hi
// inclusive, else nil.
func Range(field string, v, lo, hi float64) error {
	if err := Finite(field, v); err != nil {
		return err
	}
	if v < lo || v > hi {
		return &FieldError{Field: field, Err: errors.New(formatFloat(v) + " is outside " + formatFloat(lo) + " to " + formatFloat(hi))}
	}
	return nil
}

// formatFloat formats v in the fewest digits that read back as v; a value
// that came from a float32 gets the fewest digits of its float32, so 21.4
// stored in a float32 prints as 21.4.
func formatFloat(v float64) string {
	if float64(float32(v)) == v {
		return strconv.FormatFloat(v, 'g', -1, 32)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
