package ringmin

import (
	"sync"
	"sync/atomic"
)

// MutexLatest is a mutex-guarded value slot with a version and a doorbell
// per reader.
type MutexLatest[T any] struct {
	mu      sync.Mutex
	v       T
	version atomic.Uint64
	closed  atomic.Bool
	bells   bells
}

// Push replaces the value.
func (l *MutexLatest[T]) Push(v T) {
	l.mu.Lock()
	l.v = v
	l.version.Add(1)
	l.mu.Unlock()
	l.bells.ringAll()
}

// Close wakes every reader.
func (l *MutexLatest[T]) Close() { l.closed.Store(true); l.bells.forceAll() }

// Subscribe returns a reader that has seen nothing.
func (l *MutexLatest[T]) Subscribe() *LatestReader[T] {
	rd := &LatestReader[T]{bell: newBell()}
	rd.load = func() (T, uint64) {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.v, l.version.Load()
	}
	rd.version, rd.closed = &l.version, &l.closed
	l.bells.add(rd.bell)
	return rd
}

// SeqLatest is a seqlock slot: the writer bumps the sequence to odd, writes,
// bumps it to even; readers retry on a change.
type SeqLatest[T any] struct {
	seq    atomic.Uint64
	v      T
	closed atomic.Bool
	bells  bells
}

// Push replaces the value. Single writer.
//
//go:norace
func (l *SeqLatest[T]) Push(v T) {
	s := l.seq.Load()
	l.seq.Store(s + 1)
	l.v = v
	l.seq.Store(s + 2)
	l.bells.ringAll()
}

// Close wakes every reader.
func (l *SeqLatest[T]) Close() { l.closed.Store(true); l.bells.forceAll() }

// Subscribe returns a reader that has seen nothing.
func (l *SeqLatest[T]) Subscribe() *LatestReader[T] {
	rd := &LatestReader[T]{bell: newBell()}
	rd.load = l.load
	rd.version, rd.closed = &l.seq, &l.closed
	l.bells.add(rd.bell)
	return rd
}

//go:norace
func (l *SeqLatest[T]) load() (T, uint64) {
	for {
		s := l.seq.Load()
		if s&1 == 0 {
			v := l.v
			if l.seq.Load() == s {
				return v, s
			}
		}
	}
}

// PtrLatest publishes each value through an atomic.Pointer: simple, and
// one allocation per store.
type PtrLatest[T any] struct {
	p       atomic.Pointer[T]
	version atomic.Uint64
	closed  atomic.Bool
	bells   bells
}

// Push replaces the value.
func (l *PtrLatest[T]) Push(v T) {
	l.p.Store(&v)
	l.version.Add(1)
	l.bells.ringAll()
}

// Close wakes every reader.
func (l *PtrLatest[T]) Close() { l.closed.Store(true); l.bells.forceAll() }

// Subscribe returns a reader that has seen nothing.
func (l *PtrLatest[T]) Subscribe() *LatestReader[T] {
	rd := &LatestReader[T]{bell: newBell()}
	rd.load = func() (T, uint64) {
		ver := l.version.Load()
		return *l.p.Load(), ver
	}
	rd.version, rd.closed = &l.version, &l.closed
	l.bells.add(rd.bell)
	return rd
}

// LatestReader reads any of the latest slots.
type LatestReader[T any] struct {
	load    func() (T, uint64)
	version *atomic.Uint64
	closed  *atomic.Bool
	seen    uint64
	bell    *bell
}

func (rd *LatestReader[T]) ready() bool {
	return rd.version.Load() != rd.seen || rd.closed.Load()
}

// Recv blocks until the version differs from the last one read.
func (rd *LatestReader[T]) Recv() (v T, lag uint64, ok bool) {
	for {
		if rd.version.Load() != rd.seen {
			v, ver := rd.load()
			rd.seen = ver
			return v, 0, true
		}
		if rd.closed.Load() {
			return v, 0, false
		}
		rd.bell.park(rd.ready)
	}
}

// SeqMailbox is a one-slot mailbox claimed with a compare-and-swap on a
// state word: even = empty, odd = full.
type SeqMailbox[T any] struct {
	state  atomic.Uint64 // low bit: full; upper bits: version
	mu     sync.Mutex    // serializes writers against each other and takers
	v      T
	closed atomic.Bool
	bells  bells
}

// Push replaces any untaken value.
func (m *SeqMailbox[T]) Push(v T) {
	m.mu.Lock()
	m.v = v
	s := m.state.Load()
	m.state.Store((s | 1) + 2)
	m.mu.Unlock()
	m.bells.ringAll()
}

// Close wakes every reader.
func (m *SeqMailbox[T]) Close() { m.closed.Store(true); m.bells.forceAll() }

// Subscribe returns a competing reader.
func (m *SeqMailbox[T]) Subscribe() *MailboxReader[T] {
	rd := &MailboxReader[T]{bell: newBell()}
	rd.take = func() (T, bool) {
		var zero T
		if m.state.Load()&1 == 0 {
			return zero, false
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		s := m.state.Load()
		if s&1 == 0 {
			return zero, false
		}
		v := m.v
		m.state.Store(s &^ 1)
		return v, true
	}
	rd.full = func() bool { return m.state.Load()&1 == 1 || m.closed.Load() }
	rd.closed = &m.closed
	m.bells.add(rd.bell)
	return rd
}

// MutexMailbox is a mutex slot plus a doorbell per reader.
type MutexMailbox[T any] struct {
	mu     sync.Mutex
	v      T
	full   atomic.Bool
	closed atomic.Bool
	bells  bells
}

// Push replaces any untaken value.
func (m *MutexMailbox[T]) Push(v T) {
	m.mu.Lock()
	m.v = v
	m.full.Store(true)
	m.mu.Unlock()
	m.bells.ringAll()
}

// Close wakes every reader.
func (m *MutexMailbox[T]) Close() { m.closed.Store(true); m.bells.forceAll() }

// Subscribe returns a competing reader.
func (m *MutexMailbox[T]) Subscribe() *MailboxReader[T] {
	rd := &MailboxReader[T]{bell: newBell()}
	rd.take = func() (T, bool) {
		m.mu.Lock()
		defer m.mu.Unlock()
		var zero T
		if !m.full.Load() {
			return zero, false
		}
		m.full.Store(false)
		return m.v, true
	}
	rd.full = func() bool { return m.full.Load() || m.closed.Load() }
	rd.closed = &m.closed
	m.bells.add(rd.bell)
	return rd
}

// MailboxReader takes from either mailbox.
type MailboxReader[T any] struct {
	take   func() (T, bool)
	full   func() bool
	closed *atomic.Bool
	bell   *bell
}

// Recv blocks until it takes a value.
func (rd *MailboxReader[T]) Recv() (v T, lag uint64, ok bool) {
	for {
		if v, ok := rd.take(); ok {
			return v, 0, true
		}
		if rd.closed.Load() {
			return v, 0, false
		}
		rd.bell.park(rd.full)
	}
}
