package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A publisher sends the simulated stations' readings to the engine,
// without waiting for each acknowledgement.
type publisher interface {
	// publish sends one reading of a station; ack is called once, when
	// the engine stored it (nil) or refused it. An error means the
	// reading was not sent (and ack is not called).
	publish(station int, kind string, payload []byte, ack func(error)) error
	// flush waits until every reading sent was acknowledged or refused.
	flush()
	close()
}

// newPublisher connects a publisher to broker: a JetStream publisher on
// NATS (creating mesh.NATSStream if it is missing), a Kafka producer on
// Kafka.
func newPublisher(ctx context.Context, broker string) (publisher, error) {
	switch e := mesh.EngineOf(broker); e {
	case mesh.NATS:
		return newNATSPublisher(ctx, broker)
	case mesh.Kafka:
		return newKafkaPublisher(broker)
	default:
		return nil, fmt.Errorf("broker %q: want a nats:// or kafka:// URL", broker)
	}
}

// natsPublisher publishes to the stream's subjects station.<n>.<kind>.
type natsPublisher struct {
	nc      *natsgo.Conn
	js      jetstream.JetStream
	futures chan natsFuture
	wg      sync.WaitGroup
}

type natsFuture struct {
	f   jetstream.PubAckFuture
	ack func(error)
}

func newNATSPublisher(ctx context.Context, broker string) (*natsPublisher, error) {
	nc, err := natsgo.Connect(broker, natsgo.Name("weather-load"))
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(16384))
	if err != nil {
		nc.Close()
		return nil, err
	}
	if _, err := js.CreateOrUpdateStream(ctx, mesh.NATSStream); err != nil {
		nc.Close()
		return nil, fmt.Errorf("stream: %w", err)
	}
	p := &natsPublisher{nc: nc, js: js, futures: make(chan natsFuture, 65536)}
	p.wg.Go(func() {
		for fu := range p.futures {
			select {
			case <-fu.f.Ok():
				fu.ack(nil)
			case err := <-fu.f.Err():
				fu.ack(err)
			}
		}
	})
	return p, nil
}

func (p *natsPublisher) publish(station int, kind string, payload []byte, ack func(error)) error {
	subject := "station." + strconv.Itoa(station) + "." + kind
	for {
		f, err := p.js.PublishAsync(subject, append([]byte(nil), payload...))
		if err == nil {
			p.futures <- natsFuture{f, ack}
			return nil
		}
		if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			return err
		}
		select {
		case <-p.js.PublishAsyncComplete():
		case <-time.After(time.Second):
		}
	}
}

func (p *natsPublisher) flush() {
	close(p.futures)
	p.wg.Wait()
}

func (p *natsPublisher) close() { p.nc.Close() }

// kafkaPublisher produces to the topic station, keyed <n>/<kind> and
// partitioned by <n> as the mesh's stations are (connector/kafka hashes
// the key's first level), so a station's readings stay in one partition.
type kafkaPublisher struct {
	cl *kgo.Client
	wg sync.WaitGroup
}

func newKafkaPublisher(broker string) (*kafkaPublisher, error) {
	var seeds []string
	for u := range strings.SplitSeq(broker, ",") {
		seeds = append(seeds, strings.TrimPrefix(strings.TrimSpace(u), "kafka://"))
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(seeds...),
		kgo.ClientID("weather-load"),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.AllowAutoTopicCreation(),
		kgo.MaxBufferedRecords(65536),
		kgo.RecordPartitioner(kgo.BasicConsistentPartitioner(func(string) func(*kgo.Record, int) int {
			return func(r *kgo.Record, n int) int {
				station, _, _ := bytes.Cut(r.Key, []byte("/"))
				h := fnv.New32a()
				_, _ = h.Write(station)
				return int(h.Sum32() % uint32(n))
			}
		})),
	)
	if err != nil {
		return nil, fmt.Errorf("kafka %q: %w", broker, err)
	}
	return &kafkaPublisher{cl: cl}, nil
}

func (p *kafkaPublisher) publish(station int, kind string, payload []byte, ack func(error)) error {
	r := &kgo.Record{Topic: "station", Key: []byte(strconv.Itoa(station) + "/" + kind), Value: append([]byte(nil), payload...)}
	p.wg.Add(1)
	p.cl.Produce(context.Background(), r, func(_ *kgo.Record, err error) {
		ack(err)
		p.wg.Done()
	})
	return nil
}

func (p *kafkaPublisher) flush() {
	_ = p.cl.Flush(context.Background())
	p.wg.Wait()
}

func (p *kafkaPublisher) close() { p.cl.Close() }
