package mqtt_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/mqtt"
)

// ackGate is a TCP relay between MQTT clients and a broker that can hold
// back everything the broker sends (its PUBACKs) until the clients have
// sent a number of QoS 1 or 2 PUBLISH packets: it shows how many
// publishes a client has in flight without their acknowledgements.
type ackGate struct {
	ln     net.Listener
	broker string

	mu      sync.Mutex
	conns   []net.Conn
	armed   bool
	want    int
	seen    int           // QoS > 0 PUBLISH packets since arm
	reached chan struct{} // closed when seen reaches want
	release chan struct{} // closed to let the broker's bytes through
	wg      sync.WaitGroup
}

func newAckGate(t *testing.T, brokerAddr string) *ackGate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &ackGate{ln: ln, broker: brokerAddr}
	g.wg.Go(g.accept)
	t.Cleanup(func() {
		ln.Close()
		g.open()
		g.cut()
		g.wg.Wait()
	})
	return g
}

func (g *ackGate) URL() string { return "mqtt://" + g.ln.Addr().String() }

func (g *ackGate) accept() {
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", g.broker)
		if err != nil {
			c.Close()
			continue
		}
		g.mu.Lock()
		g.conns = append(g.conns, c, b)
		g.mu.Unlock()
		g.wg.Go(func() { g.upstream(c, b) })
		g.wg.Go(func() { g.downstream(b, c) })
	}
}

// arm starts holding the broker's bytes until want QoS > 0 publishes
// passed (then reached is closed) and open is called.
func (g *ackGate) arm(want int) (reached <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed, g.want, g.seen = true, want, 0
	g.reached, g.release = make(chan struct{}), make(chan struct{})
	return g.reached
}

// open lets the broker's bytes through again.
func (g *ackGate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.armed {
		g.armed = false
		close(g.release)
	}
}

func (g *ackGate) published() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.seen
}

// cut closes every relayed connection, as a network failure would.
func (g *ackGate) cut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.conns {
		c.Close()
	}
	g.conns = nil
}

// upstream relays client → broker packet by packet, counting publishes.
func (g *ackGate) upstream(c, b net.Conn) {
	defer b.Close()
	r := bufio.NewReader(c)
	for {
		hdr, body, err := readPacket(r)
		if err != nil {
			return
		}
		if hdr[0]>>4 == 3 && (hdr[0]>>1)&3 > 0 {
			g.mu.Lock()
			if g.armed {
				g.seen++
				if g.seen == g.want {
					close(g.reached)
				}
			}
			g.mu.Unlock()
		}
		if _, err := b.Write(append(hdr, body...)); err != nil {
			return
		}
	}
}

