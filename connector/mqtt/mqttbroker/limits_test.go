package mqttbroker_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"

	"github.com/aimdb-go/aimdb/connector/mqtt/mqttbroker"
)

// start runs a broker with opts until the test ends.
func start(t *testing.T, opts *mqttbroker.Options) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := mqttbroker.New(ln, opts)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(5 * time.Second) })
	return b.URL()
}

// client is a paho MQTT 5 client; received gets every message it is
// sent.
type client struct {
	*paho.Client
	received chan *paho.Publish
}

// connect connects a client with id to url until the test ends.
func connect(t *testing.T, url, id string, props *paho.ConnectProperties) (*client, *paho.Connack, error) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "mqtt://"))
	if err != nil {
		t.Fatal(err)
	}
	c := &client{received: make(chan *paho.Publish, 64)}
	c.Client = paho.NewClient(paho.ClientConfig{
		Conn:          packets.NewThreadSafeConn(conn),
		OnClientError: func(error) {},
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(p paho.PublishReceived) (bool, error) {
			c.received <- p.Packet
			return true, nil
		}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ca, err := c.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30, Properties: props})
	if err != nil {
		conn.Close()
		return nil, ca, err
	}
	t.Cleanup(func() {
		_ = c.Disconnect(&paho.Disconnect{})
		<-c.Done()
	})
	return c, ca, nil
}

func (c *client) subscribe(t *testing.T, filter string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
}

func (c *client) publish(topic string, payload []byte, retain bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Retain: retain, Payload: payload})
	return err
}

// drain returns the topics of the messages c receives until none came
// for 200 ms.
func (c *client) drain() []string {
	var topics []string
	for {
		select {
		case p := <-c.received:
			topics = append(topics, p.Topic+"="+string(p.Payload))
		case <-time.After(200 * time.Millisecond):
			return topics
		}
	}
}

// TestMaxPacketSize: with the defaults, a publish bigger than 1 MiB
// disconnects its client and is neither delivered nor retained.
func TestMaxPacketSize(t *testing.T) {
	url := start(t, nil)
	sub, _, err := connect(t, url, "sub", nil)
	if err != nil {
		t.Fatal(err)
	}
	sub.subscribe(t, "big/#")
	pub, _, err := connect(t, url, "pub", nil)
	if err != nil {
		t.Fatal(err)
	}
	// paho waits for the PUBACK until its context ends, not for the
	// connection.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	done := make(chan error, 1)
	go func() {
		_, err := pub.Publish(ctx, &paho.Publish{Topic: "big/one", QoS: 1, Retain: true, Payload: make([]byte, 2<<20)})
		done <- err
	}()
	select {
	case <-pub.Done():
	case <-ctx.Done():
		t.Error("the client of a 2 MiB publish is still connected")
	}
	cancel()
	<-done
	if got := sub.drain(); len(got) != 0 {
		t.Errorf("the subscriber received %d messages; want none", len(got))
	}
	late, _, err := connect(t, url, "late", nil)
	if err != nil {
		t.Fatal(err)
	}
	late.subscribe(t, "#")
	if got := late.drain(); len(got) != 0 {
		t.Errorf("retained: %d messages; want none", len(got))
	}
}

// TestMaxClients: a CONNECT over MaxClients is refused "server busy".
func TestMaxClients(t *testing.T) {
	url := start(t, &mqttbroker.Options{MaxClients: 2})
	for _, id := range []string{"a", "b"} {
		if _, _, err := connect(t, url, id, nil); err != nil {
			t.Fatalf("client %s: %v", id, err)
		}
	}
	_, ca, err := connect(t, url, "c", nil)
	if err == nil || ca == nil || ca.ReasonCode != 0x89 {
		t.Fatalf("third client: CONNACK %+v, %v; want refused with 0x89 (server busy)", ca, err)
	}
}

// TestMaxRetained: retained messages over MaxRetained topics or
// MaxRetainedBytes are delivered but not retained; replacing and
// clearing a retained topic always work.
func TestMaxRetained(t *testing.T) {
	url := start(t, &mqttbroker.Options{MaxRetained: 2, MaxRetainedBytes: 8})
	pub, _, err := connect(t, url, "pub", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct{ topic, payload string }{
		{"r/a", "1"}, {"r/b", "2"}, {"r/c", "3"}, // r/c: over MaxRetained
		{"r/a", "11"},             // a replacement
		{"r/b", ""}, {"r/d", "4"}, // clearing r/b makes room
		{"r/a", "123456789"}, // over MaxRetainedBytes: r/a keeps "11"
	} {
		if err := pub.publish(m.topic, []byte(m.payload), true); err != nil {
			t.Fatal(err)
		}
	}
	sub, _, err := connect(t, url, "sub", nil)
	if err != nil {
		t.Fatal(err)
	}
	sub.subscribe(t, "r/#")
	// The last publish may still be in flight when sub subscribes; then
	// it also arrives live, after the retained messages. Had it been
	// retained, r/a=11 would be gone.
	got := strings.TrimSuffix(strings.Join(sub.drain(), " "), " r/a=123456789")
	if got != "r/a=11 r/d=4" && got != "r/d=4 r/a=11" {
		t.Errorf("retained %q; want r/a=11 and r/d=4", got)
	}
}

// TestSessionExpiry: a client asking to keep its session longer than
// SessionExpiry is told the broker's limit in CONNACK.
func TestSessionExpiry(t *testing.T) {
	url := start(t, nil)
	ask := uint32(7 * 24 * 3600)
	_, ca, err := connect(t, url, "a", &paho.ConnectProperties{SessionExpiryInterval: &ask})
	if err != nil {
		t.Fatal(err)
	}
	want := uint32(mqttbroker.DefaultSessionExpiry / time.Second)
	if p := ca.Properties; p == nil || p.SessionExpiryInterval == nil || *p.SessionExpiryInterval != want {
		t.Errorf("CONNACK session expiry %+v; want %d", p, want)
	}
}
