package aimx

import (
	"context"
	"crypto/subtle"
)

// Authenticate reports whether token is the server's ServerOptions.Token,
// comparing in constant time; with no Token set, every token is. A
// transport that authenticates its clients itself (the WebSocket
// handler, at the upgrade) asks it, then serves the connection with
// ServeAuthenticatedConn. A refused token counts as an auth failure.
func (s *Server) Authenticate(token string) bool {
	if s.opts.Token == "" {
		return true
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.Token)) == 1 {
		return true
	}
	s.stats.authFailures.Add(1)
	return false
}

// ServeAuthenticatedConn is ServeConn for a connection its transport
// has authenticated: ServeConn with d.Authenticated set. The session
// answers from its first frame, without waiting for hello's auth_token.
// The server's limits and Policy, and the dialect's Authorized hook,
// apply as to any connection.
func (s *Server) ServeAuthenticatedConn(ctx context.Context, c FrameConn, d Dialect) error {
	d.Authenticated = true
	return s.ServeConn(ctx, c, d)
}
