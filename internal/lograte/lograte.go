// Package lograte holds back repeated warnings, so that a client cannot
// flood a server's log: one line per message per interval, carrying the
// count of the lines held back since as "suppressed".
package lograte

import (
	"log/slog"
	"sync"
	"time"
)

// A Limiter logs each message at most once per interval. Messages
// should be constant strings, so that the set it keeps stays small. The
// zero value is ready to use, and it is safe for concurrent use.
type Limiter struct {
	mu   sync.Mutex
	msgs map[string]*heldBack
}

// DefaultEvery is the interval servers use.
const DefaultEvery = 10 * time.Second

type heldBack struct {
	last time.Time
	held uint64
}

// Allow reports whether msg may be logged now, every after it was last,
// and if so how many lines of it were held back since.
func (l *Limiter) Allow(msg string, every time.Duration) (bool, uint64) {
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
	} else if now.Sub(h.last) < every {
		h.held++
		return false, 0
	}
	held := h.held
	h.last, h.held = now, 0
	return true, held
}

// Warn logs msg with args on log at level Warn, unless it was logged
// less than every ago; the line carries "suppressed", the count held
// back since.
func (l *Limiter) Warn(log *slog.Logger, every time.Duration, msg string, args ...any) {
	if ok, held := l.Allow(msg, every); ok {
		log.Warn(msg, append(args, "suppressed", held)...)
	}
}
