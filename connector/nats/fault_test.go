package nats_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/nats"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const faultTimeout = 60 * time.Second

func runDB(t *testing.T, db *aimdb.DB) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- db.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case <-db.Started():
	case err := <-errc:
		t.Fatalf("Run: %v", err)
	}
	return stop
}

func newDB(d connector.Dialer, queue int) *aimdb.DB {
	return aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"nats": d}, LinkQueueSize: queue,
		ReconnectBackoff: 20 * time.Millisecond, MaxReconnectBackoff: 200 * time.Millisecond})
}

var connected = func(md aimdb.LinkMetadata) bool { return md.Connected }

// collector receives every value of a subscription into counts.
type collector struct {
	mu     sync.Mutex
	counts map[int]int
	n      int
	done   chan struct{}
}

func collect(t *testing.T, sub *aimdb.Subscription[int]) *collector {
	c := &collector{counts: map[int]int{}, done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer close(c.done)
		for {
			v, err := sub.Recv(ctx)
			if err != nil {
				return
			}
			c.mu.Lock()
			c.counts[v]++
			c.n++
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-c.done })
	return c
}

func (c *collector) distinct() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.counts) }

func (c *collector) total() int { c.mu.Lock(); defer c.mu.Unlock(); return c.n }

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(faultTimeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// killLoss bounds the values core NATS may lose inside the server when
// it is killed: published (the server answered the sender's flush) but
// not yet written to the receiver's socket. Core NATS keeps nothing, so
// neither end can count them; JetStream loses none.
const killLoss = 64

// serverKilled streams n values from a sender DB to a receiver DB while
// the server is killed and started again. It returns the values the
// receiver stored (how often each) and the sender's link metadata. It
// waits until the receiver has every value published, or all but
// lossAtKill of them (then up to 2 s more for stragglers).
func serverKilled(t *testing.T, p peer, params string, n, queue, lossAtKill int) (*collector, aimdb.LinkMetadata, *nats.Dialer) {
	subject := fmt.Sprintf("%s.kill.%d", connectortest.Prefix, time.Now().UnixNano())
	rxd := dialer(t, p, nats.Options{})
	rx := newDB(rxd, 0)
	in, err := aimdb.Register(rx, aimdb.NewKey[int]("in"), aimdb.Ring(2*n))
	if err != nil {
		t.Fatal(err)
	}
	in.LinkFrom("nats://"+subject+params, connectortest.IntCodec{})
	sub, err := in.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	got := collect(t, sub)
	gate := &connectortest.GatedDialer{D: dialer(t, p, nats.Options{})}
	tx := newDB(gate, queue)
	out, err := aimdb.Register(tx, aimdb.NewKey[int]("out"), aimdb.Ring(2*n))
	if err != nil {
		t.Fatal(err)
	}
	out.LinkTo("nats://"+subject+params, connectortest.IntCodec{})
	runDB(t, rx)
	connectortest.WaitLink(t, rx, "in", 0, faultTimeout, "connected", connected)
	stopTx := runDB(t, tx)
	connectortest.WaitLink(t, tx, "out", 0, faultTimeout, "connected", connected)

	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := range n {
			_ = out.Produce(i)
			if i%10 == 0 {
				time.Sleep(time.Millisecond) // a stream, not one burst
			}
		}
	}()
	waitFor(t, "a fifth of the values received", func() bool { return got.distinct() >= n/5 })
	p.Stop(t) // mid-stream
	connectortest.WaitLink(t, rx, "in", 0, faultTimeout, "disconnected", func(md aimdb.LinkMetadata) bool { return !md.Connected })
	connectortest.WaitLink(t, tx, "out", 0, faultTimeout, "disconnected", func(md aimdb.LinkMetadata) bool { return !md.Connected })
	gate.Close() // the sender waits until the receiver subscribed again
	p.Start(t)
	connectortest.WaitLink(t, rx, "in", 0, faultTimeout, "reconnected", func(md aimdb.LinkMetadata) bool { return md.Connected && md.Reconnects >= 1 })
	gate.Open()
	<-produced
	stopTx() // drains the queue
	md := connectortest.LinkStats(t, tx, "out", 0)
	want := min(int(md.Published), n-int(md.Dropped))
	waitFor(t, fmt.Sprintf("%d of the %d published values received", want-lossAtKill, want),
		func() bool { return got.distinct() >= want-lossAtKill })
	for deadline := time.Now().Add(2 * time.Second); got.distinct() < want && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	return got, md, rxd
}

