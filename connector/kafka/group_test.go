package kafka_test

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
	"github.com/aimdb-go/aimdb/connector/kafka"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// cutter is a NetDialer whose connections a test cuts, as if the
// process holding them died.
type cutter struct {
	mu    sync.Mutex
	conns []net.Conn
	dead  bool
}

func (c *cutter) dial(ctx context.Context, network, host string) (net.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return nil, fmt.Errorf("cutter: this hub is dead")
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, network, host)
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

// TestGroupHubKilled shares a keyed topic of 6 partitions among three
// hubs of one consumer group, through a family link whose capture is the
// message key; one hub dies abruptly while values stream. The group
// gives its partitions to the others, which resume at its last commit:
// every value is stored, none twice in one hub.
func TestGroupHubKilled(t *testing.T) {
	const stations, perStation = 12, 100
	const n = stations * perStation
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(6, "readings"), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	broker := "kafka://" + kc.ListenAddrs()[0]
	fam := aimdb.NewFamily[int]("st.{id}.v")
	type hub struct {
		db     *aimdb.DB
		d      *kafka.Dialer
		cut    *cutter
		mu     sync.Mutex
		stored map[int]int
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	var hubs []*hub
	for i := range 3 {
		h := &hub{cut: &cutter{}, stored: map[int]int{}}
		h.d, err = kafka.NewDialer(broker, kafka.Options{ClientID: "hub-" + strconv.Itoa(i), Group: "hubs",
			SessionTimeout: time.Second, PingInterval: 200 * time.Millisecond, NetDialer: h.cut.dial})
		if err != nil {
			t.Fatal(err)
		}
		h.db = aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"kafka": h.d},
			ReconnectBackoff: 20 * time.Millisecond, MaxReconnectBackoff: 200 * time.Millisecond})
		f, err := aimdb.RegisterFamily(h.db, fam, aimdb.Ring(4*perStation), aimdb.MaxInstances(stations))
		if err != nil {
			t.Fatal(err)
		}
		f.LinkFrom("kafka://readings/{id}", connectortest.IntCodec{})
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
		wg.Go(func() {
			if err := h.db.Run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
		<-h.db.Started()
		hubs = append(hubs, h)
	}
	// A cheap publisher: one idempotent producer, keyed by station.
	pub, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	// storedBy counts the values (probe false) or the probes h stored.
	storedBy := func(h *hub, probe bool) int {
		h.mu.Lock()
		defer h.mu.Unlock()
		c := 0
		for v := range h.stored {
			if (v < 0) == probe {
				c++
			}
		}
		return c
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				for i, h := range hubs {
					h.mu.Lock()
					t.Logf("hub %d: %d values stored; stats %+v", i, len(h.stored), h.d.Stats())
					h.mu.Unlock()
				}
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	send := func(from, to int) {
		for i := from; i < to; i++ {
			r := &kgo.Record{Topic: "readings", Key: []byte(strconv.Itoa(i % stations)), Value: strconv.AppendInt(nil, int64(i), 10)}
			if err := pub.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Warm up until the group is balanced, every hub owning partitions:
	// a probe (a negative value) per station and round, until every hub
	// stored one. Otherwise the first hub can take the whole first half
	// before the others join and the hub to be killed stores nothing.
	probe := -1
	waitFor("every hub to own partitions", func() bool {
		for s := range stations {
			r := &kgo.Record{Topic: "readings", Key: []byte(strconv.Itoa(s)), Value: strconv.AppendInt(nil, int64(probe), 10)}
			probe--
			if err := pub.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(50 * time.Millisecond)
		for _, h := range hubs {
			if storedBy(h, true) == 0 {
				return false
			}
		}
		return true
	})
	send(0, n/2)
	waitFor("the hub to be killed stored some values", func() bool { return storedBy(hubs[1], false) > 0 })
	hubs[1].cut.kill()
	send(n/2, n)
	union := func() int {
		seen := map[int]bool{}
		for _, h := range hubs {
			h.mu.Lock()
			for v := range h.stored {
				if v >= 0 {
					seen[v] = true
				}
			}
			h.mu.Unlock()
		}
		return len(seen)
	}
	waitFor(fmt.Sprintf("all %d values stored by the group", n), func() bool { return union() == n })
	across := 0
	for i, h := range hubs {
		h.mu.Lock()
		for v, c := range h.stored {
			if c > 1 {
				t.Errorf("hub %d stored value %d %d times", i, v, c)
			}
		}
		for v := range h.stored {
			if v >= 0 {
				across++
			}
		}
		t.Logf("hub %d stored %d values; stats %+v", i, len(h.stored), h.d.Stats())
		h.mu.Unlock()
	}
	t.Logf("consumer group, hub 1 killed: %d sent, %d stored by the group, 0 lost, %d stored again by a survivor", n, union(), across-n)
}
