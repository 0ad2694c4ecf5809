package mesh_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
	"github.com/nats-io/nats-server/v2/server"
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
	broker := srv.ClientURL()
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
		if e != mesh.NATS || !strings.HasPrefix(mesh.ClientName(d), mesh.HubClientIDPrefix) {
			t.Fatalf("HubConnector(%q) = %v, %q; want NATS, a hub name", broker, e, mesh.ClientName(d))
		}
		db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"nats": d}})
		if _, err := mesh.Hub(db, &mesh.HubOptions{MaxStations: 100, Engine: e}); err != nil {
			t.Fatal(err)
		}
		run(db)
		hubs = append(hubs, db)
	}
	const stations = 6
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
		for _, h := range hubs {
			for _, md := range h.Records() {
				seen[md.RecordKey] += md.ProducedCount
			}
		}
		missing := ""
		for slot := 1; slot <= stations; slot++ {
			for _, k := range []string{"temperature", "humidity", "dew_point"} {
				key := "station." + itoa(slot) + "." + k
				if seen[key] < 3 {
					missing = key
				}
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no hub stored three readings of %s; stored %v", missing, seen)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i, h := range hubs {
		n := 0
		for _, md := range h.Records() {
			n += int(md.ProducedCount)
		}
		if n == 0 {
			t.Errorf("hub %d stored nothing; the group should share the stream", i)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
