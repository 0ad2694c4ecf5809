//go:build !js && !wasip1

// These tests listen on loopback TCP (NATS) and Unix sockets (AimX), which
// js/wasm and wasip1 do not have. The other targets run them.

package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// A hub child of TestLoadChildren: the test binary re-run as the
	// load program does itself.
	if len(os.Args) > 1 && os.Args[1] == "-hub-child" {
		main()
	}
	goleak.VerifyTestMain(m)
}

// TestLoadKafka offers 1000 stations × 2 readings per second for 5 s
// through an in-process Kafka (kfake) to three in-process hubs of one
// consumer group, and kills one of them at 2 s: no reading may be lost;
// the topic's partitions split the stations between the hubs, so each
// holds only its share until one dies.
func TestLoadKafka(t *testing.T) {
	kc, url, err := startKafka(3)
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	const stations = 1000
	res := runLoad(t, config{Broker: url, Hubs: 3, Stations: stations, Rate: 1, Duration: 5 * time.Second, Humidity: true,
		Drain: 20 * time.Second, Dir: t.TempDir(), KillAt: 2 * time.Second})
	if res.Lost != 0 || res.Offered != stations*2*5 {
		t.Fatalf("offered %d of %d, lost %d", res.Offered, stations*2*5, res.Lost)
	}
	if res.Hubs[0].Stations == 0 || res.Hubs[0].Stations >= stations {
		t.Errorf("the killed hub held %d of %d stations; want its partitions' share", res.Hubs[0].Stations, stations)
	}
	if res.Hubs[1].StoredAX == 0 || res.Hubs[2].StoredAX == 0 {
		t.Errorf("the surviving hubs stored %d and %d", res.Hubs[1].StoredAX, res.Hubs[2].StoredAX)
	}
}

// TestLoadChildren runs the hubs as child processes with a Go memory
// limit (--hub-memory-limit): each hub's report carries the limit its
// process ran with, and its CPU and RSS are its own.
func TestLoadChildren(t *testing.T) {
	// Under qemu-user (ci/targets.sh) the test binary cannot exec itself:
	// AIMDB_TEST_EXEC names the emulator to run the children with.
	res := runNATS(t, config{Hubs: 2, Stations: 200, Rate: 1, Duration: 3 * time.Second, Humidity: true,
		Children: true, Drain: 10 * time.Second, HubMemLimit: "96MiB", ChildExec: strings.Fields(os.Getenv("AIMDB_TEST_EXEC"))})
	if res.Lost != 0 || res.Offered == 0 {
		t.Fatalf("offered %d, lost %d", res.Offered, res.Lost)
	}
	for _, h := range res.Hubs {
		if h.MemLimitMiB != 96 {
			t.Errorf("%s ran with a memory limit of %v MiB; want 96", h.Name, h.MemLimitMiB)
		}
		if h.MaxRSSMiB <= 0 || h.CPUSec <= 0 {
			t.Errorf("%s: RSS %v MiB, CPU %v s; want its own process's", h.Name, h.MaxRSSMiB, h.CPUSec)
		}
	}
}

func TestMemLimitSyntax(t *testing.T) {
	for s, want := range map[string]bool{"224MiB": true, "1GiB": true, "1048576": true, "512KiB": true, "3TiB": true, "100B": true,
		"": false, "0MiB": false, "12XB": false, "1.5GiB": false, "-1MiB": false, "MiB": false, "off": false, "224mib": false} {
		if got := validMemLimit(s); got != want {
			t.Errorf("validMemLimit(%q) = %v; want %v", s, got, want)
		}
	}
}

// runNATS runs the load c through a NATS server with JetStream started
// in this process.
func runNATS(t *testing.T, c config) result {
	t.Helper()
	dir := t.TempDir()
	srv, url, err := startServer(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	c.Broker, c.Dir = url, dir
	return runLoad(t, c)
}

// runLoad runs the load c, logging its report; an error fails t.
func runLoad(t *testing.T, c config) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := run(ctx, c, func(s string) { t.Log(s) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", res)
	return res
}

// TestLoadShort offers 2000 stations × 2 readings per second for 10 s
// through an in-process NATS JetStream to three in-process hubs of one
// group: no reading may be lost, and every hub's AimX counts what it
// stored. Timings are reported, never checked.
func TestLoadShort(t *testing.T) {
	if testing.Short() {
		t.Log("-short: 200 stations for 3 s")
	}
	stations, duration := 2000, 10*time.Second
	if testing.Short() {
		stations, duration = 200, 3*time.Second
	}
	res := runNATS(t, config{Hubs: 3, Stations: stations, Rate: 1, Duration: duration, Humidity: true,
		Drain: 30 * time.Second})
	want := uint64(stations * 2 * int(duration/time.Second))
	if res.Offered+res.PubFailed != want {
		t.Errorf("offered %d + failed %d; want the plan's %d readings", res.Offered, res.PubFailed, want)
	}
	if res.Lost != 0 {
		t.Fatalf("%d of %d offered readings lost", res.Lost, res.Offered)
	}
	if res.StoredAimX < res.Offered {
		t.Errorf("the hubs' AimX counts %d stored; want at least the %d offered", res.StoredAimX, res.Offered)
	}
	for _, h := range res.Hubs {
		if h.StoredAX == 0 {
			t.Errorf("%s stored nothing; the group should share the stations", h.Name)
		}
	}
}

// TestLoadHubKilled kills one of three hubs (its connections cut, as a
// dead process's are) while 1000 stations send: the readings it had not
// acknowledged go to the other two, and none of the plan is lost.
func TestLoadHubKilled(t *testing.T) {
	res := runNATS(t, config{Hubs: 3, Stations: 1000, Rate: 1, Duration: 8 * time.Second, Humidity: true,
		Drain: 10 * time.Second, KillAt: 3 * time.Second})
	if res.Lost != 0 {
		t.Fatalf("%d of %d offered readings lost after a hub was killed", res.Lost, res.Offered)
	}
	if res.Offered == 0 || res.Hubs[1].StoredAX == 0 || res.Hubs[2].StoredAX == 0 {
		t.Fatalf("offered %d; the surviving hubs stored %d and %d", res.Offered, res.Hubs[1].StoredAX, res.Hubs[2].StoredAX)
	}
}
