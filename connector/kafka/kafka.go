// Package kafka is the Kafka connector: it links records to Kafka
// topics with franz-go, the message key coming from the link's topic.
//
//	d, err := kafka.NewDialer("kafka://broker-1:9092,broker-2:9092", kafka.Options{Group: "hubs"})
//	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"kafka": d}})
//	temps.LinkTo("kafka://readings/7", codec.JSON[Temperature]{})            // topic readings, key 7
//	fam.LinkFrom("kafka://readings/{id}", codec.JSON[Temperature]{})         // every key of readings
//
// The link scheme is "kafka". A link's topic is the Kafka topic, then
// optionally '/' and the message key: "readings/7" is the topic readings
// with key "7" (a key may hold further '/'). Outbound, the key's first
// level picks the partition ("station/7/temperature" and
// "station/7/humidity" share one), so one station's readings stay in
// order, and in one consumer of a group; aimdb.TopicFrom
// takes the key from the value, and a family link (readings/{id}) from
// its captures. Inbound, every message of the topic is read; its concrete
// topic is "topic/key" (or "topic" without a key), which the link's
// filter must match, MQTT-style ('+' one level, a final '#' any): an
// inbound "readings/+" or "readings/{id}" takes every keyed message.
//
// Outbound messages count as published once every in-sync replica has
// them; the producer is idempotent (no duplicates from its retries).
// Inbound links read in a consumer group: Options.Group, shared by every
// DB of the group (each partition read by one of them), or by default a
// group of the Dialer alone. Offsets are committed only for messages the
// DB stored; after a restart or a rebalance the group resumes there. A
// message delivered again at an offset this Dialer already stored is not
// stored twice (counted in Stats.Duplicates).
//
// SASL and TLS come from the Dialer's Options only, never from link
// URLs. The DB owns the connection: a session whose brokers stop
// answering ends, and the DB dials again with backoff.
package kafka

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aimdb-go/aimdb/connector"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
)

// Options configure a Dialer. The zero value is ready to use.
type Options struct {
	// ClientID identifies the client to the brokers. If empty, it is
	// "aimdb-" and 16 random hex digits, fixed for the Dialer's lifetime.
	ClientID string
	// Group is the consumer group of the inbound links. If empty, it is
	// the client id: a group of this Dialer alone.
	Group string
	// SASL authenticates to the brokers (plain, SCRAM, OAUTHBEARER…,
	// from franz-go's sasl packages).
	SASL sasl.Mechanism
	// TLSConfig, if set, makes the connections use TLS.
	TLSConfig *tls.Config
	// PublishTimeout bounds one publish. If zero, it is 10s.
	PublishTimeout time.Duration
	// PingInterval is how often a session checks that a broker answers;
	// one that fails for PingInterval ends the session. If zero, 1s.
	PingInterval time.Duration
	// NetDialer, if set, opens the TCP connections (through a proxy, or a
	// test's fault injector).
	NetDialer func(ctx context.Context, network, host string) (net.Conn, error)
	// SessionTimeout is how long the group waits for a member that
	// stopped answering before it gives the member's partitions to the
	// others. If zero, 10s.
	SessionTimeout time.Duration
	// AutoCreate lets the brokers create the topics the links name on
	// first use, with their defaults.
	AutoCreate bool
}

// Stats are counters of one Dialer, over all its sessions.
type Stats struct {
	Committed  uint64 // inbound messages stored and marked for commit
	Duplicates uint64 // inbound messages at an offset already stored, not stored again
	Unmatched  uint64 // inbound messages of a topic no link's filter matched
}

// A Dialer connects to one Kafka cluster. It is safe for concurrent use.
type Dialer struct {
	brokers  []string
	clientID string
	opts     Options

	committed, duplicates, unmatched atomic.Uint64

	mu   sync.Mutex
	high map[partition]int64 // the highest offset stored, per partition
}

type partition struct {
	topic string
	p     int32
}

var (
	_ connector.Dialer        = (*Dialer)(nil)
	_ connector.LinkValidator = (*Dialer)(nil)
)

// NewDialer returns a Dialer for the brokers at the URL
// kafka://host[:port][,host[:port]…] (port 9092).
func NewDialer(brokers string, o Options) (*Dialer, error) {
	rest, ok := strings.CutPrefix(brokers, "kafka://")
	if !ok {
		return nil, errors.New("kafka: broker URL must be kafka://host[:port][,host[:port]…]")
	}
	d := &Dialer{opts: o, clientID: o.ClientID}
	for hp := range strings.SplitSeq(rest, ",") {
		if strings.ContainsAny(hp, "@/?#") {
			return nil, errors.New("kafka: broker URL must be kafka://host[:port][,host[:port]…]; credentials go in Options.SASL")
		}
		host, port, err := net.SplitHostPort(hp)
		if err != nil {
			host, port = hp, "9092"
		}
		if host == "" {
			return nil, errors.New("kafka: broker URL has an empty host")
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("kafka: broker port %q out of range", port)
		}
		d.brokers = append(d.brokers, net.JoinHostPort(host, port))
	}
	if d.clientID == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		d.clientID = "aimdb-" + hex.EncodeToString(b[:])
	}
	if d.opts.Group == "" {
		d.opts.Group = d.clientID
	}
	if d.opts.PublishTimeout <= 0 {
		d.opts.PublishTimeout = 10 * time.Second
	}
	if d.opts.SessionTimeout <= 0 {
		d.opts.SessionTimeout = 10 * time.Second
	}
	if d.opts.PingInterval <= 0 {
		d.opts.PingInterval = time.Second
	}
	return d, nil
}

