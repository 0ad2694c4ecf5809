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
	"github.com/aimdb-go/aimdb/connector/mqtt"
	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
)

// BenchmarkOneWay measures one value's trip record → MQTT → record
// through an in-process mochi broker (MQTT 5, QoS 1), against raw paho
// clients doing the same on the same broker, both one-way: from a
// timestamp carried in the payload to the goroutine that receives the
// value (aimdb: Recv on the inbound record; raw: the paho callback hands
// it over a channel). Neither sender waits for its PUBACK (Produce
// returns at once; the raw client publishes with AsyncSend), and one
// message is in flight at a time. The two are interleaved, one trip each
// per iteration, so that both see the same machine; the benchmark
// reports the median and 99th percentile of each and the ratio of the
// medians.
//
//	go test -run '^$' -bench OneWay -benchtime 5000x ./connector/mqtt
func BenchmarkOneWay(b *testing.B) {
	broker := startMochi(b, mqtt.V5)

	// The connector: two DBs, as a sensor node and a hub would be.
	rxDB := newBenchDB(b, broker)
	in, _ := aimdb.Register(rxDB, aimdb.NewKey[int64]("bench.in"), aimdb.Ring(16))
	in.LinkFrom("mqtt://bench/rt/connector", stampCodec{})
	sub, _ := in.Subscribe()
	defer sub.Close()
	txDB := newBenchDB(b, broker)
	out, _ := aimdb.Register(txDB, aimdb.NewKey[int64]("bench.out"), aimdb.Ring(16))
	out.LinkTo("mqtt://bench/rt/connector", stampCodec{})
	ctx := runConnected(b, rxDB, txDB, "bench.in", "bench.out")

	// Raw paho: a publisher and a subscriber client.
	got := make(chan int64, 16)
	rawSub := rawClient(b, broker, func(pr paho.PublishReceived) (bool, error) {
		v, _ := strconv.ParseInt(string(pr.Packet.Payload), 10, 64)
		got <- v
		return true, nil
	})
	if _, err := rawSub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "bench/rt/raw", QoS: 1}}}); err != nil {
		b.Fatal(err)
	}
	rawPub := rawClient(b, broker, nil)
	async := paho.PublishOptions{Method: paho.PublishMethod_AsyncSend}

	connTrip := func() time.Duration {
		_ = out.Produce(time.Now().UnixNano())
		v, err := sub.Recv(ctx)
		if err != nil {
			b.Fatalf("connector: %v", err)
		}
		return time.Duration(time.Now().UnixNano() - v)
	}
	var buf []byte
	rawTrip := func() time.Duration {
		buf = strconv.AppendInt(buf[:0], time.Now().UnixNano(), 10)
		if _, err := rawPub.PublishWithOptions(ctx, &paho.Publish{Topic: "bench/rt/raw", QoS: 1, Payload: buf}, async); err != nil {
			b.Fatal(err)
		}
		v := <-got // before reading the clock: the operands of - are evaluated in order
		return time.Duration(time.Now().UnixNano() - v)
	}
	for range 200 { // warm up
		connTrip()
		rawTrip()
	}
	conn := make([]time.Duration, 0, b.N)
	raw := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		if i%2 == 0 {
			conn = append(conn, connTrip())
			raw = append(raw, rawTrip())
		} else {
			raw = append(raw, rawTrip())
			conn = append(conn, connTrip())
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

// stampCodec carries an int64 (a timestamp) as decimal text.
type stampCodec struct{}

func (stampCodec) Encode(v int64) ([]byte, error) { return strconv.AppendInt(nil, v, 10), nil }
func (stampCodec) Decode(b []byte) (int64, error) { return strconv.ParseInt(string(b), 10, 64) }

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
