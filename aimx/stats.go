package aimx

import "sync/atomic"

// ServerStats are a Server's counters since NewServer, over every
// listener, stream and WebSocket connection it serves.
type ServerStats struct {
	Accepted        uint64 // connections served
	Refused         uint64 // connections closed because MaxConnections were authenticated, at once or when they authenticated
	Open            int    // connections being served now, authenticated or not
	Unauthenticated int    // of Open, network connections not authenticated yet (MaxUnauthenticated)
	HelloTimeouts   uint64 // connections closed for not authenticating within HelloTimeout
	Evicted         uint64 // unauthenticated connections closed to make room for a new one (MaxUnauthenticated)
	AuthClosed      uint64 // connections closed after three hellos with a wrong auth_token
	AcceptRetries   uint64 // accept errors that passed (such as EMFILE) and were retried
	Requests        uint64 // req frames handled
	ErrorReplies    uint64 // replies carrying an error code
	Subscriptions   int    // live subscriptions, over all connections
	Events          uint64 // subscription frames (event, snap, subscribed) sent to clients
	EventsDropped   uint64 // events dropped because a client's queue was full
	Malformed       uint64 // frames that did not parse, skipped
	Oversize        uint64 // frames over MaxFrame, each closing its connection
	AuthFailures    uint64 // hello requests with a wrong auth_token

	// Slow clients and subscription bounds (ServerOptions.WriteTimeout,
	// MaxQueuedBytes, MaxSubscribedRecords).
	SlowClosed     uint64 // connections closed because the client did not take its frames within WriteTimeout
	RecordsOverCap uint64 // records not served because of MaxSubscribedRecords: the matches of each sub refused for it, and each record a growing subscription did not add
}

// serverCounters are updated with atomics by the sessions.
type serverCounters struct {
	accepted, refused, requests, errorReplies atomic.Uint64
	helloTimeouts, evicted, authClosed        atomic.Uint64
	acceptRetries                             atomic.Uint64
	events, eventsDropped                     atomic.Uint64
	malformed, oversize, authFailures         atomic.Uint64
	subscriptions                             atomic.Int64

	slowClosed, recordsOverCap atomic.Uint64
}

// Stats returns the server's counters. It is safe for concurrent use.
func (s *Server) Stats() ServerStats {
	s.mu.Lock()
	open, unauth := s.conns+len(s.pending), len(s.pending)
	s.mu.Unlock()
	c := &s.stats
	return ServerStats{
		Accepted:        c.accepted.Load(),
		Refused:         c.refused.Load(),
		Open:            open,
		Unauthenticated: unauth,
		HelloTimeouts:   c.helloTimeouts.Load(),
		Evicted:         c.evicted.Load(),
		AuthClosed:      c.authClosed.Load(),
		AcceptRetries:   c.acceptRetries.Load(),
		Requests:        c.requests.Load(),
		ErrorReplies:    c.errorReplies.Load(),
		Subscriptions:   int(c.subscriptions.Load()),
		Events:          c.events.Load(),
		EventsDropped:   c.eventsDropped.Load(),
		Malformed:       c.malformed.Load(),
		Oversize:        c.oversize.Load(),
		AuthFailures:    c.authFailures.Load(),

		SlowClosed:     c.slowClosed.Load(),
		RecordsOverCap: c.recordsOverCap.Load(),
	}
}
