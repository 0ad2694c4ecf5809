//go:build !race

// The race detector allocates on its own, so the allocation counts run
// only in normal builds.

package mqtt_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/mqtt"
	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
)

// allocBudget is how many allocations per message the link path may
// cost above raw paho doing the same work (encoding or decoding the same
// JSON) on the same broker at the same QoS.
const allocBudget = 2

const allocMessages = 10_000

type allocReading struct {
	Station int     `json:"station"`
	Seq     int     `json:"seq"`
	Celsius float64 `json:"celsius"`
}

// mallocs returns the heap allocations of the process so far.
func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// perMessage runs send, which must return once allocMessages messages
// arrived, and returns the process's allocations per message during it.
func perMessage(send func()) float64 {
	runtime.GC()
	before := mallocs()
	send()
	return float64(mallocs()-before) / allocMessages
}

// counter closes done once it has seen allocMessages messages.
type counter struct {
	n    atomic.Int64
	done chan struct{}
}

func newCounter() *counter { return &counter{done: make(chan struct{})} }

func (c *counter) add() {
	if c.n.Add(1) == allocMessages {
		close(c.done)
	}
}

func (c *counter) wait(t *testing.T) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(time.Minute):
		t.Fatalf("received %d of %d messages", c.n.Load(), allocMessages)
	}
}

// countingJSON is codec.JSON counting what it decodes.
type countingJSON struct {
	codec.JSON[allocReading]
	c *counter
}

func (cj countingJSON) Decode(b []byte) (allocReading, error) {
	v, err := cj.JSON.Decode(b)
	cj.c.add()
	return v, err
}

// rawPaho connects a paho.golang client to the broker at url.
func rawPaho(t *testing.T, url, id string, onPublish func(*paho.Publish)) *paho.Client {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "mqtt://"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := paho.ClientConfig{Conn: packets.NewThreadSafeConn(conn), OnClientError: func(error) {}}
	if onPublish != nil {
		cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			onPublish(pr.Packet)
			return true, nil
		}}
	}
	c := paho.NewClient(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}); <-c.Done() })
	return c
}

func rawSubscribe(t *testing.T, c *paho.Client, topic string, qos byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: qos}}}); err != nil {
		t.Fatal(err)
	}
}

// TestAllocsPerMessage counts the allocations of every message through
// an outbound link (Produce → encode → publish → acknowledged) and an
// inbound link (received → decode → stored) over 10 000 messages, at
// QoS 0 and 1, against raw paho clients doing the same JSON work on the
// same mosquitto (an external process: the count is the client side
// only). The link path may cost at most allocBudget more per message. A
// positive control shows that the count sees three allocations per
// message added to the raw path.
func TestAllocsPerMessage(t *testing.T) {
	m := startMosquitto(t, mqtt.V5, false)
	url := m.URL()
	for _, qos := range []byte{0, 1} {
		t.Run(fmt.Sprintf("out/qos=%d", qos), func(t *testing.T) {
			link, raw := allocsOut(t, m, url, qos)
			t.Logf("outbound QoS %d: %.2f allocations per message through the link, %.2f with raw paho", qos, link, raw)
			if link > raw+allocBudget {
				t.Errorf("outbound QoS %d: %.2f allocations per message; raw paho %.2f; budget +%d", qos, link, raw, allocBudget)
			}
		})
		t.Run(fmt.Sprintf("in/qos=%d", qos), func(t *testing.T) {
			link, raw := allocsIn(t, m, url, qos, 0)
			t.Logf("inbound QoS %d: %.2f allocations per message through the link, %.2f with raw paho", qos, link, raw)
			if link > raw+allocBudget {
				t.Errorf("inbound QoS %d: %.2f allocations per message; raw paho %.2f; budget +%d", qos, link, raw, allocBudget)
			}
		})
	}
	t.Run("control", func(t *testing.T) {
		// The raw path with three more allocations per message, measured
		// as the link is: the budget check must catch it.
		_, raw := allocsIn(t, m, url, 0, 0)
		_, heavier := allocsIn(t, m, url, 0, 3)
		t.Logf("control: raw paho %.2f, with 3 more allocations %.2f", raw, heavier)
		if heavier <= raw+allocBudget {
			t.Errorf("3 allocations per message added: counted %.2f against %.2f; the count cannot fail", heavier, raw)
		}
	})
}

