package mqtt_test

import (
	"crypto/tls"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/mqtt"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// mochiBroker is an in-process mochi-mqtt broker on 127.0.0.1 that can
// be stopped and started again on the same port.
type mochiBroker struct {
	mu    sync.Mutex
	addr  string
	srv   *mochi.Server
	proto mqtt.Protocol
	user  string // when set, only user:pass may connect
	pass  string
	tls   *tls.Config // when set, the listener speaks TLS
}

func startMochi(t testing.TB, proto mqtt.Protocol) *mochiBroker {
	t.Helper()
	return startMochiWith(t, &mochiBroker{proto: proto})
}

func startMochiWith(t testing.TB, b *mochiBroker) *mochiBroker {
	t.Helper()
	b.addr = "127.0.0.1:0"
	b.Start(t)
	t.Cleanup(func() { b.Stop(t) })
	return b
}

func (b *mochiBroker) Start(t testing.TB) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv != nil {
		return
	}
	var ln net.Listener
	var err error
	for range 50 { // the port may linger briefly after Stop
		if ln, err = net.Listen("tcp", b.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("mochi listen: %v", err)
	}
	b.addr = ln.Addr().String()
	if b.tls != nil {
		ln = tls.NewListener(ln, b.tls)
	}
	srv := mochi.New(&mochi.Options{Logger: slog.New(slog.DiscardHandler), InlineClient: false})
	var err2 error
	if b.user != "" {
		err2 = srv.AddHook(new(auth.Hook), &auth.Options{Ledger: &auth.Ledger{
			Auth: auth.AuthRules{{Username: auth.RString(b.user), Password: auth.RString(b.pass), Allow: true}},
			ACL:  auth.ACLRules{{Filters: auth.Filters{"#": auth.ReadWrite}}},
		}})
	} else {
		err2 = srv.AddHook(new(auth.AllowHook), nil)
	}
	if err2 != nil {
		t.Fatal(err2)
	}
	if err := srv.AddListener(listeners.NewNet("t", ln)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	b.srv = srv
}

func (b *mochiBroker) Stop(t testing.TB) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv == nil {
		return
	}
	if err := b.srv.Close(); err != nil {
		t.Errorf("mochi close: %v", err)
	}
	b.srv = nil
}

func (b *mochiBroker) URL() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return "mqtt://" + b.addr
}

func (b *mochiBroker) Scheme() string { return "mqtt" }

func (b *mochiBroker) Dialer(t testing.TB) connector.Dialer {
	t.Helper()
	d, err := mqtt.NewDialer(b.URL(), mqtt.Options{Protocol: b.proto})
	if err != nil {
		t.Fatal(err)
	}
	return d
}
