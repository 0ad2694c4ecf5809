// Package knxtest runs Debian's knxd for tests: a KNXnet/IP tunnelling
// server on a free loopback UDP port with the dummy bus back-end, and
// knxtool to put group telegrams on its bus. Without knxd (package knxd)
// or knxtool (package knxd-tools) a test skips, naming the package; under
// AIMDB_TEST_STRICT=1 it fails.
package knxtest

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/internal/tooltest"
)

// A Knxd is a knxd process. Stop kills it (SIGKILL: no DISCONNECT to its
// clients); Start runs it again on the same ports.
type Knxd struct {
	bin, tool string
	udp, tcp  int
	iface     string // routing on this interface, if not ""
	host      string // the tunnelling server's address

	mu   sync.Mutex
	cmd  *exec.Cmd
	exit chan struct{}
	out  *bytes.Buffer
}

// Start starts knxd for t and stops it when t ends.
func Start(t testing.TB) *Knxd {
	t.Helper()
	k := &Knxd{bin: tooltest.Path(t, "knxd"), tool: tooltest.Path(t, "knxtool"), udp: freeUDP(t), tcp: freeTCP(t), host: "127.0.0.1"}
	k.Start(t)
	t.Cleanup(func() { k.Stop(t) })
	return k
}

// StartRouting starts knxd as Start does, with KNXnet/IP routing too: it
// sends and receives ROUTING_INDICATIONs on the multicast group
// 224.0.23.12 at the tunnelling server's port, on the interface iface.
func StartRouting(t testing.TB, iface string) *Knxd {
	t.Helper()
	k := &Knxd{bin: tooltest.Path(t, "knxd"), tool: tooltest.Path(t, "knxtool"), udp: freeUDP(t), tcp: freeTCP(t), iface: iface, host: "127.0.0.1"}
	// knxd binds its server to the interface's address.
	if ifi, err := net.InterfaceByName(iface); err == nil {
		if addrs, err := ifi.Addrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
					k.host = n.IP.String()
					break
				}
			}
		}
	}
	k.Start(t)
	t.Cleanup(func() { k.Stop(t) })
	return k
}

// RoutingURL returns the routing group's address for knx.NewDialer,
// multicast://224.0.23.12:port?iface=name.
func (k *Knxd) RoutingURL() string {
	return "multicast://224.0.23.12:" + strconv.Itoa(k.udp) + "?iface=" + k.iface
}

func freeTCP(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func freeUDP(t testing.TB) int {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// URL returns the tunnelling server's address, udp://127.0.0.1:port (with
// routing, the interface's address).
func (k *Knxd) URL() string { return "udp://" + k.host + ":" + strconv.Itoa(k.udp) }

// Start runs knxd (again), waiting until it listens.
func (k *Knxd) Start(t testing.TB) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cmd != nil {
		return
	}
	addr := "127.0.0.1:" + strconv.Itoa(k.tcp)
	for attempt := 0; ; attempt++ {
		out := &bytes.Buffer{}
		args := []string{"--no-timestamp", "-e", "0.0.1", "-E", "0.0.2:8",
			"-i" + strconv.Itoa(k.tcp), "-n", "aimdb-test", "-T"}
		if k.iface != "" {
			args = append(args, "-R", "-S224.0.23.12:"+strconv.Itoa(k.udp), "-I", k.iface)
		} else {
			args = append(args, "-S224.0.23.12:"+strconv.Itoa(k.udp), "-I", "lo")
		}
		cmd := exec.Command(k.bin, append(args, "-b", "dummy:")...)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start knxd: %v", err)
		}
		exit := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exit) }()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-exit:
				deadline = time.Time{}
				continue
			default:
			}
			if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
				c.Close()
				k.cmd, k.exit, k.out = cmd, exit, out
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		_ = cmd.Process.Kill()
		<-exit
		if attempt == 20 {
			t.Fatalf("knxd did not start listening on %s: %s", addr, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop kills knxd.
func (k *Knxd) Stop(t testing.TB) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cmd == nil {
		return
	}
	_ = k.cmd.Process.Kill()
	<-k.exit
	k.cmd = nil
}

// GroupWrite puts a GroupValueWrite of the data octets on knxd's bus with
// knxtool groupwrite (a long telegram), as from a bus device.
func (k *Knxd) GroupWrite(t testing.TB, ga string, data ...byte) {
	t.Helper()
	args := []string{"groupwrite", "ip:127.0.0.1:" + strconv.Itoa(k.tcp), ga}
	for _, b := range data {
		args = append(args, fmt.Sprintf("%02x", b))
	}
	k.run(t, args)
}

// GroupSWrite puts a short GroupValueWrite (a 6-bit value) on knxd's bus
// with knxtool groupswrite.
func (k *Knxd) GroupSWrite(t testing.TB, ga string, v byte) {
	t.Helper()
	k.run(t, []string{"groupswrite", "ip:127.0.0.1:" + strconv.Itoa(k.tcp), ga, strconv.Itoa(int(v))})
}

func (k *Knxd) run(t testing.TB, args []string) {
	t.Helper()
	out, err := exec.Command(k.tool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("knxtool %v: %v: %s", args, err, out)
	}
}
