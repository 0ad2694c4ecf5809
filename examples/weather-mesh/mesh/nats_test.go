package mesh_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/twmb/franz-go/pkg/kfake"
)

// TestHubsShareStationsOnNATS runs stations and two hubs of one group on
// NATS JetStream (an in-process server): between them the hubs store
// every station's readings, on the subjects station.<n>.temperature and
// station.<n>.humidity, and derive dew points.
func TestHubsShareStationsOnNATS(t *testing.T) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true, JetStream: true, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	sharedMesh(t, srv.ClientURL(), mesh.NATS)
}

// TestHubsShareStationsOnKafka is the same on Kafka (kfake): the topic
// station of three partitions, keyed <n>/<kind> and partitioned by
// station, shared by the hubs' consumer group: both readings of a station
// reach one hub, which derives its dew point.
func TestHubsShareStationsOnKafka(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "station"))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	sharedMesh(t, "kafka://"+kc.ListenAddrs()[0], mesh.Kafka)
}

func sharedMesh(t *testing.T, broker string, engine mesh.Engine) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	run := func(db *aimdb.DB) {
		wg.Go(func() {
			if err := db.Run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
		<-db.Started()
	}
	var hubs []*aimdb.DB
	for range 2 {
		e, d, err := mesh.HubConnector(broker, "hubs")
		if err != nil {
			t.Fatal(err)
		}
		if e != engine || !strings.HasPrefix(mesh.ClientName(d), mesh.HubClientIDPrefix) {
			t.Fatalf("HubConnector(%q) = %v, %q; want %v, a hub name", broker, e, mesh.ClientName(d), engine)
		}
		db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{string(e): d}})
		if _, err := mesh.Hub(db, &mesh.HubOptions{MaxStations: 100, Engine: e}); err != nil {
			t.Fatal(err)
		}
		run(db)
		hubs = append(hubs, db)
	}
	const stations = 10 // on Kafka, keys 7 and 10 are the ones in partition 0 of 3
	for slot := 1; slot <= stations; slot++ {
		e, d, err := mesh.StationConnector(broker, slot)
		if err != nil {
			t.Fatal(err)
		}
		db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{string(e): d}})
		if err := mesh.StationOn(db, e, slot, 20*time.Millisecond, nil); err != nil {
			t.Fatal(err)
		}
		run(db)
	}
	// Each station's three records exist in some hub, with readings.
	deadline := time.Now().Add(60 * time.Second)
	for {
		seen := map[string]uint64{}
		missing := ""
		for i, h := range hubs {
			n := uint64(0)
			for _, md := range h.Records() {
				seen[md.RecordKey] += md.ProducedCount
				n += md.ProducedCount
			}
			if n == 0 {
				missing = fmt.Sprintf("anything in hub %d (the group shares the stations)", i)
			}
		}
		for slot := 1; slot <= stations; slot++ {
			for _, k := range []string{"temperature", "humidity", "dew_point"} {
				key := "station." + itoa(slot) + "." + k
				if seen[key] < 3 {
					missing = "three readings of " + key + " in some hub"
				}
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; stored %v", missing, seen)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
