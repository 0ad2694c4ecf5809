package persist

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors of stores and backends.
var (
	// ErrClosed reports a backend or store used after Close.
	ErrClosed = errors.New("persist: closed")
	// ErrInvalid reports a bad query, row or option; the error names it.
	ErrInvalid = errors.New("persist: invalid")
)

// A Row is one stored value.
type Row struct {
	Key     string    // the record's key
	Time    time.Time // when the value was produced; stored with nanosecond precision
	Schema  string    // the schema name of Data's encoding (a data contract's name)
	Version uint32    // the schema version of Data's encoding
	Data    []byte    // the encoded value
	// Seq is the backend's insertion order, set on the rows a query
	// returns (increasing with each row appended); Append ignores it.
	Seq int64
}

// Order is the order of query results.
type Order int

const (
	// Ascending returns the oldest rows first.
	Ascending Order = iota
	// Descending returns the newest rows first.
	Descending
)

// A Query selects stored rows.
type Query struct {
	// Pattern selects records by key: "." separates segments, "*" is
	// exactly one segment, "#" any number (including none). Empty is "#".
	Pattern string
	// Since and Until bound the rows' times, both inclusive; the zero
	// time is no bound.
	Since, Until time.Time
	// Order orders the rows by time, ties by insertion order.
	Order Order
	// Limit, when positive, keeps the first Limit rows of each record in
	// Order: with Descending, each record's newest Limit rows.
	Limit int
	// Bucket, when positive, downsamples: of the rows of one record whose
	// times fall in the same bucket (multiples of Bucket since the Unix
	// epoch), only the newest is kept. Limit applies after it.
	Bucket time.Duration
}

// Validate reports what is wrong with q, wrapping ErrInvalid.
func (q Query) Validate() error {
	switch {
	case q.Limit < 0:
		return fmt.Errorf("%w query: limit %d is negative", ErrInvalid, q.Limit)
	case q.Bucket < 0:
		return fmt.Errorf("%w query: bucket %v is negative", ErrInvalid, q.Bucket)
	case q.Order != Ascending && q.Order != Descending:
		return fmt.Errorf("%w query: order %d is neither Ascending nor Descending", ErrInvalid, q.Order)
	case !q.Since.IsZero() && !q.Until.IsZero() && q.Until.Before(q.Since):
		return fmt.Errorf("%w query: until %v is before since %v", ErrInvalid, q.Until, q.Since)
	}
	return ValidatePattern(q.Pattern)
}

// A Trim removes old rows of one record.
type Trim struct {
	// Before, when not zero, removes the rows older than it.
	Before time.Time
	// Keep, when positive, removes all but the record's newest Keep rows.
	Keep int
}

// A Backend stores rows. Its methods are safe for concurrent use.
type Backend interface {
	// Name names the backend in metadata ("memory", "sqlite", …).
	Name() string
	// Append stores rows atomically: all of them or, with an error,
	// none. It fails with ErrInvalid, storing nothing, for a row with an
	// empty key.
	Append(ctx context.Context, rows []Row) error
	// Query returns the rows q selects, in q's order (see Query). It
	// fails with ErrInvalid for a query that does not Validate.
	Query(ctx context.Context, q Query) ([]Row, error)
	// Latest returns the newest row of each record pattern matches, in
	// key order.
	Latest(ctx context.Context, pattern string) ([]Row, error)
	// Trim removes rows of the record key as t says and returns how many.
	Trim(ctx context.Context, key string, t Trim) (int64, error)
	// Close releases the backend. Later calls fail with ErrClosed.
	Close() error
}

// CheckRows reports the first row Append must refuse, wrapping
// ErrInvalid. Backends call it before storing anything.
func CheckRows(rows []Row) error {
	for i, r := range rows {
		if r.Key == "" {
			return fmt.Errorf("%w row %d: empty key", ErrInvalid, i)
		}
	}
	return nil
}
