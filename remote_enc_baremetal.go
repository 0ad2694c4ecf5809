//go:build baremetal

package aimdb

// On bare metal a record's remote readers encode for themselves: a
// device serves one link, and the cache would cost flash in every
// program that gives a record remote access.
type sharedEncodings struct{}

func (*sharedEncodings) join()             {}
func (*sharedEncodings) leave()            {}
func (*sharedEncodings) active() *encCache { return nil }

type encCache struct{}

func (*encCache) get(uint64) ([]byte, bool) { return nil, false }
func (*encCache) put(uint64, []byte)        {}