// String returns the broker URL.
func (d *Dialer) String() string { return "kafka://" + strings.Join(d.brokers, ",") }

// ClientID returns the client id the Dialer connects with.
func (d *Dialer) ClientID() string { return d.clientID }

// Stats returns the Dialer's counters.
func (d *Dialer) Stats() Stats {
	return Stats{Committed: d.committed.Load(), Duplicates: d.duplicates.Load(), Unmatched: d.unmatched.Load()}
}

// SplitTopic splits a link topic into the Kafka topic and the key.
func SplitTopic(topic string) (name, key string) {
	name, key, _ = strings.Cut(topic, "/")
	return name, key
}

// ValidateLink checks a link: the Kafka topic is 1 to 249 letters,
// digits, '.', '_' and '-'; an outbound key holds no wildcard, an inbound
// filter is valid; no parameter is known.
func (d *Dialer) ValidateLink(l *connector.Link) error {
	name, _ := SplitTopic(l.Topic)
	if err := checkName(name); err != nil {
		return err
	}
	if err := connector.CheckTopic(l, "Kafka topic/key"); err != nil {
		return err
	}
	for k := range l.Params {
		if isCredential(k) {
			return fmt.Errorf("kafka link parameter %q carries credentials; give them to the connector's Dialer (kafka.Options.SASL), never in a link URL", k)
		}
		return fmt.Errorf("unknown Kafka link parameter %q (links take none)", k)
	}
	return nil
}

func isCredential(k string) bool {
	switch strings.ToLower(k) {
	case "user", "username", "password", "pass", "token", "sasl", "key", "secret":
		return true
	}
	return false
}

func checkName(name string) error {
	if name == "" || len(name) > 249 || name == "." || name == ".." {
		return fmt.Errorf("kafka topic %q: want 1 to 249 letters, digits, '.', '_' and '-'", name)
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("kafka topic %q: want 1 to 249 letters, digits, '.', '_' and '-'", name)
		}
	}
	return nil
}

// firstLevel is the partitioner: the FNV-1a hash of the key up to its
// first '/', or round robin for messages without a key.
func firstLevel(string) func(r *kgo.Record, n int) int {
	var next uint32
	return func(r *kgo.Record, n int) int {
		if len(r.Key) == 0 {
			next++
			return int(next % uint32(n))
		}
		k := r.Key
		if i := bytes.IndexByte(k, '/'); i >= 0 {
			k = k[:i]
		}
		h := fnv.New32a()
		_, _ = h.Write(k)
		return int(h.Sum32() % uint32(n))
	}
}

// Dial creates a client: an idempotent producer and a consumer in the
// Dialer's group. It returns once a broker answered.
func (d *Dialer) Dial(ctx context.Context) (connector.Session, error) {
	s := &session{d: d, done: make(chan struct{}), links: map[string][]sub{}}
	opts := []kgo.Opt{
		kgo.SeedBrokers(d.brokers...),
		kgo.ClientID(d.clientID),
		kgo.ConsumerGroup(d.opts.Group),
		kgo.SessionTimeout(d.opts.SessionTimeout),
		kgo.HeartbeatInterval(d.opts.SessionTimeout / 10),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(time.Second),
		kgo.FetchMaxWait(200 * time.Millisecond),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
		kgo.RecordPartitioner(kgo.BasicConsistentPartitioner(firstLevel)),
		kgo.RecordDeliveryTimeout(d.opts.PublishTimeout),
		kgo.RetryTimeout(d.opts.PublishTimeout),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, _ map[string][]int32) {
			_ = cl.CommitMarkedOffsets(ctx)
		}),
	}
	if d.opts.SASL != nil {
		opts = append(opts, kgo.SASL(d.opts.SASL))
	}
	if d.opts.TLSConfig != nil {
		opts = append(opts, kgo.DialTLSConfig(d.opts.TLSConfig.Clone()))
	}
	if d.opts.NetDialer != nil {
		opts = append(opts, kgo.Dialer(d.opts.NetDialer))
	}
	if d.opts.AutoCreate {
		opts = append(opts, kgo.AllowAutoTopicCreation())
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = cl.Ping(pctx)
	cancel()
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("kafka: no broker of %s answers: %w", strings.Join(d.brokers, ","), err)
	}
	s.cl = cl
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Go(s.watch)
	return s, nil
}
