// Package connectortest is the conformance suite of the connector SPI.
// Every connector runs it against a real peer (a broker started in the
// test process, or an external one):
//
//	func TestConformance(t *testing.T) {
//		connectortest.Run(t, &myPeer{…}, connectortest.Features{Wildcards: true})
//	}
//
// The suite drives connectors the way users do, through two DBs linked
// by a topic, and checks delivery, ordering, reconnect and re-subscribe
// after the peer restarts, the offline queue and its drop count, decode
// error accounting and the draining of queued messages at shutdown.
package connectortest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector"
)

// A Peer is the far end a connector talks to.
type Peer interface {
	// Scheme is the link scheme the connector serves ("mqtt").
	Scheme() string
	// Dialer returns a new dialer for one DB; dialers of one peer must
	// not interfere (for MQTT: distinct client ids).
	Dialer(t testing.TB) connector.Dialer
	// Stop stops the peer: sessions end and dials fail until Start.
	Stop(t testing.TB)
	// Start starts the peer again, at the same address.
	Start(t testing.TB)
}

// Features selects optional parts of the suite and sizes.
type Features struct {
	// Wildcards: inbound topics may hold '+' and '#', and a decoder gets
	// the concrete topic.
	Wildcards bool
	// Bulk is the number of messages of the no-loss test (default 2000).
	Bulk int
	// LargePayload, if not zero, is the size of one payload that must
	// arrive intact.
	LargePayload int
	// Params are link URL parameters added to every link, such as "qos=1".
	Params string
	// Timeout bounds each wait (default 20s).
	Timeout time.Duration
	// Topic, if not nil, names the topic of each test instead of the
	// default (Prefix, then "<time>", "<n>" and "<name>" levels), for
	// transports with a fixed address space such as KNX group
	// addresses; it must return a topic no other test of the process
	// uses.
	Topic func(name string) string
	// Sep, One and Multi are the peer's topic grammar: the level
	// separator, the one-level wildcard and the trailing many-level
	// wildcard. If Sep is zero they are MQTT's '/', "+" and "#"; NATS
	// subjects use '.', "*" and ">". Topics are Prefix, then levels.
	Sep        byte
	One, Multi string
}

// Prefix is the first level of every topic the suite uses; a peer that
// needs topics declared (a NATS JetStream stream) declares Prefix and
// everything below it.
const Prefix = "aimdbct"

// Run runs the conformance suite against p.
func Run(t *testing.T, p Peer, f Features) {
	if f.Bulk == 0 {
		f.Bulk = 2000
	}
	if f.Timeout == 0 {
		f.Timeout = 20 * time.Second
	}
	if f.Sep == 0 {
		f.Sep, f.One, f.Multi = '/', "+", "#"
	}
	s := &suite{p: p, f: f}
	t.Run("PublishReceiveInOrder", s.publishReceive)
	t.Run("ShutdownDrainsQueue", s.shutdownDrains)
	t.Run("DecodeErrorsCounted", s.decodeErrors)
	t.Run("Bulk", s.bulk)
	if f.LargePayload > 0 {
		t.Run("LargePayload", s.largePayload)
	}
	if f.Wildcards {
		t.Run("Wildcards", s.wildcards)
	}
	t.Run("ReconnectAndResubscribe", s.reconnect)
	t.Run("OfflineQueueDropsOldest", s.offlineQueue)
}

type suite struct {
	p Peer
	f Features
}

// IntCodec encodes ints as decimal text; anything else fails to decode.
type IntCodec struct{}

// Encode implements aimdb.Codec.
func (IntCodec) Encode(v int) ([]byte, error) { return strconv.AppendInt(nil, int64(v), 10), nil }

// Decode implements aimdb.Codec.
func (IntCodec) Decode(b []byte) (int, error) { return strconv.Atoi(string(b)) }

var topicSeq struct {
	sync.Mutex
	n int
}

// topic returns a topic no other test uses.
func (s *suite) topic(name string) string {
	if s.f.Topic != nil {
		return s.f.Topic(name)
	}
	topicSeq.Lock()
	defer topicSeq.Unlock()
	topicSeq.n++
	return s.join(Prefix, strconv.FormatInt(time.Now().UnixNano()%1e9, 10), strconv.Itoa(topicSeq.n), name)
}

// join joins levels with the peer's separator.
func (s *suite) join(levels ...string) string { return strings.Join(levels, string(s.f.Sep)) }

func (s *suite) url(topic string) string {
	u := s.p.Scheme() + "://" + topic
	if s.f.Params != "" {
		u += "?" + s.f.Params
	}
	return u
}

