package aimx

import "github.com/aimdb-go/aimdb/internal/lograte"

// logEvery is how often a Server logs a warning of one kind; tests
// shorten it.
var logEvery = lograte.DefaultEvery

// warn logs a warning about a connection or the listener at most once
// every logEvery per msg; args should name the remote address. The line
// carries the count of those held back since as "suppressed".
func (s *Server) warn(msg string, args ...any) {
	s.warns.Warn(s.log, logEvery, msg, args...)
}