// TestJetStreamServerKilledNoLoss kills Debian's nats-server (SIGKILL)
// while values stream through JetStream: every value is stored, none is
// lost; values whose acknowledgement the killed server had not saved come
// again and are recognised (Stats.Duplicates), not stored twice. The
// sender publishes one message at a time, so at most one, in flight at
// the kill, is published again.
func TestJetStreamServerKilledNoLoss(t *testing.T) {
	const n = 3000
	got, md, rxd := serverKilled(t, startBinary(t), "?jetstream=true", n, n, 0)
	if md.Dropped != 0 || md.Published != n {
		t.Fatalf("sender: %+v; want %d published, none dropped", md, n)
	}
	var lost []int
	for i := range n {
		if got.counts[i] == 0 {
			lost = append(lost, i)
		}
	}
	dups := got.total() - got.distinct()
	if len(lost) > 0 {
		t.Fatalf("%d of %d values lost, first %v", len(lost), n, lost[:min(10, len(lost))])
	}
	// The consumer's redeliveries are recognised (the dedup window); the
	// one message the sender had in flight, stored but its
	// acknowledgement lost with the server, is published again: at most
	// one duplicate per lost connection.
	if dups > 1 {
		t.Errorf("%d values stored twice in one record; want at most the sender's one message in flight", dups)
	}
	t.Logf("JetStream, server SIGKILLed mid-stream: %d sent, %d stored, 0 lost; receiver stats %+v", n, got.distinct(), rxd.Stats())
}

// TestJetStreamServerRestartedNoLoss is the same against the in-process
// server, shut down and started again on its store.
func TestJetStreamServerRestartedNoLoss(t *testing.T) {
	const n = 3000
	got, md, rxd := serverKilled(t, startInproc(t, nil), "?jetstream=true", n, n, 0)
	if md.Dropped != 0 || md.Published != n {
		t.Fatalf("sender: %+v; want %d published, none dropped", md, n)
	}
	dups := 0
	for i := range n {
		switch c := got.counts[i]; {
		case c == 0:
			t.Fatalf("value %d lost", i)
		case c > 1:
			dups += c - 1
		}
	}
	if dups > 1 { // see TestJetStreamServerKilledNoLoss
		t.Errorf("%d values stored twice; want at most the sender's one message in flight", dups)
	}
	t.Logf("JetStream, server restarted mid-stream: %d sent, %d stored, %d again; receiver stats %+v", n, got.distinct(), dups, rxd.Stats())
}

// TestCoreServerKilledDropsCounted kills Debian's nats-server while
// values stream over core NATS, which keeps nothing: the values the
// sender's offline queue could not hold are dropped, and the metadata
// counts them: every dropped value never arrives (but the one in flight
// at the kill, requeued, which may have reached the receiver anyway).
// The server may also take a few values down with it, published but
// not yet delivered: at most killLoss, all sent just before the kill.
func TestCoreServerKilledDropsCounted(t *testing.T) {
	const n, queue = 3000, 32
	got, md, _ := serverKilled(t, startBinary(t), "", n, queue, killLoss)
	missing := 0
	for i := range n {
		if got.counts[i] == 0 {
			missing++
		}
	}
	if md.Dropped == 0 {
		t.Fatalf("sender dropped nothing (%+v); the test wants the outage to overflow its queue of %d", md, queue)
	}
	// One publish is in flight at a time: the value whose flush the kill
	// interrupted may have reached the receiver before the server died, and
	// it is requeued (its outcome is unknown) and may be dropped from the
	// full queue later. So the metadata may count one drop more than the
	// values missing, never fewer.
	if md.Dropped > uint64(missing)+1 || uint64(missing) > md.Dropped+killLoss {
		t.Fatalf("%d values never arrived; the sender's metadata counts %d dropped (%+v)", missing, md.Dropped, md)
	}
	t.Logf("core NATS, server SIGKILLed mid-stream: %d produced, %d dropped and counted, %d lost in the killed server, %d received (%d repeated)",
		n, md.Dropped, max(missing-int(md.Dropped), 0), got.distinct(), got.total()-got.distinct())
}

// cutter is a NetDialer whose connections a test cuts, as if the
// process holding them died.
type cutter struct {
	mu    sync.Mutex
	conns []net.Conn
	dead  bool
}

