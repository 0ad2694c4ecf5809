package aimdb

import (
	"log/slog"
	"time"

	"github.com/aimdb-go/aimdb/connector"
)

// Options configure a DB. The zero value is ready to use, and New(nil) is
// the same as New(&Options{}).
type Options struct {
	// Logger receives the DB's logs, including every stage failure.
	// If nil, logs are discarded.
	Logger *slog.Logger

	// Clock gives stages time and paces restart backoff. If nil, the
	// DB uses SystemClock. Use a VirtualClock for deterministic runs.
	Clock Clock

	// ShutdownTimeout bounds graceful shutdown: after sources stop, taps
	// and transforms get this long to drain what is buffered before their
	// context is cancelled. If zero, it is 5 seconds. If negative,
	// shutdown does not drain.
	ShutdownTimeout time.Duration

	// OnStageError decides what happens when a stage returns an error or
	// panics. The default, RestartStage, restarts it with backoff.
	OnStageError FailurePolicy

	// RestartBackoff is the delay before the first restart of a failed
	// stage; it doubles on each consecutive failure up to
	// MaxRestartBackoff. If zero, it is 100ms.
	RestartBackoff time.Duration

	// MaxRestartBackoff caps the restart delay. If zero, it is 30s.
	// A stage that ran for longer than MaxRestartBackoff before failing
	// starts again from RestartBackoff.
	MaxRestartBackoff time.Duration

	// Connectors serve the links of records, by URL scheme: a link to
	// "mqtt://sensors/t" uses Connectors["mqtt"]. The DB owns each
	// connector's session while it runs (see Record.LinkTo).
	Connectors map[string]connector.Dialer

	// LinkQueueSize bounds each connector's queue of outbound messages
	// waiting for a connection; when it is full the oldest message is
	// dropped and counted. If zero, it is 1024.
	LinkQueueSize int

	// ReconnectBackoff is the delay before a connector dials again after
	// a failed dial or a lost connection; it doubles on each consecutive
	// failure up to MaxReconnectBackoff, with jitter (each wait is
	// between half and all of the current delay). If zero, it is 100ms.
	ReconnectBackoff time.Duration

	// MaxReconnectBackoff caps the reconnect delay. If zero, it is 30s.
	MaxReconnectBackoff time.Duration
}

// A FailurePolicy decides what a DB does when a stage fails. Every failure
// is logged and counted in the stage's metadata whatever the policy.
type FailurePolicy int

const (
	// RestartStage restarts a failed stage after a backoff. A restarted
	// tap or transform keeps its subscription, so it resumes where it was.
	RestartStage FailurePolicy = iota
	// StopDB shuts the DB down gracefully; Run returns the stage's error
	// as a *StageError.
	StopDB
)

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	if r.Clock == nil {
		r.Clock = SystemClock{}
	}
	if r.ShutdownTimeout == 0 {
		r.ShutdownTimeout = 5 * time.Second
	}
	if r.RestartBackoff <= 0 {
		r.RestartBackoff = 100 * time.Millisecond
	}
	if r.MaxRestartBackoff <= 0 {
		r.MaxRestartBackoff = 30 * time.Second
	}
	r.MaxRestartBackoff = max(r.MaxRestartBackoff, r.RestartBackoff)
	if r.LinkQueueSize <= 0 {
		r.LinkQueueSize = 1024
	}
	if r.ReconnectBackoff <= 0 {
		r.ReconnectBackoff = 100 * time.Millisecond
	}
	if r.MaxReconnectBackoff <= 0 {
		r.MaxReconnectBackoff = 30 * time.Second
	}
	r.MaxReconnectBackoff = max(r.MaxReconnectBackoff, r.ReconnectBackoff)
	return r
}
