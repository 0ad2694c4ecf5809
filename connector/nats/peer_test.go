package nats_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/nats"
	"github.com/aimdb-go/aimdb/internal/tooltest"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ctStream holds every subject of the conformance suite.
var ctStream = jetstream.StreamConfig{Name: "AIMDBCT", Subjects: []string{connectortest.Prefix + ".>"}}

// A peer is a NATS server, with JetStream storing in a temporary
// directory, that a test stops and starts again on the same port and
// store: in-process (nats-server/v2) or Debian's nats-server binary.
type peer interface {
	connectortest.Peer
	URL() string
}

var dialerSeq atomic.Int64

// dialer returns a Dialer for p with a distinct name.
func dialer(t testing.TB, p peer, o nats.Options) *nats.Dialer {
	t.Helper()
	if o.Name == "" {
		o.Name = fmt.Sprintf("ct-%d-%d", os.Getpid(), dialerSeq.Add(1))
	}
	if o.Streams == nil {
		o.Streams = []jetstream.StreamConfig{ctStream}
	}
	d, err := nats.NewDialer(p.URL(), o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// inproc is a nats-server/v2 server in the test process.
type inproc struct {
	mu    sync.Mutex
	dir   string
	port  int
	srv   *server.Server
	tweak func(*server.Options)
}

func startInproc(t testing.TB, tweak func(*server.Options)) *inproc {
	t.Helper()
	p := &inproc{dir: t.TempDir(), tweak: tweak}
	p.Start(t)
	t.Cleanup(func() { p.Stop(t) })
	return p
}

func (p *inproc) Start(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv != nil {
		return
	}
	for attempt := 0; ; attempt++ {
		o := &server.Options{Host: "127.0.0.1", Port: p.port, NoLog: true, NoSigs: true,
			JetStream: true, StoreDir: p.dir, ServerName: "aimdb-test"}
		if p.port == 0 {
			o.Port = -1
		}
		if p.tweak != nil {
			p.tweak(o)
		}
		s, err := server.NewServer(o)
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		if s.ReadyForConnections(10 * time.Second) {
			p.srv = s
			p.port = s.Addr().(*net.TCPAddr).Port
			return
		}
		s.Shutdown()
		s.WaitForShutdown()
		if attempt == 20 {
			t.Fatalf("nats-server did not start on port %d", p.port)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *inproc) Stop(t testing.TB) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv == nil {
		return
	}
	p.srv.Shutdown()
	p.srv.WaitForShutdown()
	p.srv = nil
}

func (p *inproc) Scheme() string { return "nats" }

func (p *inproc) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(p.port) }

func (p *inproc) Dialer(t testing.TB) connector.Dialer { return dialer(t, p, nats.Options{}) }

// binary is Debian's nats-server, started by the test; Stop kills it
// (SIGKILL: no clean disconnects, no flush of its buffers).
type binary struct {
	mu   sync.Mutex
	bin  string
	dir  string
	port int
	args []string
	cmd  *exec.Cmd
	exit chan struct{}
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

func startBinary(t testing.TB, args ...string) *binary {
	t.Helper()
	p := &binary{bin: tooltest.Path(t, "nats-server"), dir: t.TempDir(), port: freePort(t), args: args}
	p.Start(t)
	t.Cleanup(func() { p.Stop(t) })
	return p
}

func (p *binary) Start(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return
	}
	addr := "127.0.0.1:" + strconv.Itoa(p.port)
	for attempt := 0; ; attempt++ {
		args := append([]string{"-a", "127.0.0.1", "-p", strconv.Itoa(p.port), "-js", "-sd", filepath.Join(p.dir, "js"), "-n", "aimdb-test"}, p.args...)
		cmd := exec.Command(p.bin, args...)
		if err := cmd.Start(); err != nil {
			t.Fatalf("start nats-server: %v", err)
		}
		exit := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exit) }()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-exit:
				deadline = time.Time{}
				continue
			default:
			}
			if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
				c.Close()
				p.cmd, p.exit = cmd, exit
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		_ = cmd.Process.Kill()
		<-exit
		if attempt == 20 {
			t.Fatalf("nats-server did not start listening on %s", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *binary) Stop(t testing.TB) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.exit
	p.cmd = nil
}

func (p *binary) Scheme() string { return "nats" }

func (p *binary) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(p.port) }

func (p *binary) Dialer(t testing.TB) connector.Dialer { return dialer(t, p, nats.Options{}) }

var natsGrammar = connectortest.Features{Sep: '.', One: "*", Multi: ">", Wildcards: true, LargePayload: 512 << 10}

func TestConformanceCore(t *testing.T) {
	connectortest.Run(t, startInproc(t, nil), natsGrammar)
}

func TestConformanceJetStream(t *testing.T) {
	f := natsGrammar
	f.Params = "jetstream=true"
	connectortest.Run(t, startInproc(t, nil), f)
}

func TestConformanceDebianCore(t *testing.T) {
	connectortest.Run(t, startBinary(t), natsGrammar)
}

func TestConformanceDebianJetStream(t *testing.T) {
	f := natsGrammar
	f.Params = "jetstream=true"
	connectortest.Run(t, startBinary(t), f)
}