func (c *cutter) Dial(network, address string) (net.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return nil, fmt.Errorf("cutter: this hub is dead")
	}
	conn, err := net.Dial(network, address)
	if err == nil {
		c.conns = append(c.conns, conn)
	}
	return conn, err
}

func (c *cutter) kill() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dead = true
	for _, conn := range c.conns {
		_ = conn.Close()
	}
}

// hub is one DB of the group: a family of station records.
type hub struct {
	db     *aimdb.DB
	d      *nats.Dialer
	cut    *cutter
	mu     sync.Mutex
	stored map[int]int // value → times stored in this hub
}

// TestQueueGroupHubKilled shares one JetStream stream among three hubs
// of one group, through a family link with a capture; one hub dies
// abruptly (its connection cut, no more dials) while values stream. Its
// unacknowledged share is redelivered to the others: every value is
// stored, none twice in one hub; values stored by the dead hub and again
// by another are counted.
func TestQueueGroupHubKilled(t *testing.T) {
	const stations, perStation = 20, 150
	const n = stations * perStation
	p := startInproc(t, nil)
	base := fmt.Sprintf("%s.grp%d", connectortest.Prefix, time.Now().UnixNano())
	fam := aimdb.NewFamily[int](base + ".{id}.v")
	var hubs []*hub
	for range 3 {
		h := &hub{cut: &cutter{}, stored: map[int]int{}}
		h.d = dialer(t, p, nats.Options{Group: "hubs", AckWait: time.Second, NetDialer: h.cut})
		h.db = newDB(h.d, 0)
		f, err := aimdb.RegisterFamily(h.db, fam, aimdb.Ring(perStation*4), aimdb.MaxInstances(stations))
		if err != nil {
			t.Fatal(err)
		}
		f.LinkFrom("nats://"+base+".{id}.v?jetstream=true&deliver=all", connectortest.IntCodec{})
		f.Tap(func(ctx context.Context, s *aimdb.FamilySubscription[int]) error {
			for {
				_, v, err := s.Recv(ctx)
				if err != nil {
					return nil
				}
				h.mu.Lock()
				h.stored[v]++
				h.mu.Unlock()
			}
		})
		runDB(t, h.db)
		hubs = append(hubs, h)
	}
	// Every hub in the group before the stream starts, or one that joins
	// late may find the others took it all.
	for i, h := range hubs {
		waitFor(t, fmt.Sprintf("hub %d connected", i), func() bool {
			fams := h.db.Families()
			return len(fams) == 1 && len(fams[0].Links) == 1 && fams[0].Links[0].Connected
		})
	}
	// A cheap publisher, as the stations are: JetStream publishes from
	// one connection, each acknowledged by the stream.
	nc, err := natsgo.Connect(p.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	storedBy := func(h *hub) int { h.mu.Lock(); defer h.mu.Unlock(); return len(h.stored) }
	sent := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), faultTimeout)
		defer cancel()
		for i := range n {
			if _, err := js.Publish(ctx, fmt.Sprintf("%s.%d.v", base, i%stations), strconv.AppendInt(nil, int64(i), 10)); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	waitFor(t, "the hub to be killed stored some values", func() bool { return storedBy(hubs[1]) >= n/10 })
	hubs[1].cut.kill()
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	union := func() int {
		seen := map[int]bool{}
		for _, h := range hubs {
			h.mu.Lock()
			for v := range h.stored {
				seen[v] = true
			}
			h.mu.Unlock()
		}
		return len(seen)
	}
	waitFor(t, fmt.Sprintf("all %d values stored by the group", n), func() bool { return union() == n })
	across := 0
	for i, h := range hubs {
		h.mu.Lock()
		for v, c := range h.stored {
			if c > 1 {
				t.Errorf("hub %d stored value %d %d times", i, v, c)
			}
		}
		across += len(h.stored)
		t.Logf("hub %d stored %d values; stats %+v", i, len(h.stored), h.d.Stats())
		h.mu.Unlock()
	}
	if storedBy(hubs[0]) == 0 || storedBy(hubs[2]) == 0 {
		t.Errorf("the surviving hubs did not share the stream")
	}
	t.Logf("queue group, hub 1 killed: %d sent, %d stored by the group, 0 lost, %d stored again by a survivor after the kill", n, union(), across-n)
}
