package mqtt_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/mqtt"
)

// routingPeer is a broker the routing tests run on.
type routingPeer interface {
	connectortest.Peer
	URL() string
}

func (m *mosquitto) URL() string { return "mqtt://127.0.0.1:" + strconv.Itoa(m.port) }

// TestRouting: every inbound link receives each message it matches
// exactly once, whether links share a filter, filters overlap (an exact
// topic, a '+' and a '#' filter), a filter is a shared subscription
// ($share/group/…), or nothing matches — on brokers that send one copy
// per matching subscription (mosquitto) and one copy with every
// subscription identifier (mochi), in MQTT 5 and 3.1.1.
func TestRouting(t *testing.T) {
	for _, broker := range []string{"mochi", "mosquitto"} {
		for _, p := range []mqtt.Protocol{mqtt.V5, mqtt.V311} {
			t.Run(broker+"/v"+p.String(), func(t *testing.T) {
				var peer routingPeer
				if broker == "mochi" {
					peer = startMochi(t, p)
				} else {
					peer = startMosquitto(t, p, false)
				}
				routing(t, peer)
			})
		}
	}
}

func routing(t *testing.T, peer routingPeer) {
	filters := map[string]string{ // record key → link topic
		"exact.1":  "rt/a/t",
		"exact.2":  "rt/a/t", // the same filter as exact.1
		"exact.b":  "rt/b/t",
		"plus":     "rt/+/t",
		"hash":     "rt/#",
		"shared":   "$share/g/rt/+/t",
		"nomatch":  "rt/z",
		"plushash": "+/#",
	}
	// What each record receives from one message to each of rt/a/t,
	// rt/b/t and rt/c/x.
	want := map[string][]string{
		"exact.1":  {"rt/a/t"},
		"exact.2":  {"rt/a/t"},
		"exact.b":  {"rt/b/t"},
		"plus":     {"rt/a/t", "rt/b/t"},
		"hash":     {"rt/a/t", "rt/b/t", "rt/c/x"},
		"shared":   {"rt/a/t", "rt/b/t"},
		"nomatch":  nil,
		"plushash": {"rt/a/t", "rt/b/t", "rt/c/x"},
	}
	rx := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": peer.Dialer(t)}})
	subs := map[string]*aimdb.Subscription[string]{}
	for key, f := range filters {
		r, err := aimdb.Register(rx, aimdb.NewKey[string](key), aimdb.Ring(16))
		if err != nil {
			t.Fatal(err)
		}
		r.LinkFrom("mqtt://"+f+"?qos=1", topicCodec{})
		if subs[key], err = r.Subscribe(); err != nil {
			t.Fatal(err)
		}
		defer subs[key].Close()
	}
	tx := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": peer.Dialer(t)}})
	out, _ := aimdb.Register(tx, aimdb.NewKey[string]("out"), aimdb.Ring(16))
	out.LinkTo("mqtt://rt/x?qos=1", topicCodec{}, aimdb.TopicFrom(func(topic string) string { return topic }))
	ctx := runConnected(t, rx, tx, "hash", "out")
	for _, topic := range []string{"rt/a/t", "rt/b/t", "rt/c/x"} {
		_ = out.Produce(topic)
	}
	connectortest.WaitLink(t, tx, "out", 0, 10*time.Second, "3 published", func(md aimdb.LinkMetadata) bool { return md.Published == 3 })
	for key, topics := range want {
		for _, w := range topics {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			got, err := subs[key].Recv(rctx)
			cancel()
			if err != nil || got != w {
				t.Errorf("%s (%s): got %q, %v; want %q", key, filters[key], got, err, w)
			}
		}
	}
	// Nothing more: no second copy anywhere.
	time.Sleep(200 * time.Millisecond)
	for key, sub := range subs {
		rctx, cancel := context.WithTimeout(ctx, time.Millisecond)
		if got, err := sub.Recv(rctx); err == nil {
			t.Errorf("%s (%s): received %q once more", key, filters[key], got)
		}
		cancel()
	}
}

// topicCodec decodes a message to its concrete topic; it encodes a
// value as its own text.
type topicCodec struct{}

func (topicCodec) Encode(v string) ([]byte, error)                    { return []byte(v), nil }
func (topicCodec) Decode(b []byte) (string, error)                    { return string(b), nil }
func (topicCodec) DecodeTopic(topic string, _ []byte) (string, error) { return topic, nil }
