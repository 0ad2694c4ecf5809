//go:build baremetal

package aimdb

// receipts says whether outbound pumps and link managers keep the
// accounts DB.Flush reads. Not on bare metal: every field and type they
// need costs flash in every program (struct type names are kept for
// reflection), and Flush reports ErrFlushUnavailable there.
const receipts = false

// A flushEpoch holds nothing on bare metal.
type flushEpoch struct{}

func (e *flushEpoch) queued()            {}
func (e *flushEpoch) fail(uint64)        {}
func (e *flushEpoch) follow(*flushEpoch) {}
func (e *flushEpoch) finish(bool)        {}

func (e *flushEpoch) settle() (settled bool, pending, failed uint64) { return true, 0, 0 }
