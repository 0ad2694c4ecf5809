//go:build !js && !wasip1

// These tests need TCP on loopback, which js/wasm and wasip1 do not have:
// the broker listens on 127.0.0.1. The other targets run them.

package mesh_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
)

// newDB returns a DB with d as its MQTT connector, logging to log (the
// test log when nil).
func newDB(t testing.TB, d connector.Dialer, clock aimdb.Clock, log *slog.Logger) *aimdb.DB {
	t.Helper()
	if log == nil {
		log = slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return aimdb.New(&aimdb.Options{
		Connectors: map[string]connector.Dialer{"mqtt": d},
		Clock:      clock,
		Logger:     log,
	})
}

// waitConnected waits until link i of record key is connected, which for
// an inbound link means its subscription is in place.
func waitConnected(t testing.TB, db *aimdb.DB, key string, i int) {
	t.Helper()
	connectortest.WaitLink(t, db, key, i, 5*time.Second, "connected", func(md aimdb.LinkMetadata) bool { return md.Connected })
}

// recv receives the next value of s, failing the test after 5 s.
func recv[T any](t testing.TB, s *aimdb.Subscription[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := s.Recv(ctx)
	if err != nil {
		t.Fatalf("%s: Recv: %v", s.Key(), err)
	}
	return v
}

func subscribe[T any](t testing.TB, db *aimdb.DB, k aimdb.Key[T]) *aimdb.Subscription[T] {
	t.Helper()
	s, err := aimdb.Subscribe(db, k)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// tlogWriter sends log lines to the test log.
type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// logBuffer collects log lines; it is safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