// downstream relays broker → client, holding back while armed.
func (g *ackGate) downstream(b, c net.Conn) {
	defer c.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := b.Read(buf)
		if n > 0 {
			g.mu.Lock()
			armed, release := g.armed, g.release
			g.mu.Unlock()
			if armed {
				<-release
			}
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// readPacket reads one MQTT packet: its fixed header and its body.
func readPacket(r *bufio.Reader) (hdr, body []byte, err error) {
	first, err := r.ReadByte()
	if err != nil {
		return nil, nil, err
	}
	hdr = []byte{first}
	n, shift := 0, 0
	for {
		b, err := r.ReadByte()
		if err != nil {
			return nil, nil, err
		}
		hdr = append(hdr, b)
		n |= int(b&0x7f) << shift
		if b&0x80 == 0 {
			break
		}
		if shift += 7; shift > 21 {
			return nil, nil, errors.New("malformed remaining length")
		}
	}
	body = make([]byte, n)
	_, err = io.ReadFull(r, body)
	return hdr, body, err
}

// TestPipelinedPublish: an outbound QoS 1 link sends its messages
// without waiting for each PUBACK (16 publishes reach the broker before
// any acknowledgement comes back), keeps their order, requeues the
// messages in flight when the connection drops and sends them again,
// and at shutdown waits for the acknowledgements of those in flight:
// every message is counted once, as published.
func TestPipelinedPublish(t *testing.T) {
	for _, p := range []mqtt.Protocol{mqtt.V5, mqtt.V311} {
		t.Run("v"+p.String(), func(t *testing.T) { pipelined(t, p) })
	}
}

func pipelined(t *testing.T, proto mqtt.Protocol) {
	const window = 16
	broker := startMochi(t, proto)
	gate := newAckGate(t, broker.addr)
	rx := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": broker.Dialer(t)}})
	in, _ := aimdb.Register(rx, aimdb.NewKey[int]("pipe.in"), aimdb.Ring(1024))
	in.LinkFrom("mqtt://pipe/t?qos=1", connectortest.IntCodec{})
	sub, _ := in.Subscribe()
	defer sub.Close()
	d, err := mqtt.NewDialer(gate.URL(), mqtt.Options{Protocol: proto, MaxInflight: window})
	if err != nil {
		t.Fatal(err)
	}
	tx := aimdb.New(&aimdb.Options{
		Connectors:          map[string]connector.Dialer{"mqtt": d},
		ReconnectBackoff:    10 * time.Millisecond,
		MaxReconnectBackoff: 50 * time.Millisecond,
	})
	out, _ := aimdb.Register(tx, aimdb.NewKey[int]("pipe.out"), aimdb.Ring(1024))
	out.LinkTo("mqtt://pipe/t?qos=1", connectortest.IntCodec{})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rxDone, txDone := make(chan error, 1), make(chan error, 1)
	txCtx, stopTx := context.WithCancel(ctx)
	defer stopTx()
	go func() { rxDone <- rx.Run(ctx) }()
	go func() { txDone <- tx.Run(txCtx) }()
	defer func() { cancel(); <-rxDone }()
	connected := func(md aimdb.LinkMetadata) bool { return md.Connected }
	connectortest.WaitLink(t, rx, "pipe.in", 0, 10*time.Second, "connected", connected)
	connectortest.WaitLink(t, tx, "pipe.out", 0, 10*time.Second, "connected", connected)

	received := map[int]int{}
	receive := func(upTo int) {
		t.Helper()
		rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
		defer rcancel()
		last := -1
		for received[upTo-1] == 0 {
			v, err := sub.Recv(rctx)
			if err != nil {
				t.Fatalf("received %v; waiting for %d: %v", received, upTo-1, err)
			}
			if received[v] == 0 && v < last {
				t.Errorf("%d arrived after %d", v, last)
			}
			received[v]++
			last = max(last, v)
		}
	}
	waitHeld := func(reached <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-reached:
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: %d publishes reached the broker before any acknowledgement; want %d in flight", what, gate.published(), window)
		}
	}

	// 1. A window of publishes in flight before any PUBACK, in order.
	reached := gate.arm(window)
	for i := range window {
		_ = out.Produce(i)
	}
	waitHeld(reached, "pipelining")
	gate.open()
	receive(window)
	connectortest.WaitLink(t, tx, "pipe.out", 0, 10*time.Second, "published", func(md aimdb.LinkMetadata) bool { return md.Published == window })

	// 2. The connection drops with a window in flight: the messages are
	// sent again on the next connection, none lost, none counted twice.
	reached = gate.arm(window)
	for i := window; i < 2*window; i++ {
		_ = out.Produce(i)
	}
	waitHeld(reached, "before the drop")
	gate.cut()
	gate.open()
	receive(2 * window)
	md := connectortest.WaitLink(t, tx, "pipe.out", 0, 10*time.Second, "published again", func(md aimdb.LinkMetadata) bool {
		return md.Published == 2*window && md.Reconnects >= 1
	})
	if md.Dropped != 0 || md.PublishErrs != 0 || md.Queued != 0 {
		t.Errorf("after the drop: %+v; want every message published once, none dropped", md)
	}

	// 3. Shutdown waits for the acknowledgements of the messages in
	// flight.
	reached = gate.arm(window)
	for i := 2 * window; i < 3*window; i++ {
		_ = out.Produce(i)
	}
	waitHeld(reached, "at shutdown")
	stopTx()
	time.Sleep(100 * time.Millisecond) // shutdown is under way, waiting for the PUBACKs
	gate.open()
	if err := <-txDone; err != nil {
		t.Fatal(err)
	}
	receive(3 * window)
	md = connectortest.LinkStats(t, tx, "pipe.out", 0)
	if md.Published != 3*window || md.Dropped != 0 || md.PublishErrs != 0 {
		t.Errorf("after shutdown: %+v; want %d published, none dropped", md, 3*window)
	}
	for i := range 3 * window {
		if received[i] == 0 {
			t.Errorf("%d never arrived", i)
		}
	}
}
