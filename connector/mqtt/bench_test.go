package mqtt_test

import (
	"context"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/mqtt"
	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
)

// BenchmarkRoundTrip measures one value's trip record → MQTT → record
// through an in-process mochi broker (MQTT 5, QoS 1), against raw paho
// clients doing the same on the same broker: publish, then wait for the
// subscriber to receive it. The two are interleaved, one trip each per
// iteration, so that both see the same machine; the benchmark reports
// the median and 99th percentile of each and the ratio of the medians.
//
//	go test -run '^$' -bench RoundTrip -benchtime 5000x ./connector/mqtt
func BenchmarkRoundTrip(b *testing.B) {
	broker := startMochi(b, mqtt.V5)

	// The connector: two DBs, as a sensor node and a hub would be.
	rxDB := newBenchDB(b, broker)
	in, _ := aimdb.Register(rxDB, aimdb.NewKey[int]("bench.in"), aimdb.Ring(16))
	in.LinkFrom("mqtt://bench/rt/connector", connectortest.IntCodec{})
	sub, _ := in.Subscribe()
	defer sub.Close()
	txDB := newBenchDB(b, broker)
	out, _ := aimdb.Register(txDB, aimdb.NewKey[int]("bench.out"), aimdb.Ring(16))
	out.LinkTo("mqtt://bench/rt/connector", connectortest.IntCodec{})
	ctx := runConnected(b, rxDB, txDB, "bench.in", "bench.out")

	// Raw paho: a publisher and a subscriber client.
	got := make(chan []byte, 16)
	rawSub := rawClient(b, broker, func(pr paho.PublishReceived) (bool, error) {
		got <- pr.Packet.Payload
		return true, nil
	})
	if _, err := rawSub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "bench/rt/raw", QoS: 1}}}); err != nil {
		b.Fatal(err)
	}
	rawPub := rawClient(b, broker, nil)

	connTrip := func(i int) time.Duration {
		start := time.Now()
		_ = out.Produce(i)
		v, err := sub.Recv(ctx)
		if err != nil || v != i {
			b.Fatalf("connector: got %d, %v; want %d", v, err, i)
		}
		return time.Since(start)
	}
	rawTrip := func(i int) time.Duration {
		start := time.Now()
		payload := strconv.AppendInt(nil, int64(i), 10)
		if _, err := rawPub.Publish(ctx, &paho.Publish{Topic: "bench/rt/raw", QoS: 1, Payload: payload}); err != nil {
			b.Fatal(err)
		}
		p := <-got
		if v, err := strconv.Atoi(string(p)); err != nil || v != i {
			b.Fatalf("raw: got %q; want %d", p, i)
		}
		return time.Since(start)
	}
	for i := range 200 { // warm up
		connTrip(i)
		rawTrip(i)
	}
	conn := make([]time.Duration, 0, b.N)
	raw := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		if i%2 == 0 {
			conn = append(conn, connTrip(i))
			raw = append(raw, rawTrip(i))
		} else {
			raw = append(raw, rawTrip(i))
			conn = append(conn, connTrip(i))
		}
	}
	b.StopTimer()
	slices.Sort(conn)
	slices.Sort(raw)
	pct := func(d []time.Duration, p float64) float64 { return float64(d[int(float64(len(d)-1)*p)].Microseconds()) }
	b.ReportMetric(pct(conn, 0.5), "connector-p50-µs")
	b.ReportMetric(pct(conn, 0.99), "connector-p99-µs")
	b.ReportMetric(pct(raw, 0.5), "raw-p50-µs")
	b.ReportMetric(pct(raw, 0.99), "raw-p99-µs")
	b.ReportMetric(float64(conn[len(conn)/2])/float64(raw[len(raw)/2]), "p50-ratio")
}

func newBenchDB(b *testing.B, broker *mochiBroker) *aimdb.DB {
	return aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": broker.Dialer(b)}})
}

var rawIDs struct {
	sync.Mutex
	n int
}

// rawClient connects a plain paho client to broker; it disconnects when
// the benchmark ends.
func rawClient(b *testing.B, broker *mochiBroker, onPublish func(paho.PublishReceived) (bool, error)) *paho.Client {
	b.Helper()
	conn, err := net.Dial("tcp", broker.URL()[len("mqtt://"):])
	if err != nil {
		b.Fatal(err)
	}
	cfg := paho.ClientConfig{Conn: packets.NewThreadSafeConn(conn), OnClientError: func(error) {}}
	if onPublish != nil {
		cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){onPublish}
	}
	c := paho.NewClient(cfg)
	rawIDs.Lock()
	rawIDs.n++
	id := "raw-" + strconv.Itoa(rawIDs.n)
	rawIDs.Unlock()
	if _, err := c.Connect(context.Background(), &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = c.Disconnect(&paho.Disconnect{})
		<-c.Done()
	})
	return c
}
