// These tests run the connector against Debian's mosquitto, started by
// the test. Without mosquitto they skip, naming the package to install;
// with AIMDB_TEST_STRICT=1 (.ci/run) a missing mosquitto fails them.

package mqtt_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/mqtt"
	"github.com/aimdb-go/aimdb/internal/tooltest"
)

// mosquitto is a mosquitto process on a free loopback port. Stop kills
// it (SIGKILL: no clean disconnects); Start runs it again on the same
// port.
type mosquitto struct {
	mu    sync.Mutex
	bin   string
	conf  string
	port  int
	cmd   *exec.Cmd
	exit  chan struct{}
	proto mqtt.Protocol
	tls   bool
	pki   testPKI
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startMosquitto(t testing.TB, proto mqtt.Protocol, withTLS bool) *mosquitto {
	t.Helper()
	m := &mosquitto{bin: tooltest.Path(t, "mosquitto"), port: freePort(t), proto: proto, tls: withTLS}
	dir := t.TempDir()
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\nmax_inflight_messages 0\nlog_dest stderr\n", m.port)
	if os.Geteuid() == 0 {
		conf += "user root\n" // else mosquitto drops to user mosquitto, who cannot read the test's files
	}
	if withTLS {
		m.pki = newTestPKI(t)
		conf += fmt.Sprintf("cafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\n", m.pki.CA, m.pki.ServerCert, m.pki.ServerKey)
	}
	m.conf = filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(m.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	m.Start(t)
	t.Cleanup(func() { m.Stop(t) })
	return m
}

func (m *mosquitto) Start(t testing.TB) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		return
	}
	addr := fmt.Sprintf("127.0.0.1:%d", m.port)
	for attempt := 0; ; attempt++ {
		cmd := exec.Command(m.bin, "-c", m.conf)
		cmd.Stdout, cmd.Stderr = nil, nil
		if err := cmd.Start(); err != nil {
			t.Fatalf("start mosquitto: %v", err)
		}
		exit := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exit) }()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-exit:
				deadline = time.Time{} // exited: the port may still be in use; retry
				continue
			default:
			}
			if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
				c.Close()
				m.cmd, m.exit = cmd, exit
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		_ = cmd.Process.Kill()
		<-exit
		if attempt == 20 {
			t.Fatalf("mosquitto did not start listening on %s", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (m *mosquitto) Stop(t testing.TB) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Kill()
	<-m.exit
	m.cmd = nil
}

func (m *mosquitto) Scheme() string { return "mqtt" }

func (m *mosquitto) Dialer(t testing.TB) connector.Dialer {
	t.Helper()
	o := mqtt.Options{Protocol: m.proto}
	scheme := "mqtt"
	if m.tls {
		scheme = "mqtts"
		o.CAFile, o.CertFile, o.KeyFile = m.pki.CA, m.pki.ClientCert, m.pki.ClientKey
	}
	d, err := mqtt.NewDialer(fmt.Sprintf("%s://127.0.0.1:%d", scheme, m.port), o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestMosquittoConformance(t *testing.T) {
	for _, p := range []mqtt.Protocol{mqtt.V5, mqtt.V311} {
		t.Run("v"+p.String(), func(t *testing.T) {
			connectortest.Run(t, startMosquitto(t, p, false), connectortest.Features{
				Wildcards:    true,
				Bulk:         10000,
				LargePayload: 256 << 10,
				Params:       "qos=1",
			})
		})
	}
}

func TestMosquittoTLS(t *testing.T) {
	m := startMosquitto(t, mqtt.V5, true)
	roundTrip(t, m.Dialer(t), m.Dialer(t))
	connectortest.Run(t, m, connectortest.Features{Wildcards: true, Bulk: 2000, LargePayload: 256 << 10})
}

// TestMosquittoRestartMidStream is the acceptance test: a record
// linked to mqtt://station/1/temperature in one DB arrives in another
// DB's record linked from mqtt://station/+/temperature, through
// mosquitto, while mosquitto is killed mid-stream and restarted.
func TestMosquittoRestartMidStream(t *testing.T) {
	for _, p := range []mqtt.Protocol{mqtt.V5, mqtt.V311} {
		t.Run("v"+p.String(), func(t *testing.T) { restartMidStream(t, p) })
	}
}

func restartMidStream(t *testing.T, proto mqtt.Protocol) {
	m := startMosquitto(t, proto, false)
	type Temperature struct {
		Station int     `json:"station"`
		Seq     int     `json:"seq"`
		Celsius float64 `json:"celsius"`
	}
	const queue = 256
	opts := func(d connector.Dialer) *aimdb.Options {
		return &aimdb.Options{
			Connectors:          map[string]connector.Dialer{"mqtt": d},
			LinkQueueSize:       queue,
			ReconnectBackoff:    20 * time.Millisecond,
			MaxReconnectBackoff: 200 * time.Millisecond,
		}
	}
	rxDB := aimdb.New(opts(m.Dialer(t)))
	in, _ := aimdb.Register(rxDB, aimdb.NewKey[Temperature]("station.temperature.all"), aimdb.Ring(1<<16))
	in.LinkFrom("mqtt://station/+/temperature", codec.JSON[Temperature]{})
	sub, _ := in.Subscribe()
	defer sub.Close()
	gate := &connectortest.GatedDialer{D: m.Dialer(t)}
	txDB := aimdb.New(opts(gate))
	out, _ := aimdb.Register(txDB, aimdb.NewKey[Temperature]("station.temperature.1"), aimdb.Ring(1<<16))
	out.LinkTo("mqtt://station/1/temperature", codec.JSON[Temperature]{}, mqtt.QoS(1))

	ctx := runConnected(t, rxDB, txDB, "station.temperature.all", "station.temperature.1")

	// The stream: one reading every 200µs.
	var seq atomic.Int64
	stopProducing := make(chan struct{})
	var producer sync.WaitGroup
	producer.Go(func() {
		tick := time.NewTicker(200 * time.Microsecond)
		defer tick.Stop()
		for {
			select {
			case <-stopProducing:
				return
			case <-tick.C:
				n := int(seq.Load())
				_ = out.Produce(Temperature{Station: 1, Seq: n, Celsius: 20 + float64(n%100)/10})
				seq.Add(1)
			}
		}
	})
	// Receive everything, deduplicated (QoS 1 is at least once).
	received := map[int]bool{}
	var recvMu sync.Mutex
	rctx, rcancel := context.WithCancel(ctx)
	var receiver sync.WaitGroup
	receiver.Go(func() {
		for v, err := range sub.All(rctx) {
			if err != nil {
				continue
			}
			recvMu.Lock()
			received[v.Seq] = true
			recvMu.Unlock()
		}
	})
	count := func() int { recvMu.Lock(); defer recvMu.Unlock(); return len(received) }

	for seq.Load() < 1000 { // mid-stream
		time.Sleep(time.Millisecond)
	}
	killed := time.Now()
	m.Stop(t) // SIGKILL
	connectortest.WaitLink(t, txDB, "station.temperature.1", 0, 10*time.Second, "disconnected", func(md aimdb.LinkMetadata) bool { return !md.Connected })
	t.Logf("sender noticed the kill after %v", time.Since(killed))
	gate.Close() // the receiver re-subscribes before the sender flushes its queue
	time.Sleep(500 * time.Millisecond)
	m.Start(t)
	connectortest.WaitLink(t, rxDB, "station.temperature.all", 0, 10*time.Second, "re-subscribed", func(md aimdb.LinkMetadata) bool {
		return md.Connected && md.Reconnects >= 1
	})
	gate.Open()
	connectortest.WaitLink(t, txDB, "station.temperature.1", 0, 10*time.Second, "reconnected", func(md aimdb.LinkMetadata) bool {
		return md.Connected && md.Reconnects >= 1
	})
	afterReconnect := int(seq.Load())
	t.Logf("sender reconnected %v after the kill", time.Since(killed))
	for seq.Load() < int64(afterReconnect+2000) {
		time.Sleep(time.Millisecond)
	}
	close(stopProducing)
	producer.Wait()
	produced := int(seq.Load())
	md := connectortest.WaitLink(t, txDB, "station.temperature.1", 0, 20*time.Second, "everything published or dropped", func(md aimdb.LinkMetadata) bool {
		return int(md.Published+md.Dropped) == produced && md.Queued == 0
	})
	deadline := time.Now().Add(20 * time.Second)
	for count() < int(md.Published) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	rcancel()
	receiver.Wait()

	missingAfter := 0
	missing := 0
	for i := range produced {
		if !received[i] {
			missing++
			if i >= afterReconnect {
				missingAfter++
			}
		}
	}
	lostInFlight := missing - int(md.Dropped)
	t.Logf("MQTT %s restart mid-stream: produced %d, published %d, received %d distinct; missing %d = dropped offline %d (metadata) + lost in mosquitto at the kill %d; missing after the reconnect %d",
		proto, produced, md.Published, len(received), missing, md.Dropped, lostInFlight, missingAfter)
	if missingAfter != 0 {
		t.Errorf("%d messages published after the reconnect did not arrive", missingAfter)
	}
	if md.Dropped == 0 {
		t.Errorf("no message was dropped offline; the outage was too short to test the queue bound")
	}
	// What did not arrive is exactly what the metadata says was dropped,
	// plus the messages mosquitto had acknowledged but not yet forwarded
	// when it was killed (it runs without persistence): at most its
	// in-flight window.
	// A message in flight when the connection dropped has an unknown
	// outcome: requeued, then evicted, it counts as dropped even if
	// mosquitto delivered it; so the balance may be off by one or two.
	if lostInFlight < -2 || lostInFlight > 50 {
		t.Errorf("missing %d, dropped (metadata) %d: %d unaccounted", missing, md.Dropped, lostInFlight)
	}
}
