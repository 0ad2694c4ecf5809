package bench

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/eclipse/paho.golang/paho"
)

// The MQTT benchmarks measure the connector's paths against raw
// paho.golang (MQTT 5) clients doing the same work on the same broker:
//
//   - MQTTIn: a raw publisher floods QoS 0 messages over N topics; the
//     subscriber under test decodes each one and stores it in the slot of
//     its topic. aimdb subscribes one record per topic (exact=N), or one
//     wildcard feeding a family of N stations (family=N); the raw client
//     subscribes the same filters and stores into a map of its own.
//     Mosquitto.
//   - MQTTOut: the publisher under test sends a stream to one topic; a raw
//     subscriber (at QoS 0) receives it. aimdb is a record linked to the
//     topic; the raw peer publishes from 16 goroutines at QoS 1 (16 in
//     flight, as a user would pipeline paho) or from one at QoS 0.
//     Mosquitto, with its default receive maximum (20).
//   - MQTT/mode=pingpong: one message in flight at QoS 1; the one-way
//     latency from a timestamp in the payload to the receiving goroutine
//     (aimdb: Recv on the inbound record; raw: the value handed over a
//     channel by the paho callback). The raw publisher does not wait for
//     its PUBACK (AsyncSend); neither does aimdb's Produce. Mochi,
//     in-process.
//
// In both throughput benchmarks the sender stays at most inflightWindow
// messages ahead of the receiver (a credit channel), so nothing is lost
// or queued without bound; ns/op is the time per message received.
// allocs/op counts every allocation of the process, sender and receiver:
// the raw peer's side is the same in both rows of a pair, so the
// difference is the side under test.

const inflightWindow = 256

// credits is the flow-control window between a sender and a receiver.
type credits chan struct{}

// take waits for a free slot of the window, failing b after a minute
// (a message was lost).
func (c credits) take(b *testing.B) {
	select {
	case c <- struct{}{}:
		return
	default:
	}
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	select {
	case c <- struct{}{}:
	case <-t.C:
		b.Fatalf("no message received for a minute; %d in flight", len(c))
	}
}

// release frees the slot of one received message.
func (c credits) release() {
	select {
	case <-c:
	default:
	}
}

