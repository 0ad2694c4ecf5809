//go:build !js && !wasip1

// These tests need TCP on loopback, which js/wasm and wasip1 do not have:
// the broker listens on 127.0.0.1. The other targets run them.

package mesh_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// startBroker runs an in-process mochi-mqtt broker on a free loopback
// port until the test ends, and returns its URL.
func startBroker(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("broker listen: %v", err)
	}
	srv := mochi.New(&mochi.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddListener(listeners.NewNet("t", ln)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeBroker(t, srv) })
	return "mqtt://" + ln.Addr().String()
}

// closeBroker closes srv once its clients have gone. mochi-mqtt v2.7.9
// races Close against the goroutines of connections still being torn down
// (github.com/mochi-mqtt/server/issues/541, which -race reports); waiting
// for the connected-clients count, which each connection's goroutine
// decrements last, orders those goroutines before Close.
func closeBroker(t testing.TB, srv *mochi.Server) {
	deadline := time.Now().Add(5 * time.Second)
	for atomic.LoadInt64(&srv.Info.ClientsConnected) > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("broker close: %v", err)
	}
}

// publisher connects a plain MQTT 5 client to the broker, as a foreign
// station would; it disconnects when the test ends. publish sends one
// message at QoS 1 and returns once the broker acknowledged it.
func publisher(t testing.TB, brokerURL, clientID string) (publish func(topic, payload string)) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(brokerURL, "mqtt://"))
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: packets.NewThreadSafeConn(conn), OnClientError: func(error) {}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: clientID, CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Disconnect(&paho.Disconnect{})
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Errorf("paho client %s did not stop", clientID)
		}
	})
	return func(topic, payload string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(payload)}); err != nil {
			t.Fatalf("publish %s: %v", topic, err)
		}
	}
}

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