var allocSink atomic.Pointer[[8]byte]

// allocsOut returns the allocations per message of an outbound link and
// of a raw paho publisher; a raw subscriber counts the messages.
func allocsOut(t *testing.T, m *mosquitto, url string, qos byte) (link, raw float64) {
	for _, impl := range []string{"link", "raw"} {
		topic := fmt.Sprintf("allocs/out/%s/%d", impl, qos)
		c := newCounter()
		sub := rawPaho(t, url, "allocs-sub-"+impl+topic, func(*paho.Publish) { c.add() })
		rawSubscribe(t, sub, topic, 0)
		var send func()
		if impl == "link" {
			db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": m.Dialer(t)}})
			out, _ := aimdb.Register(db, aimdb.NewKey[allocReading]("allocs.out"), aimdb.Ring(2*allocMessages))
			out.LinkTo(fmt.Sprintf("mqtt://%s?qos=%d", topic, qos), codec.JSON[allocReading]{})
			runAlone(t, db, "allocs.out")
			send = func() {
				for i := range allocMessages {
					_ = out.Produce(allocReading{Station: 1, Seq: i, Celsius: 21.5})
				}
				c.wait(t)
			}
		} else {
			pub := rawPaho(t, url, "allocs-pub-"+topic, nil)
			ctx := context.Background()
			send = func() {
				for i := range allocMessages {
					payload, _ := json.Marshal(allocReading{Station: 1, Seq: i, Celsius: 21.5})
					if _, err := pub.Publish(ctx, &paho.Publish{Topic: topic, QoS: qos, Payload: payload}); err != nil {
						t.Fatal(err)
					}
				}
				c.wait(t)
			}
		}
		n := perMessage(send)
		if impl == "link" {
			link = n
		} else {
			raw = n
		}
	}
	return link, raw
}

// allocsIn returns the allocations per message of an inbound link and of
// a raw paho subscriber decoding the same JSON (plus extra allocations
// per message, for the control); a raw publisher sends the messages.
func allocsIn(t *testing.T, m *mosquitto, url string, qos byte, extra int) (link, raw float64) {
	for _, impl := range []string{"link", "raw"} {
		if impl == "link" && extra > 0 {
			continue
		}
		topic := fmt.Sprintf("allocs/in/%s/%d/%d", impl, qos, extra)
		c := newCounter()
		if impl == "link" {
			db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": m.Dialer(t)}})
			in, _ := aimdb.Register(db, aimdb.NewKey[allocReading]("allocs.in"), aimdb.Latest())
			in.LinkFrom(fmt.Sprintf("mqtt://%s?qos=%d", topic, qos), countingJSON{c: c})
			runAlone(t, db, "allocs.in")
		} else {
			var last atomic.Pointer[allocReading]
			sub := rawPaho(t, url, "allocs-sub-"+topic, func(p *paho.Publish) {
				var v allocReading
				if json.Unmarshal(p.Payload, &v) == nil {
					last.Store(&v)
				}
				for range extra {
					allocSink.Store(new([8]byte))
				}
				c.add()
			})
			rawSubscribe(t, sub, topic, qos)
		}
		pub := rawPaho(t, url, "allocs-pub-"+topic, nil)
		payloads := make([][]byte, allocMessages)
		for i := range payloads {
			payloads[i], _ = json.Marshal(allocReading{Station: 1, Seq: i, Celsius: 21.5})
		}
		ctx := context.Background()
		n := perMessage(func() {
			for _, p := range payloads {
				if _, err := pub.Publish(ctx, &paho.Publish{Topic: topic, QoS: qos, Payload: p}); err != nil {
					t.Fatal(err)
				}
			}
			c.wait(t)
		})
		if impl == "link" {
			link = n
		} else {
			raw = n
		}
	}
	return link, raw
}

// runAlone runs db until the test ends and returns once the first link of
// key is connected.
func runAlone(t *testing.T, db *aimdb.DB, key string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- db.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, md := range db.Records() {
			if md.RecordKey == key && md.Links[0].Connected {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not connect", key)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