func (s *suite) newDB(t testing.TB, d connector.Dialer, opts *aimdb.Options) *aimdb.DB {
	o := aimdb.Options{}
	if opts != nil {
		o = *opts
	}
	o.Connectors = map[string]connector.Dialer{s.p.Scheme(): d}
	if o.ReconnectBackoff == 0 {
		o.ReconnectBackoff = 20 * time.Millisecond
	}
	if o.MaxReconnectBackoff == 0 {
		o.MaxReconnectBackoff = 200 * time.Millisecond
	}
	return aimdb.New(&o)
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// start runs db until the test ends.
func start(t testing.TB, db *aimdb.DB) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- db.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-errc })
		return err
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-db.Started():
	case err := <-errc:
		t.Fatalf("Run returned before starting: %v", err)
	}
	return stop
}

// LinkStats returns the metadata of link i of the record named key.
func LinkStats(t testing.TB, db *aimdb.DB, key string, i int) aimdb.LinkMetadata {
	t.Helper()
	for _, md := range db.Records() {
		if md.RecordKey == key {
			if i >= len(md.Links) {
				t.Fatalf("record %q has %d links; want link %d", key, len(md.Links), i)
			}
			return md.Links[i]
		}
	}
	t.Fatalf("no record %q", key)
	return aimdb.LinkMetadata{}
}

// WaitLink polls the metadata of link i of record key until ok accepts
// it, failing the test after timeout.
func WaitLink(t testing.TB, db *aimdb.DB, key string, i int, timeout time.Duration, what string, ok func(aimdb.LinkMetadata) bool) aimdb.LinkMetadata {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		md := LinkStats(t, db, key, i)
		if ok(md) {
			return md
		}
		if time.Now().After(deadline) {
			t.Fatalf("record %q link %d: timed out waiting for %s; metadata %+v", key, i, what, md)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func connected(md aimdb.LinkMetadata) bool { return md.Connected }

// recv receives n values from sub, failing after timeout.
func recv[T any](t testing.TB, sub *aimdb.Subscription[T], n int, timeout time.Duration) []T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	got := make([]T, 0, n)
	for len(got) < n {
		v, err := sub.Recv(ctx)
		if err != nil {
			t.Fatalf("received %d of %d values: %v", len(got), n, err)
		}
		got = append(got, v)
	}
	return got
}

// quiet checks that sub receives nothing more for d.
func quiet[T any](t testing.TB, sub *aimdb.Subscription[T], d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if v, err := sub.Recv(ctx); err == nil {
		t.Fatalf("unexpected extra value %v", v)
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv: %v", err)
	}
}

// pair is a sender DB linking record "ct.out" to a topic and a receiver
// DB linking record "ct.in" from it.
type pair struct {
	tx, rx   *aimdb.DB
	out, in  *aimdb.Record[int]
	sub      *aimdb.Subscription[int]
	stopTx   func() error
	stopRx   func() error
	txDialer *GatedDialer
	outKey   string
	inKey    string
}

func (s *suite) newPair(t *testing.T, name string, ring int, txOpts *aimdb.Options) *pair {
	tp := s.topic(name)
	p := &pair{outKey: "ct.out", inKey: "ct.in"}
	p.rx = s.newDB(t, s.p.Dialer(t), nil)
	p.in = must[*aimdb.Record[int]](t)(aimdb.Register(p.rx, aimdb.NewKey[int](p.inKey), aimdb.Ring(ring)))
	p.in.LinkFrom(s.url(tp), IntCodec{})
	p.sub = must[*aimdb.Subscription[int]](t)(p.in.Subscribe())
	t.Cleanup(p.sub.Close)

	p.txDialer = &GatedDialer{D: s.p.Dialer(t)}
	p.tx = s.newDB(t, p.txDialer, txOpts)
	p.out = must[*aimdb.Record[int]](t)(aimdb.Register(p.tx, aimdb.NewKey[int](p.outKey), aimdb.Ring(ring)))
	p.out.LinkTo(s.url(tp), IntCodec{})

	p.stopRx = start(t, p.rx)
	WaitLink(t, p.rx, p.inKey, 0, s.f.Timeout, "connected", connected)
	p.stopTx = start(t, p.tx)
	WaitLink(t, p.tx, p.outKey, 0, s.f.Timeout, "connected", connected)
	return p
}

func (p *pair) produce(t testing.TB, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := p.out.Produce(i); err != nil {
			t.Fatal(err)
		}
	}
}

func checkSeq(t testing.TB, got []int, from int) {
	t.Helper()
	for i, v := range got {
		if v != from+i {
			t.Fatalf("value %d = %d; want %d (lost, duplicated or out of order)", i, v, from+i)
		}
	}
}

