package aimdb

import (
	"strconv"

	"github.com/aimdb-go/aimdb/internal/buffer"
)

// A Buffer selects how a record stores and delivers values. Build one
// with Ring, Latest or Mailbox; the zero Buffer is invalid.
//
//	               Ring(n)                    Latest()             Mailbox()
//	write          overwrite oldest when full replace              replace unconsumed value
//	readers        own cursor, every value    newest at read time  one shared slot: each value
//	               retained, in order                              taken by exactly one reader
//	new reader     starts at the head         gets current value   takes a value pushed
//	                                          once                 before it subscribed
//	slow reader    one *LagError{Missed: k},  never lags           never lags
//	               resumes at oldest retained
//	peek           none                       current value        current value, not taken
type Buffer struct {
	kind     buffer.Kind
	capacity int
}

// Ring returns an SPMC ring of exactly capacity values (no rounding).
// Every subscriber sees every value in order unless it falls more than
// capacity values behind. Capacity must be at least 1.
func Ring(capacity int) Buffer { return Buffer{kind: buffer.KindRing, capacity: capacity} }

// Latest returns a SingleLatest buffer: it keeps only the newest value,
// for state such as a configuration or the last reading.
func Latest() Buffer { return Buffer{kind: buffer.KindLatest} }

// Mailbox returns a one-slot buffer whose newest unconsumed value replaces
// the older one, for commands where the latest command wins.
func Mailbox() Buffer { return Buffer{kind: buffer.KindMailbox} }

// Type returns the buffer's wire name: "spmc_ring", "single_latest" or
// "mailbox", or "none" for the zero Buffer.
func (b Buffer) Type() string {
	if b.kind == "" {
		return "none"
	}
	return string(b.kind)
}

// Capacity returns the ring capacity, or 1 for Latest and Mailbox.
func (b Buffer) Capacity() int {
	if b.kind == buffer.KindRing {
		return b.capacity
	}
	return 1
}

// String returns a short description such as "Ring(64)".
func (b Buffer) String() string {
	switch b.kind {
	case buffer.KindRing:
		return "Ring(" + strconv.Itoa(b.capacity) + ")"
	case buffer.KindLatest:
		return "Latest()"
	case buffer.KindMailbox:
		return "Mailbox()"
	}
	return "Buffer{}"
}

// problem describes why b cannot be built, or returns "".
func (b Buffer) problem() string {
	switch {
	case b.kind == "":
		return "no buffer: use aimdb.Ring(n), aimdb.Latest() or aimdb.Mailbox()"
	case b.kind == buffer.KindRing && b.capacity < 1:
		return "ring capacity " + strconv.Itoa(b.capacity) + " is less than 1"
	}
	return ""
}
