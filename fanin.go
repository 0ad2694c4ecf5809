package aimdb

import (
	"context"
	"sync"
	"sync/atomic"
)

// A fanIn lets one goroutine receive from many buffer readers: each
// member's reader notifies the fan-in when it may hold a value (see
// buffer.Reader.SetNotify), the fan-in queues the member once, and the
// receiving goroutine polls the queued members in turn. Memory is one
// member per reader and one queue slot per ready member; no goroutine per
// reader.
type fanIn struct {
	mu      sync.Mutex
	queue   []*fanMember // queue[head:] are ready, each at most once
	head    int
	members int  // members not yet removed
	seals   int  // seal calls still expected before the fan-in can end
	closed  bool // closed by its owner: next fails at once
	bell    chan struct{}
	busy    *atomic.Int64 // a stage's: the run's count of consumers at work
}

// A fanMember is one reader of a fanIn. owner is the typed state of its
// reader; the fan-in's user knows its type.
type fanMember struct {
	fi     *fanIn
	owner  any
	notify func() // m.ready, bound once
	queued bool   // guarded by fi.mu
	gone   bool   // guarded by fi.mu
}

// newFanIn returns a fan-in that ends (next fails with ErrClosed) once it
// was sealed seals times and every member was removed.
func newFanIn(seals int) *fanIn {
	return &fanIn{seals: seals, bell: make(chan struct{}, 1)}
}

// add adds a member and queues it, so that its first poll arms it.
func (fi *fanIn) add(owner any) *fanMember {
	m := &fanMember{fi: fi, owner: owner}
	m.notify = m.ready
	fi.mu.Lock()
	fi.members++
	fi.mu.Unlock()
	return m
}

// ready queues m, once, and wakes the receiver. It is the notify function
// of m's reader: it runs in pushing goroutines and never blocks.
func (m *fanMember) ready() {
	fi := m.fi
	fi.mu.Lock()
	if !m.queued && !m.gone {
		m.queued = true
		fi.queue = append(fi.queue, m)
	}
	fi.mu.Unlock()
	fi.wake()
}

func (fi *fanIn) wake() {
	select {
	case fi.bell <- struct{}{}:
	default:
	}
}

// remove drops m: its reader is closed or drained for good.
func (fi *fanIn) remove(m *fanMember) {
	fi.mu.Lock()
	if !m.gone {
		m.gone = true
		fi.members--
	}
	fi.mu.Unlock()
	fi.wake()
}

// seal says that one of the sources of members will add no more.
func (fi *fanIn) seal() {
	fi.mu.Lock()
	fi.seals--
	fi.mu.Unlock()
	fi.wake()
}

// close ends the fan-in for its receiver.
func (fi *fanIn) close() {
	fi.mu.Lock()
	fi.closed = true
	fi.mu.Unlock()
	fi.wake()
}

// next returns a ready member, waiting for one. It fails with ErrClosed
// once the fan-in is closed, or sealed with no member left, and with
// ctx.Err() if ctx ends first. It must be called from one goroutine at a
// time.
func (fi *fanIn) next(ctx context.Context) (*fanMember, error) {
	for {
		fi.mu.Lock()
		for fi.head < len(fi.queue) {
			m := fi.queue[fi.head]
			fi.queue[fi.head] = nil
			fi.head++
			if fi.head == len(fi.queue) {
				fi.queue, fi.head = fi.queue[:0], 0
			}
			m.queued = false
			if !m.gone {
				fi.mu.Unlock()
				return m, nil
			}
		}
		done := fi.closed || fi.seals <= 0 && fi.members == 0
		fi.mu.Unlock()
		if done {
			return nil, ErrClosed
		}
		if fi.busy != nil {
			fi.busy.Add(-1)
		}
		select {
		case <-fi.bell:
		case <-ctx.Done():
		}
		if fi.busy != nil {
			fi.busy.Add(1)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// queued reports whether a member is ready to be polled.
func (fi *fanIn) queued() bool {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.head < len(fi.queue)
}