func (s *suite) publishReceive(t *testing.T) {
	p := s.newPair(t, "order", 1024, nil)
	p.produce(t, 0, 200)
	checkSeq(t, recv(t, p.sub, 200, s.f.Timeout), 0)
	quiet(t, p.sub, 50*time.Millisecond)
	md := WaitLink(t, p.tx, p.outKey, 0, s.f.Timeout, "200 published", func(md aimdb.LinkMetadata) bool { return md.Published == 200 })
	if md.Dropped != 0 || md.Direction != "out" || md.Protocol != s.p.Scheme() {
		t.Errorf("sender link metadata %+v", md)
	}
	in := LinkStats(t, p.rx, p.inKey, 0)
	if in.Received != 200 || in.DecodeErrors != 0 || in.Direction != "in" {
		t.Errorf("receiver link metadata %+v", in)
	}
}

func (s *suite) shutdownDrains(t *testing.T) {
	p := s.newPair(t, "drain", 4096, nil)
	const n = 1000
	p.produce(t, 0, n)
	if err := p.stopTx(); err != nil {
		t.Fatal(err)
	}
	md := LinkStats(t, p.tx, p.outKey, 0)
	if md.Published != n || md.Dropped != 0 || md.State != aimdb.LinkStopped {
		t.Fatalf("after shutdown: %+v; want %d published, none dropped, stopped", md, n)
	}
	checkSeq(t, recv(t, p.sub, n, s.f.Timeout), 0)
}

func (s *suite) decodeErrors(t *testing.T) {
	tp := s.topic("decode")
	rx := s.newDB(t, s.p.Dialer(t), nil)
	in := must[*aimdb.Record[int]](t)(aimdb.Register(rx, aimdb.NewKey[int]("ct.in"), aimdb.Ring(64)))
	in.LinkFrom(s.url(tp), IntCodec{})
	sub := must[*aimdb.Subscription[int]](t)(in.Subscribe())
	defer sub.Close()
	tx := s.newDB(t, s.p.Dialer(t), nil)
	out := must[*aimdb.Record[string]](t)(aimdb.Register(tx, aimdb.NewKey[string]("ct.raw"), aimdb.Ring(64)))
	out.LinkTo(s.url(tp), codec.String{})
	start(t, rx)
	WaitLink(t, rx, "ct.in", 0, s.f.Timeout, "connected", connected)
	start(t, tx)
	WaitLink(t, tx, "ct.raw", 0, s.f.Timeout, "connected", connected)
	for _, v := range []string{"1", "not a number", "2", "", "3"} {
		_ = out.Produce(v)
	}
	checkSeq(t, recv(t, sub, 3, s.f.Timeout), 1)
	md := WaitLink(t, rx, "ct.in", 0, s.f.Timeout, "5 received", func(md aimdb.LinkMetadata) bool { return md.Received == 5 })
	if md.DecodeErrors != 2 {
		t.Errorf("decode_errors = %d; want 2 (%+v)", md.DecodeErrors, md)
	}
	quiet(t, sub, 50*time.Millisecond)
}

func (s *suite) bulk(t *testing.T) {
	n := s.f.Bulk
	p := s.newPair(t, "bulk", n+16, nil)
	p.produce(t, 0, n)
	got := recv(t, p.sub, n, s.f.Timeout+time.Duration(n)*time.Millisecond)
	checkSeq(t, got, 0)
	md := WaitLink(t, p.tx, p.outKey, 0, s.f.Timeout, "all published", func(md aimdb.LinkMetadata) bool { return md.Published == uint64(n) })
	if md.Dropped != 0 {
		t.Errorf("dropped %d", md.Dropped)
	}
	t.Logf("bulk: %d messages sent, %d received in order, 0 lost", n, LinkStats(t, p.rx, p.inKey, 0).Received)
}

func (s *suite) largePayload(t *testing.T) {
	tp := s.topic("large")
	rx := s.newDB(t, s.p.Dialer(t), nil)
	in := must[*aimdb.Record[[]byte]](t)(aimdb.Register(rx, aimdb.NewKey[[]byte]("ct.in"), aimdb.Ring(4)))
	in.LinkFrom(s.url(tp), codec.Bytes{})
	sub := must[*aimdb.Subscription[[]byte]](t)(in.Subscribe())
	defer sub.Close()
	tx := s.newDB(t, s.p.Dialer(t), nil)
	out := must[*aimdb.Record[[]byte]](t)(aimdb.Register(tx, aimdb.NewKey[[]byte]("ct.out"), aimdb.Ring(4)))
	out.LinkTo(s.url(tp), codec.Bytes{})
	start(t, rx)
	WaitLink(t, rx, "ct.in", 0, s.f.Timeout, "connected", connected)
	start(t, tx)
	WaitLink(t, tx, "ct.out", 0, s.f.Timeout, "connected", connected)
	payload := make([]byte, s.f.LargePayload)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	_ = out.Produce(payload)
	got := recv(t, sub, 1, s.f.Timeout)[0]
	if string(got) != string(payload) {
		t.Fatalf("payload of %d bytes arrived as %d bytes, or changed", len(payload), len(got))
	}
}

