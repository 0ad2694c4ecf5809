package mqttbroker_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	"go.uber.org/goleak"

	"github.com/aimdb-go/aimdb/connector/mqtt/mqttbroker"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestPublishSubscribe: a message published with Publisher reaches a
// subscriber of a wildcard filter, and the broker counts its clients.
func TestPublishSubscribe(t *testing.T) {
	url := mqttbroker.Start(t)
	got := make(chan *paho.Publish, 1)
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "mqtt://"))
	if err != nil {
		t.Fatal(err)
	}
	sub := paho.NewClient(paho.ClientConfig{
		Conn:          packets.NewThreadSafeConn(conn),
		OnClientError: func(error) {},
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(p paho.PublishReceived) (bool, error) {
			got <- p.Packet
			return true, nil
		}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := sub.Connect(ctx, &paho.Connect{ClientID: "sub", CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sub.Disconnect(&paho.Disconnect{})
		<-sub.Done()
	}()
	if _, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "station/+/temperature", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	publish := mqttbroker.Publisher(t, url, "pub")
	publish("station/7/temperature", "21.5")
	select {
	case p := <-got:
		if p.Topic != "station/7/temperature" || string(p.Payload) != "21.5" {
			t.Errorf("received %s %q", p.Topic, p.Payload)
		}
	case <-ctx.Done():
		t.Fatal("the subscriber received nothing")
	}
}

func TestNewAndClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := mqttbroker.New(ln, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.URL() != "mqtt://"+ln.Addr().String() || b.Clients() != 0 {
		t.Errorf("URL %s, clients %d", b.URL(), b.Clients())
	}
	if err := b.Close(time.Second); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Error("the listener still accepts after Close")
	}
}
