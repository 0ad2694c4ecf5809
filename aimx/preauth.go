package aimx

import (
	"context"
	"crypto/subtle"
	"time"
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

// Guessing tokens: each wrong hello is answered after a pause, and the
// third on one connection closes it.
const (
	maxHelloFailures = 3
	failWaitReset    = 10 * time.Second
)

// The pause before answering a wrong hello; tests lengthen it.
var minFailWait, maxFailWait = 100 * time.Millisecond, time.Second

// failWait returns how long to hold back the answer to a wrong hello:
// 100 ms, doubling with each wrong hello that follows the previous one
// (on any connection) within 10 s, up to 1 s.
func (s *Server) failWait() time.Duration {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failWaitNow == 0 || now.Sub(s.lastFail) > failWaitReset {
		s.failWaitNow = minFailWait
	} else {
		s.failWaitNow = max(min(2*s.failWaitNow, maxFailWait), minFailWait)
	}
	s.lastFail = now
	return s.failWaitNow
}

// helloFailed answers a hello with a wrong auth_token "denied" after a
// pause (failWait), which holds up this connection only. The session is
// left unauthenticated; after maxHelloFailures its connection is closed.
func (ss *session) helloFailed(ctx context.Context, id uint64) error {
	ss.authed = false
	sl := ss.slot
	sl.failures++
	ss.srv.warn("hello with a wrong auth_token refused", "remote", sl.remote, "failures", sl.failures)
	t := time.NewTimer(ss.srv.failWait())
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
		return ctx.Err()
	}
	if err := ss.replyErr(ctx, id, CodeDenied); err != nil {
		return err
	}
	if sl.failures >= maxHelloFailures {
		ss.srv.stats.authClosed.Add(1)
		ss.srv.warn("closing connection: too many hellos with a wrong auth_token", "remote", sl.remote, "failures", sl.failures)
		return errAuthFailures
	}
	return nil
}