// deviceReading is what the wildcard test's decoder makes of a message:
// the device from the concrete topic, and the value.
type deviceReading struct {
	Device string
	Value  int
}

type deviceCodec struct{ sep byte }

func (deviceCodec) Encode(v deviceReading) ([]byte, error) {
	return strconv.AppendInt(nil, int64(v.Value), 10), nil
}

func (deviceCodec) Decode(b []byte) (deviceReading, error) {
	return deviceReading{}, errors.New("deviceCodec needs the topic")
}

func (d deviceCodec) DecodeTopic(topic string, b []byte) (deviceReading, error) {
	parts := strings.Split(topic, string(d.sep))
	v, err := strconv.Atoi(string(b))
	if len(parts) < 2 {
		return deviceReading{}, fmt.Errorf("topic %q has no device level", topic)
	}
	return deviceReading{Device: parts[len(parts)-2], Value: v}, err
}

func (s *suite) wildcards(t *testing.T) {
	base := s.topic("wild")
	rx := s.newDB(t, s.p.Dialer(t), nil)
	all := must[*aimdb.Record[deviceReading]](t)(aimdb.Register(rx, aimdb.NewKey[deviceReading]("ct.all"), aimdb.Ring(64)))
	dc := deviceCodec{s.f.Sep}
	all.LinkFrom(s.url(s.join(base, s.f.One, "temp")), dc, aimdb.RouteTopic(func(topic string) string {
		if strings.Contains(topic, s.join("", "b", "")) {
			return "ct.dev.b"
		}
		return ""
	}))
	devB := must[*aimdb.Record[deviceReading]](t)(aimdb.Register(rx, aimdb.NewKey[deviceReading]("ct.dev.b"), aimdb.Ring(64)))
	hash := must[*aimdb.Record[int]](t)(aimdb.Register(rx, aimdb.NewKey[int]("ct.hash"), aimdb.Ring(64)))
	hash.LinkFrom(s.url(s.join(base, s.f.Multi)), IntCodec{})
	subAll := must[*aimdb.Subscription[deviceReading]](t)(all.Subscribe())
	defer subAll.Close()
	subB := must[*aimdb.Subscription[deviceReading]](t)(devB.Subscribe())
	defer subB.Close()
	subHash := must[*aimdb.Subscription[int]](t)(hash.Subscribe())
	defer subHash.Close()

	tx := s.newDB(t, s.p.Dialer(t), nil)
	out := must[*aimdb.Record[deviceReading]](t)(aimdb.Register(tx, aimdb.NewKey[deviceReading]("ct.out"), aimdb.Ring(64)))
	// A dynamic topic: each value goes to its device's topic.
	out.LinkTo(s.url(s.join(base, "x", "temp")), dc, aimdb.TopicFrom(func(v deviceReading) string {
		return s.join(base, v.Device, "temp")
	}))
	start(t, rx)
	WaitLink(t, rx, "ct.all", 0, s.f.Timeout, "connected", connected)
	start(t, tx)
	WaitLink(t, tx, "ct.out", 0, s.f.Timeout, "connected", connected)
	_ = out.Produce(deviceReading{"a", 1})
	_ = out.Produce(deviceReading{"b", 2})
	_ = out.Produce(deviceReading{"c", 3})
	if got := recv(t, subAll, 2, s.f.Timeout); got[0] != (deviceReading{"a", 1}) || got[1] != (deviceReading{"c", 3}) {
		t.Errorf("ct.all got %v; want devices a and c", got)
	}
	if got := recv(t, subB, 1, s.f.Timeout); got[0] != (deviceReading{"b", 2}) {
		t.Errorf("ct.dev.b got %v; want device b", got)
	}
	checkSeq(t, recv(t, subHash, 3, s.f.Timeout), 1)
}

