package aimx

import (
	"errors"
	"net"
	"slices"
	"time"
)

// Connection slots. A network connection that has not authenticated
// holds one of MaxUnauthenticated pending slots, for at most
// HelloTimeout; when it authenticates it moves to one of MaxConnections.
// Sockets that never authenticate can therefore take the pending slots
// only, and since a new connection closes the oldest pending one when
// they are all taken, a client that authenticates at once gets in
// however many idle sockets there are.

var (
	errTooManyConns = errors.New("aimx: too many connections")
	errHelloTimeout = errors.New("aimx: closed: not authenticated within HelloTimeout")
	errEvicted      = errors.New("aimx: closed to make room: too many unauthenticated connections")
	errAuthFailures = errors.New("aimx: closed after too many hellos with a wrong auth_token")
)

type slotState int

const (
	slotNew     slotState = iota
	slotPending           // in Server.pending
	slotAuthed            // counted in Server.conns
	slotGone              // released, or closed by the server (why)
)

// A connSlot is one connection's place under the server's caps. Its
// state and why are guarded by Server.mu.
type connSlot struct {
	conn    FrameConn
	remote  string // the peer's address, for logs; "" if unknown
	network bool   // the conn has a RemoteAddr method

	state slotState
	why   error // why the server closed the connection, if it did
	timer *time.Timer

	// Of the session's reader goroutine.
	promoted bool // state is slotAuthed (or slotGone after it)
	failures int  // hellos with a wrong auth_token
}

func newSlot(c FrameConn) *connSlot {
	sl := &connSlot{conn: c}
	if ra, ok := c.(interface{ RemoteAddr() net.Addr }); ok {
		sl.network = true
		if a := ra.RemoteAddr(); a != nil {
			sl.remote = a.String()
		}
	}
	return sl
}

// admit gives sl a slot: an authenticated one, or a pending one, which
// may close the oldest pending connection.
func (s *Server) admit(sl *connSlot, authenticated bool) error {
	var evicted *connSlot
	s.mu.Lock()
	if authenticated {
		if s.conns >= s.opts.MaxConnections {
			s.mu.Unlock()
			s.stats.refused.Add(1)
			s.warn("connection refused: too many connections", "remote", sl.remote, "max", s.opts.MaxConnections)
			return errTooManyConns
		}
		s.conns++
		sl.state = slotAuthed
		sl.promoted = true
	} else {
		if len(s.pending) >= s.opts.MaxUnauthenticated {
			evicted = s.pending[0]
			s.dropPending(evicted, errEvicted)
		}
		s.pending = append(s.pending, sl)
		sl.state = slotPending
		sl.timer = time.AfterFunc(s.opts.HelloTimeout, func() { s.helloTimeout(sl) })
	}
	s.mu.Unlock()
	s.stats.accepted.Add(1)
	if evicted != nil {
		s.stats.evicted.Add(1)
		s.warn("closing the oldest unauthenticated connection: too many unauthenticated connections",
			"remote", evicted.remote, "max_unauthenticated", s.opts.MaxUnauthenticated)
		evicted.conn.Close()
	}
	return nil
}

// dropPending takes sl out of the pending slots, for the reason why.
// The caller holds s.mu and closes sl.conn.
func (s *Server) dropPending(sl *connSlot, why error) {
	if i := slices.Index(s.pending, sl); i >= 0 {
		s.pending = slices.Delete(s.pending, i, i+1)
	}
	sl.timer.Stop()
	sl.state = slotGone
	sl.why = why
}

// promote moves sl from its pending slot to an authenticated one. It
// returns an error, and the connection is closed, when MaxConnections
// are taken or the server closed the connection already. It is called
// from the session's reader goroutine.
func (s *Server) promote(sl *connSlot) error {
	if sl.promoted {
		return nil
	}
	s.mu.Lock()
	if sl.state != slotPending { // closed by the server meanwhile
		why := sl.why
		s.mu.Unlock()
		if why == nil {
			why = errPeerGone
		}
		return why
	}
	if s.conns >= s.opts.MaxConnections {
		s.dropPending(sl, errTooManyConns)
		s.mu.Unlock()
		s.stats.refused.Add(1)
		s.warn("connection refused: too many connections", "remote", sl.remote, "max", s.opts.MaxConnections)
		sl.conn.Close()
		return errTooManyConns
	}
	if i := slices.Index(s.pending, sl); i >= 0 {
		s.pending = slices.Delete(s.pending, i, i+1)
	}
	sl.timer.Stop()
	sl.state = slotAuthed
	sl.promoted = true
	s.conns++
	s.mu.Unlock()
	return nil
}

// release frees sl's slot when its connection ends.
func (s *Server) release(sl *connSlot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch sl.state {
	case slotPending:
		s.dropPending(sl, nil)
	case slotAuthed:
		s.conns--
	}
	sl.state = slotGone
}

// helloTimeout closes sl's connection if it is still unauthenticated.
func (s *Server) helloTimeout(sl *connSlot) {
	s.mu.Lock()
	if sl.state != slotPending {
		s.mu.Unlock()
		return
	}
	s.dropPending(sl, errHelloTimeout)
	s.mu.Unlock()
	s.stats.helloTimeouts.Add(1)
	s.warn("closing connection: not authenticated within HelloTimeout", "remote", sl.remote, "hello_timeout", s.opts.HelloTimeout)
	sl.conn.Close()
}

// whyClosed returns why the server closed sl's connection, or nil when
// it did not (the peer hung up, or the connection failed).
func (s *Server) whyClosed(sl *connSlot) error {
	if sl == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return sl.why
}
