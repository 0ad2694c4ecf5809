//go:build !baremetal

package aimdb

import (
	"sync"
	"sync/atomic"
)

// sharedEncodings lets a record's remote readers share the JSON of the
// values they receive: while the record has more than one, their
// encodings go into an encCache.
type sharedEncodings struct {
	readers atomic.Int32
	cache   atomic.Pointer[encCache]
}

// join counts a new remote reader.
func (s *sharedEncodings) join() {
	if s.readers.Add(1) > 1 && s.cache.Load() == nil {
		s.cache.CompareAndSwap(nil, new(encCache))
	}
}

// leave counts a remote reader gone; the last one left alone drops the
// cache.
func (s *sharedEncodings) leave() {
	if s.readers.Add(-1) <= 1 {
		s.cache.Store(nil)
	}
}

// active returns the cache, nil while there is at most one reader.
func (s *sharedEncodings) active() *encCache { return s.cache.Load() }

// encCacheSize is how many recent values' JSON a record keeps for its
// remote readers while it has several.
const encCacheSize = 8

// An encCache holds the JSON of a record's recent values by buffer
// position (buffer.Reader.Position after the value was received, the
// same for every reader of that value), so that a value several remote
// readers receive — AimX subscriptions of several clients, or several
// subscriptions of one — is encoded once. A record has one only while it
// has more than one remote reader; readers far apart in the buffer miss
// and encode for themselves, and two that miss at the same instant both
// encode (the second put wins; both encodings are the same).
type encCache struct {
	mu   sync.Mutex
	pos  [encCacheSize]uint64 // 0: empty (positions start at 1)
	data [encCacheSize][]byte
}

func (c *encCache) get(pos uint64) ([]byte, bool) {
	i := pos % encCacheSize
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pos[i] == pos {
		return c.data[i], true
	}
	return nil, false
}

func (c *encCache) put(pos uint64, b []byte) {
	i := pos % encCacheSize
	c.mu.Lock()
	c.pos[i], c.data[i] = pos, b
	c.mu.Unlock()
}