func (s *suite) reconnect(t *testing.T) {
	p := s.newPair(t, "reconnect", 1024, nil)
	p.produce(t, 0, 10)
	checkSeq(t, recv(t, p.sub, 10, s.f.Timeout), 0)
	// Acknowledged too: a publish in flight when the peer stops is sent
	// again (at least once), which would repeat a value below.
	WaitLink(t, p.tx, p.outKey, 0, s.f.Timeout, "10 published", func(md aimdb.LinkMetadata) bool { return md.Published == 10 })

	s.p.Stop(t)
	WaitLink(t, p.tx, p.outKey, 0, s.f.Timeout, "disconnected", func(md aimdb.LinkMetadata) bool { return !md.Connected })
	WaitLink(t, p.rx, p.inKey, 0, s.f.Timeout, "disconnected", func(md aimdb.LinkMetadata) bool { return !md.Connected })
	p.txDialer.Close() // hold the sender back until the receiver re-subscribed
	s.p.Start(t)
	WaitLink(t, p.rx, p.inKey, 0, s.f.Timeout, "reconnected", func(md aimdb.LinkMetadata) bool { return md.Connected && md.Reconnects >= 1 })
	p.txDialer.Open()
	WaitLink(t, p.tx, p.outKey, 0, s.f.Timeout, "reconnected", func(md aimdb.LinkMetadata) bool { return md.Connected && md.Reconnects >= 1 })

	p.produce(t, 10, 110)
	checkSeq(t, recv(t, p.sub, 100, s.f.Timeout), 10)
	quiet(t, p.sub, 50*time.Millisecond)
}

func (s *suite) offlineQueue(t *testing.T) {
	const queue, offline = 16, 100
	p := s.newPair(t, "offline", 1024, &aimdb.Options{LinkQueueSize: queue})
	p.produce(t, 0, 5)
	checkSeq(t, recv(t, p.sub, 5, s.f.Timeout), 0)
	WaitLink(t, p.tx, p.outKey, 0, s.f.Timeout, "5 published", func(md aimdb.LinkMetadata) bool { return md.Published == 5 })

	s.p.Stop(t)
	WaitLink(t, p.tx, p.outKey, 0, s.f.Timeout, "disconnected", func(md aimdb.LinkMetadata) bool { return !md.Connected })
	p.txDialer.Close()
	p.produce(t, 5, 5+offline)
	md := WaitLink(t, p.tx, p.outKey, 0, s.f.Timeout, "the offline values queued or dropped", func(md aimdb.LinkMetadata) bool {
		return md.Queued+int(md.Dropped) == offline
	})
	if md.Queued != queue || md.Dropped != offline-queue {
		t.Fatalf("offline: queued %d, dropped %d; want %d and %d", md.Queued, md.Dropped, queue, offline-queue)
	}
	s.p.Start(t)
	WaitLink(t, p.rx, p.inKey, 0, s.f.Timeout, "reconnected", func(md aimdb.LinkMetadata) bool { return md.Connected })
	p.txDialer.Open()
	// The newest values survive, in order; the metadata's drop count is
	// exactly what did not arrive.
	checkSeq(t, recv(t, p.sub, queue, s.f.Timeout), 5+offline-queue)
	quiet(t, p.sub, 100*time.Millisecond)
	md = LinkStats(t, p.tx, p.outKey, 0)
	if md.Dropped != offline-queue || md.Published != 5+queue {
		t.Errorf("after reconnect: %+v; want dropped %d, published %d", md, offline-queue, 5+queue)
	}
	t.Logf("offline: %d produced, %d dropped (metadata), %d delivered", offline, md.Dropped, queue)
}

// A GatedDialer wraps a Dialer; while closed, Dial fails. Tests use it to
// order reconnects.
type GatedDialer struct {
	D      connector.Dialer
	mu     sync.Mutex
	closed bool
}

// errGated is returned by a closed GatedDialer.
var errGated = errors.New("connectortest: dialer gated by the test")

// Dial implements connector.Dialer.
func (g *GatedDialer) Dial(ctx context.Context) (connector.Session, error) {
	g.mu.Lock()
	c := g.closed
	g.mu.Unlock()
	if c {
		return nil, errGated
	}
	return g.D.Dial(ctx)
}

// ValidateLink implements connector.LinkValidator when the wrapped
// dialer does.
func (g *GatedDialer) ValidateLink(l *connector.Link) error {
	if lv, ok := g.D.(connector.LinkValidator); ok {
		return lv.ValidateLink(l)
	}
	return nil
}

// Close makes Dial fail.
func (g *GatedDialer) Close() { g.mu.Lock(); g.closed = true; g.mu.Unlock() }

// Open lets Dial through again.
func (g *GatedDialer) Open() { g.mu.Lock(); g.closed = false; g.mu.Unlock() }