// drain waits until every message sent was received.
func (c credits) drain(b *testing.B) {
	for deadline := time.Now().Add(time.Minute); len(c) > 0; {
		if time.Now().After(deadline) {
			b.Fatalf("%d messages not received after a minute", len(c))
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// intCodec encodes int64s as decimal text, like the raw peers; Decode
// releases one credit (it runs once per message received).
type intCodec struct{ c credits }

func (intCodec) Encode(v int64) ([]byte, error) { return strconv.AppendInt(nil, v, 10), nil }

func (intCodec) AppendEncode(dst []byte, v int64) ([]byte, error) {
	return strconv.AppendInt(dst, v, 10), nil
}

func (ic intCodec) Decode(b []byte) (int64, error) {
	v, err := strconv.ParseInt(string(b), 10, 64)
	if ic.c != nil {
		ic.c.release()
	}
	return v, err
}

func BenchmarkMQTTIn(b *testing.B) {
	url := startMosquitto(b)
	for _, n := range []int{100, 1_000, 10_000} {
		topics := make([]string, n)
		for i := range topics {
			topics[i] = fmt.Sprintf("bench/in%d/%d", n, i)
		}
		b.Run(fmt.Sprintf("exact=%d/impl=aimdb", n), func(b *testing.B) { inExactAimDB(b, url, topics) })
		b.Run(fmt.Sprintf("exact=%d/impl=paho", n), func(b *testing.B) { inExactPaho(b, url, topics) })
	}
	const stations = 1_000
	topics := make([]string, stations)
	for i := range topics {
		topics[i] = fmt.Sprintf("bench/fam/%d/t", i)
	}
	b.Run(fmt.Sprintf("family=%d/impl=aimdb", stations), func(b *testing.B) { inFamilyAimDB(b, url, topics) })
	b.Run(fmt.Sprintf("family=%d/impl=paho", stations), func(b *testing.B) { inFamilyPaho(b, url, topics) })
}

// flood publishes QoS 0 messages to topics in turn, one per iteration of
// b.Loop, after a warm-up that visits every topic.
func flood(b *testing.B, url string, topics []string, c credits) {
	pub := pahoClient(b, url, nil)
	ctx := context.Background()
	p := &paho.Publish{}
	var buf []byte
	send := func(i int) {
		c.take(b)
		p.Topic = topics[i%len(topics)]
		buf = strconv.AppendInt(buf[:0], int64(i), 10)
		p.Payload = buf
		if _, err := pub.Publish(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	for i := range max(len(topics), 2_000) {
		send(i)
	}
	c.drain(b)
	i := 0
	for b.Loop() {
		send(i)
		i++
	}
	c.drain(b)
}

func inExactAimDB(b *testing.B, url string, topics []string) {
	c := make(credits, inflightWindow)
	db := mqttDB(b, url)
	for i, t := range topics {
		r, err := aimdb.Register(db, aimdb.NewKey[int64]("bench.in."+strconv.Itoa(i)), aimdb.Latest())
		if err != nil {
			b.Fatal(err)
		}
		r.LinkFrom("mqtt://"+t+"?qos=0", intCodec{c})
	}
	runConnected(b, db, "bench.in.0")
	flood(b, url, topics, c)
}

func inExactPaho(b *testing.B, url string, topics []string) {
	c := make(credits, inflightWindow)
	slots := make(map[string]*atomic.Int64, len(topics))
	for _, t := range topics {
		slots[t] = new(atomic.Int64)
	}
	sub := pahoClient(b, url, func(p *paho.Publish) {
		v, err := strconv.ParseInt(string(p.Payload), 10, 64)
		if s := slots[p.Topic]; s != nil && err == nil {
			s.Store(v)
		}
		c.release()
	})
	subscribe(b, sub, 0, topics...)
	flood(b, url, topics, c)
}

func inFamilyAimDB(b *testing.B, url string, topics []string) {
	c := make(credits, inflightWindow)
	db := mqttDB(b, url)
	fam, err := aimdb.RegisterFamily(db, aimdb.NewFamily[int64]("bench.station.{id}.t"), aimdb.Latest(), aimdb.MaxInstances(len(topics)))
	if err != nil {
		b.Fatal(err)
	}
	fam.LinkFrom("mqtt://bench/fam/{id}/t?qos=0", intCodec{c})
	// The family's link shares the connection of this record's: once it
	// is connected, both are subscribed.
	ready, _ := aimdb.Register(db, aimdb.NewKey[int64]("bench.ready"), aimdb.Latest())
	ready.LinkFrom("mqtt://bench/ready?qos=0", intCodec{})
	runConnected(b, db, "bench.ready")
	flood(b, url, topics, c)
}

func inFamilyPaho(b *testing.B, url string, topics []string) {
	c := make(credits, inflightWindow)
	stations := map[string]*atomic.Int64{}
	sub := pahoClient(b, url, func(p *paho.Publish) {
		id, _, _ := strings.Cut(strings.TrimPrefix(p.Topic, "bench/fam/"), "/") // bench/fam/{id}/t
		v, err := strconv.ParseInt(string(p.Payload), 10, 64)
		if err == nil {
			s := stations[id]
			if s == nil {
				s = new(atomic.Int64)
				stations[strings.Clone(id)] = s
			}
			s.Store(v)
		}
		c.release()
	})
	subscribe(b, sub, 0, "bench/fam/+/t")
	flood(b, url, topics, c)
}

func BenchmarkMQTTOut(b *testing.B) {
	url := startMosquitto(b)
	for _, qos := range []byte{0, 1} {
		b.Run(fmt.Sprintf("qos=%d/impl=aimdb", qos), func(b *testing.B) { outAimDB(b, url, qos) })
		b.Run(fmt.Sprintf("qos=%d/impl=paho", qos), func(b *testing.B) { outPaho(b, url, qos) })
	}
}

// receiver subscribes a raw client to topic at QoS 0; it releases one
// credit per message.
func receiver(b *testing.B, url, topic string) credits {
	c := make(credits, inflightWindow)
	sub := pahoClient(b, url, func(*paho.Publish) { c.release() })
	subscribe(b, sub, 0, topic)
	return c
}

func outAimDB(b *testing.B, url string, qos byte) {
	topic := fmt.Sprintf("bench/out/aimdb/%d", qos)
	c := receiver(b, url, topic)
	db := mqttDB(b, url)
	r, err := aimdb.Register(db, aimdb.NewKey[int64]("bench.out"), aimdb.Ring(4*inflightWindow))
	if err != nil {
		b.Fatal(err)
	}
	r.LinkTo(fmt.Sprintf("mqtt://%s?qos=%d", topic, qos), intCodec{})
	runConnected(b, db, "bench.out")
	send := func(i int) {
		c.take(b)
		if err := r.Produce(int64(i)); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 2_000 {
		send(i)
	}
	c.drain(b)
	i := 0
	for b.Loop() {
		send(i)
		i++
	}
	c.drain(b)
}

func outPaho(b *testing.B, url string, qos byte) {
	topic := fmt.Sprintf("bench/out/paho/%d", qos)
	c := receiver(b, url, topic)
	pub := pahoClient(b, url, nil)
	ctx := context.Background()
	work := make(chan int64, inflightWindow)
	workers := 1
	if qos > 0 {
		workers = 16
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var buf []byte
			for v := range work {
				buf = strconv.AppendInt(buf[:0], v, 10)
				if _, err := pub.Publish(ctx, &paho.Publish{Topic: topic, QoS: qos, Payload: buf}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	defer wg.Wait()
	defer close(work)
	send := func(i int) {
		c.take(b)
		work <- int64(i)
	}
	for i := range 2_000 {
		send(i)
	}
	c.drain(b)
	i := 0
	for b.Loop() {
		send(i)
		i++
	}
	c.drain(b)
}

func BenchmarkMQTT(b *testing.B) {
	url := startMochi(b)
	b.Run("mode=pingpong/qos=1/impl=aimdb", func(b *testing.B) { pingpongAimDB(b, url) })
	b.Run("mode=pingpong/qos=1/impl=paho", func(b *testing.B) { pingpongPaho(b, url) })
}

// oneWay runs trip once per iteration of b.Loop, after a warm-up, and
// reports the median and 99th percentile of the latencies it returns.
func oneWay(b *testing.B, trip func() time.Duration) {
	for range 200 {
		trip()
	}
	var lat []time.Duration
	for b.Loop() {
		lat = append(lat, trip())
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)].Nanoseconds()) }
	b.ReportMetric(pct(0.5), "p50-ns")
	b.ReportMetric(pct(0.99), "p99-ns")
}

func pingpongAimDB(b *testing.B, url string) {
	rx := mqttDB(b, url)
	in, _ := aimdb.Register(rx, aimdb.NewKey[int64]("bench.pp.in"), aimdb.Ring(16))
	in.LinkFrom("mqtt://bench/pp/aimdb?qos=1", intCodec{})
	sub, err := in.Subscribe()
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	tx := mqttDB(b, url)
	out, _ := aimdb.Register(tx, aimdb.NewKey[int64]("bench.pp.out"), aimdb.Ring(16))
	out.LinkTo("mqtt://bench/pp/aimdb?qos=1", intCodec{})
	runConnected(b, rx, "bench.pp.in")
	runConnected(b, tx, "bench.pp.out")
	ctx := context.Background()
	oneWay(b, func() time.Duration {
		_ = out.Produce(time.Now().UnixNano())
		v, err := sub.Recv(ctx)
		if err != nil {
			b.Fatal(err)
		}
		return time.Duration(time.Now().UnixNano() - v)
	})
}

func pingpongPaho(b *testing.B, url string) {
	got := make(chan int64, 16)
	sub := pahoClient(b, url, func(p *paho.Publish) {
		v, _ := strconv.ParseInt(string(p.Payload), 10, 64)
		got <- v
	})
	subscribe(b, sub, 1, "bench/pp/paho")
	pub := pahoClient(b, url, nil)
	ctx := context.Background()
	async := paho.PublishOptions{Method: paho.PublishMethod_AsyncSend}
	var buf []byte
	oneWay(b, func() time.Duration {
		buf = strconv.AppendInt(buf[:0], time.Now().UnixNano(), 10)
		if _, err := pub.PublishWithOptions(ctx, &paho.Publish{Topic: "bench/pp/paho", QoS: 1, Payload: buf}, async); err != nil {
			b.Fatal(err)
		}
		v := <-got
		return time.Duration(time.Now().UnixNano() - v)
	})
}
