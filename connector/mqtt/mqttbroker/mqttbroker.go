// Package mqttbroker runs an MQTT broker inside a Go program (mochi-mqtt,
// MQTT 3.1.1 and 5, everyone allowed): the embedded broker of `aimdb demo`,
// and a real broker for tests of programs built on the MQTT connector.
//
//	url := mqttbroker.Start(t) // a broker on a free port until t ends
//	publish := mqttbroker.Publisher(t, url, "foreign-device")
//	publish("station/7/temperature", `{"schema_version":2,"celsius":21.5,"timestamp":0}`)
package mqttbroker

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// A Broker is a running in-process MQTT broker that accepts every client
// and every topic, within the limits of its Options.
type Broker struct {
	srv *mochi.Server
	url string
}

// New serves MQTT on ln until Close. A nil opts is the same as
// &Options{}: the default limits, and no log.
func New(ln net.Listener, opts *Options) (*Broker, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.defaults()
	caps := mochi.NewDefaultServerCapabilities()
	caps.MaximumClients = int64(o.MaxClients)
	caps.MaximumPacketSize = uint32(o.MaxPacketSize)
	caps.MaximumSessionExpiryInterval = uint32(o.SessionExpiry / time.Second)
	srv := mochi.New(&mochi.Options{Logger: o.Logger, InlineClient: false, Capabilities: caps})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, fmt.Errorf("mqttbroker: %w", err)
	}
	if err := srv.AddHook(&retainLimit{max: o.MaxRetained, maxBytes: o.MaxRetainedBytes, sizes: map[string]int{}}, nil); err != nil {
		return nil, fmt.Errorf("mqttbroker: %w", err)
	}
	if err := srv.AddListener(listeners.NewNet("mqtt", ln)); err != nil {
		return nil, fmt.Errorf("mqttbroker: %w", err)
	}
	if err := srv.Serve(); err != nil {
		return nil, fmt.Errorf("mqttbroker: serving %s: %w", ln.Addr(), err)
	}
	return &Broker{srv: srv, url: "mqtt://" + ln.Addr().String()}, nil
}

// URL returns the broker's address as mqtt://host:port.
func (b *Broker) URL() string { return b.url }

// Clients returns the number of connected clients.
func (b *Broker) Clients() int { return int(atomic.LoadInt64(&b.srv.Info.ClientsConnected)) }

// Close stops the broker and closes its listener. It first gives
// connected clients up to wait to leave: mochi-mqtt v2.7.9 races Close
// against connections still being torn down (mochi-mqtt/server#541), and
// a client that disconnected on its own has its goroutines ordered
// before Close this way.
func (b *Broker) Close(wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for b.Clients() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	return b.srv.Close()
}

// Start runs a broker on a free loopback port until the test ends (when
// it waits up to 5 s for the clients, which the test stops first, to
// leave) and returns its URL.
func Start(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mqttbroker: listen: %v", err)
	}
	b, err := New(ln, nil)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(5 * time.Second); err != nil {
			t.Errorf("mqttbroker: close: %v", err)
		}
	})
	return b.URL()
}

// Publisher connects a plain MQTT 5 client with clientID to the broker at
// url, as a foreign device would, until the test ends. publish sends one
// message at QoS 1 and returns once the broker acknowledged it.
func Publisher(t testing.TB, url, clientID string) (publish func(topic, payload string)) {
	t.Helper()
	c := connect(t, url, clientID, nil)
	return func(topic, payload string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(payload)}); err != nil {
			t.Fatalf("mqttbroker: publish %s: %v", topic, err)
		}
	}
}

// connect connects a plain MQTT 5 client with clientID to the broker at
// url until the test ends, passing what it receives to onPublish.
func connect(t testing.TB, url, clientID string, onPublish func(paho.PublishReceived) (bool, error)) *paho.Client {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "mqtt://"))
	if err != nil {
		t.Fatalf("mqttbroker: %v", err)
	}
	cfg := paho.ClientConfig{Conn: packets.NewThreadSafeConn(conn), OnClientError: func(error) {}}
	if onPublish != nil {
		cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){onPublish}
	}
	c := paho.NewClient(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: clientID, CleanStart: true, KeepAlive: 30}); err != nil {
		conn.Close()
		t.Fatalf("mqttbroker: connect %s: %v", clientID, err)
	}
	t.Cleanup(func() {
		_ = c.Disconnect(&paho.Disconnect{})
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Errorf("mqttbroker: client %s did not stop", clientID)
		}
	})
	return c
}

// A Message is one message a Subscriber received.
type Message struct {
	Topic   string
	Payload []byte
}

// Subscriber connects a plain MQTT 5 client with clientID to the broker
// at url, as a foreign consumer would, subscribes to filter at QoS 1 and
// delivers what it receives on the channel (buffered for 256 messages;
// more are dropped) until the test ends. It returns once the broker
// acknowledged the subscription.
func Subscriber(t testing.TB, url, clientID, filter string) <-chan Message {
	t.Helper()
	ch := make(chan Message, 256)
	c := connect(t, url, clientID, func(pr paho.PublishReceived) (bool, error) {
		select {
		case ch <- Message{Topic: pr.Packet.Topic, Payload: append([]byte(nil), pr.Packet.Payload...)}:
		default:
		}
		return true, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}}); err != nil {
		t.Fatalf("mqttbroker: subscribe %s: %v", filter, err)
	}
	return ch
}
