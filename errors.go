package aimdb

import (
	"errors"
	"fmt"
	"strings"
)

// Errors callers can branch on with errors.Is.
var (
	// ErrUnknownKey reports a key that no record is registered under.
	ErrUnknownKey = errors.New("aimdb: unknown record key")
	// ErrTypeMismatch reports a key registered with another value type.
	ErrTypeMismatch = errors.New("aimdb: record type mismatch")
	// ErrStarted reports configuration attempted after Run started.
	ErrStarted = errors.New("aimdb: db already started")
	// ErrClosed reports a record whose buffer was closed by shutdown, or a
	// closed subscription.
	ErrClosed = errors.New("aimdb: closed")
	// ErrEmpty is returned by TryRecv when no value is pending.
	ErrEmpty = errors.New("aimdb: no value pending")
	// ErrInvalidConfig matches every *InvalidConfigError.
	ErrInvalidConfig = errors.New("aimdb: invalid configuration")
)

// A LagError reports values a ring subscriber missed because it fell more
// than the ring's capacity behind. It is not terminal: the next receive
// returns the oldest value still retained.
type LagError struct {
	Key    string // the record's key
	Missed uint64 // number of values the subscriber missed
}

func (e *LagError) Error() string {
	return fmt.Sprintf("aimdb: record %q: subscriber lagged, missed %d values", e.Key, e.Missed)
}

// A ConfigError is one configuration mistake, naming the record (and the
// link URL, where there is one).
type ConfigError struct {
	Key     string // record key; empty for DB-wide mistakes
	URL     string // link URL, if the mistake concerns a link
	Message string
	Err     error // the sentinel the mistake matches, such as ErrTypeMismatch; may be nil
}

// Unwrap returns the sentinel the mistake matches, if any.
func (e *ConfigError) Unwrap() error { return e.Err }

func (e *ConfigError) Error() string {
	switch {
	case e.Key != "" && e.URL != "":
		return fmt.Sprintf("record %q (%s): %s", e.Key, e.URL, e.Message)
	case e.Key != "":
		return fmt.Sprintf("record %q: %s", e.Key, e.Message)
	case e.URL != "":
		return fmt.Sprintf("(%s): %s", e.URL, e.Message)
	}
	return e.Message
}

// An InvalidConfigError carries every configuration mistake found when a
// DB is validated. errors.Is(err, ErrInvalidConfig) matches it.
type InvalidConfigError struct {
	Errors []*ConfigError
}

func (e *InvalidConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "aimdb: invalid configuration (%d error(s)): ", len(e.Errors))
	for i, ce := range e.Errors {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(ce.Error())
	}
	return b.String()
}

// Is reports whether target is ErrInvalidConfig.
func (e *InvalidConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// Unwrap returns the individual mistakes.
func (e *InvalidConfigError) Unwrap() []error {
	errs := make([]error, len(e.Errors))
	for i, ce := range e.Errors {
		errs[i] = ce
	}
	return errs
}

// A StageError reports a stage that returned an error or panicked.
type StageError struct {
	Key   string // the record the stage belongs to
	Stage string // "source[0]", "tap[1]", "transform", …
	Err   error
}

func (e *StageError) Error() string {
	return fmt.Sprintf("aimdb: record %q %s: %v", e.Key, e.Stage, e.Err)
}

func (e *StageError) Unwrap() error { return e.Err }

// A PanicError is the error a stage that panicked is reported with.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the stack of the panicking goroutine
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }
