package mqtt_test

import (
	"context"
	"strconv"
	"strings"
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

// TestNoLocal: a No Local link does not receive what its own DB
// publishes, but receives another client's messages; a link without it,
// on the same session, receives both (the positive control). Two links
// on one filter that both ask for it share the subscription.
func TestNoLocal(t *testing.T) {
	for _, broker := range []string{"mochi", "mosquitto"} {
		t.Run(broker, func(t *testing.T) {
			var peer routingPeer
			if broker == "mochi" {
				peer = startMochi(t, mqtt.V5)
			} else {
				peer = startMosquitto(t, mqtt.V5, false)
			}
			db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": peer.Dialer(t)}})
			links := map[string]string{ // record key → inbound link
				"nolocal": "mqtt://nl/a?no_local=true",
				"local":   "mqtt://nl/b",
				"both.1":  "mqtt://nl/c?no_local=true",
				"both.2":  "mqtt://nl/c?no_local=true",
			}
			subs := map[string]*aimdb.Subscription[string]{}
			for key, url := range links {
				r, err := aimdb.Register(db, aimdb.NewKey[string](key), aimdb.Ring(16))
				if err != nil {
					t.Fatal(err)
				}
				r.LinkFrom(url, topicCodec{})
				if subs[key], err = r.Subscribe(); err != nil {
					t.Fatal(err)
				}
				defer subs[key].Close()
			}
			own, _ := aimdb.Register(db, aimdb.NewKey[string]("own"), aimdb.Ring(16))
			own.LinkTo("mqtt://nl/x", topicCodec{}, aimdb.TopicFrom(func(topic string) string { return topic }))
			other := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": peer.Dialer(t)}})
			out, _ := aimdb.Register(other, aimdb.NewKey[string]("out"), aimdb.Ring(16))
			out.LinkTo("mqtt://nl/x", topicCodec{}, aimdb.TopicFrom(func(topic string) string { return topic }))
			ctx := runConnected(t, db, other, "nolocal", "out")
			for _, key := range []string{"local", "both.1", "both.2"} {
				connectortest.WaitLink(t, db, key, 0, 10*time.Second, "connected", func(md aimdb.LinkMetadata) bool { return md.Connected })
			}
			for _, topic := range []string{"nl/a", "nl/b", "nl/c"} {
				_ = own.Produce(topic)
			}
			connectortest.WaitLink(t, db, "own", 0, 10*time.Second, "3 published", func(md aimdb.LinkMetadata) bool { return md.Published == 3 })
			for _, topic := range []string{"nl/a", "nl/b", "nl/c"} {
				_ = out.Produce(topic)
			}
			connectortest.WaitLink(t, other, "out", 0, 10*time.Second, "3 published", func(md aimdb.LinkMetadata) bool { return md.Published == 3 })
			want := map[string]int{"nolocal": 1, "local": 2, "both.1": 1, "both.2": 1}
			for key, n := range want {
				for i := range n {
					rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					_, err := subs[key].Recv(rctx)
					cancel()
					if err != nil {
						t.Fatalf("%s (%s): message %d of %d: %v", key, links[key], i+1, n, err)
					}
				}
			}
			time.Sleep(200 * time.Millisecond)
			for key, sub := range subs {
				rctx, cancel := context.WithTimeout(ctx, time.Millisecond)
				if got, err := sub.Recv(rctx); err == nil {
					t.Errorf("%s (%s): received %q beyond the %d expected", key, links[key], got, want[key])
				}
				cancel()
			}
		})
	}
}

// TestNoLocalDisagree: links on one filter that disagree on no_local are
// refused, with an error naming the filter, rather than one of them
// silently getting the other's option.
func TestNoLocalDisagree(t *testing.T) {
	peer := startMochi(t, mqtt.V5)
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": peer.Dialer(t)}})
	for key, url := range map[string]string{"a": "mqtt://nl/d?no_local=true", "b": "mqtt://nl/d"} {
		r, err := aimdb.Register(db, aimdb.NewKey[string](key), aimdb.Ring(4))
		if err != nil {
			t.Fatal(err)
		}
		r.LinkFrom(url, topicCodec{})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- db.Run(ctx) }()
	defer func() { cancel(); <-done }()
	connectortest.WaitLink(t, db, "a", 0, 10*time.Second, "the disagreement reported", func(md aimdb.LinkMetadata) bool {
		return strings.Contains(md.LastError, `subscribes to "nl/d" with no_local=`) && strings.Contains(md.LastError, "must agree")
	})
}
