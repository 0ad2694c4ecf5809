package kafka_test

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/kafka"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// cluster is a kfake cluster storing in a temporary directory, stopped
// and started again on the same port and data.
type cluster struct {
	mu   sync.Mutex
	dir  string
	port int
	c    *kfake.Cluster
}

func startCluster(t testing.TB) *cluster {
	t.Helper()
	c := &cluster{dir: t.TempDir()}
	c.Start(t)
	t.Cleanup(func() { c.Stop(t) })
	return c
}

func (c *cluster) Start(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c != nil {
		return
	}
	for attempt := 0; ; attempt++ {
		kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(c.port), kfake.DataDir(c.dir), kfake.SyncWrites(),
			kfake.SeedTopics(3, connectortest.Prefix), kfake.AllowAutoTopicCreation())
		if err == nil {
			c.c = kc
			_, p, _ := net.SplitHostPort(kc.ListenAddrs()[0])
			c.port, _ = strconv.Atoi(p)
			return
		}
		if attempt == 50 {
			t.Fatalf("kfake: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *cluster) Stop(t testing.TB) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == nil {
		return
	}
	c.c.Close()
	c.c = nil
}

func (c *cluster) Scheme() string { return "kafka" }

func (c *cluster) URL() string { return "kafka://127.0.0.1:" + strconv.Itoa(c.port) }

var seq atomic.Int64

func (c *cluster) Dialer(t testing.TB) connector.Dialer {
	d, err := kafka.NewDialer(c.URL(), kafka.Options{ClientID: fmt.Sprintf("ct-%d-%d", os.Getpid(), seq.Add(1)), PingInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestConformance(t *testing.T) {
	connectortest.Run(t, startCluster(t), connectortest.Features{Wildcards: true, LargePayload: 256 << 10, Timeout: 30 * time.Second})
}
