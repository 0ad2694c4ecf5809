package aimx

import (
	"sync"
	"time"
)

// logEvery is how often a Server logs a warning of one kind; tests
// shorten it.
var logEvery = 10 * time.Second

// A logLimiter holds back repeated warnings, so that a client cannot
// flood the log: one line per message every logEvery, with the count
// of the lines held back since as "suppressed". Messages are constant
// strings, so the map stays small.
type logLimiter struct {
	mu   sync.Mutex
	msgs map[string]*heldBack
}

type heldBack struct {
	last time.Time
	held uint64
}

// allow reports whether msg may be logged now and, if so, how many
// lines of it were held back since the last one.
func (l *logLimiter) allow(msg string) (bool, uint64) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.msgs == nil {
		l.msgs = map[string]*heldBack{}
	}
	h := l.msgs[msg]
	if h == nil {
		h = &heldBack{}
		l.msgs[msg] = h
	} else if now.Sub(h.last) < logEvery {
		h.held++
		return false, 0
	}
	held := h.held
	h.last, h.held = now, 0
	return true, held
}

// warn logs a warning about a connection or the listener at most once
// every logEvery per msg; args should name the remote address. The line
// carries the count of those held back since as "suppressed".
func (s *Server) warn(msg string, args ...any) {
	if ok, held := s.warns.allow(msg); ok {
		s.log.Warn(msg, append(args, "suppressed", held)...)
	}
}
