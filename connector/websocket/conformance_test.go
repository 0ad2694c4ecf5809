// The tests start HTTP servers (httptest), which js/wasm cannot.
//go:build !js

package websocket_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/websocket"
)

// relayMsg is a value written by a client to any topic: the relay hub
// below sends it on to the clients subscribed to that topic.
type relayMsg struct {
	topic   string
	payload []byte
}

type relayCodec struct{}

func (relayCodec) Encode(m relayMsg) ([]byte, error) { return m.payload, nil }
func (relayCodec) Decode(b []byte) (relayMsg, error) { return relayMsg{payload: slices.Clone(b)}, nil }
func (relayCodec) DecodeTopic(topic string, b []byte) (relayMsg, error) {
	return relayMsg{topic: topic, payload: slices.Clone(b)}, nil
}

// relayHub is the peer of the ws-client conformance suite: a DB served
// over WebSocket whose one record takes every client write through a
// "ws://#" link and sends it back out through a "ws://" link on the
// topic it was written to. Stop closes the handler and answers upgrades
// with HTTP 503 until Start mounts a new one.
type relayHub struct {
	srv  *aimx.Server
	opts websocket.HandlerOptions
	ts   *httptest.Server

	mu sync.Mutex
	h  *websocket.Handler
}

func startRelayHub(t *testing.T) *relayHub {
	bus := websocket.NewBus()
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"ws": bus}})
	relay, err := aimdb.Register(db, aimdb.NewKey[relayMsg]("relay"), aimdb.Ring(1<<15))
	if err != nil {
		t.Fatal(err)
	}
	relay.LinkFrom("ws://#", relayCodec{})
	relay.LinkTo("ws://relay", relayCodec{}, aimdb.TopicFrom(func(m relayMsg) string { return m.topic }))
	stop := aimdbtest.Start(t, db)
	p := &relayHub{
		srv: aimx.NewServer(db, &aimx.ServerOptions{MaxConnections: 64}),
		opts: websocket.HandlerOptions{
			Auth: func(*http.Request) (websocket.Permissions, error) {
				return websocket.Permissions{Subscribe: []string{"#"}, Write: []string{"#"}}, nil
			},
			Bus:            bus,
			BusQueue:       1 << 15,
			MaxConnections: 64,
		},
	}
	p.Start(t)
	p.ts = httptest.NewServer(p)
	t.Cleanup(func() {
		p.Stop(t)
		p.ts.Close()
		if err := stop(); err != nil {
			t.Errorf("relay hub: %v", err)
		}
	})
	return p
}

func (p *relayHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	h := p.h
	p.mu.Unlock()
	if h == nil {
		http.Error(w, "stopped by the test", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

func (p *relayHub) url() string { return "ws" + strings.TrimPrefix(p.ts.URL, "http") + "/ws" }

func (p *relayHub) Scheme() string { return "ws-client" }

func (p *relayHub) Dialer(t testing.TB) connector.Dialer {
	d, err := websocket.NewDialer(p.url(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (p *relayHub) Stop(testing.TB) {
	p.mu.Lock()
	h := p.h
	p.h = nil
	p.mu.Unlock()
	if h != nil {
		h.Close()
	}
}

func (p *relayHub) Start(testing.TB) {
	p.mu.Lock()
	p.h = websocket.NewHandler(p.srv, &p.opts)
	p.mu.Unlock()
}

// TestConformance runs the connector suite on ws-client links through a
// hub. Its wildcard cases are left out because they use MQTT's grammar
// ('/' levels, '+'); TestClientConnector covers AimX patterns.
func TestConformance(t *testing.T) {
	connectortest.Run(t, startRelayHub(t), connectortest.Features{Bulk: 5000})
}
