// Command load offers the weather mesh a load: N simulated stations, each
// sending a reading every 1/R seconds, from one process (a cheap JetStream
// publisher or Kafka producer, no DB per station), to hubs that share the
// stations in one NATS queue group or Kafka consumer group, and reports
// what the hubs stored.
//
//	go run ./examples/weather-mesh/load --stations 10000 --rate 1 --duration 60s --hubs 3 --children --hub-memory-limit 224MiB
//	go run ./examples/weather-mesh/load --broker nats://10.0.0.5:4222 ...
//	go run ./examples/weather-mesh/load --stations 2000 --duration 30s --kill-at 10s
//	go run ./examples/weather-mesh/load --engine kafka --stations 2000 --duration 30s
//	go run ./examples/weather-mesh/load --broker kafka://10.0.0.6:9092 ...
//
// Each payload is the mesh's JSON (contracts.Temperature or Humidity)
// with a sequence number and the send time added (the hubs ignore the
// extra fields); the reading's timestamp is its scheduled send time, so
// each hub tracks which readings of the plan it stored and how late. The
// report: offered (acknowledged by the stream), stored (summed over the
// hubs by querying their AimX), lost (readings of the plan no hub stored),
// duplicated, throughput, end-to-end p50/p99 (scheduled send to stored),
// and per hub CPU and peak RSS. Without --broker it starts a NATS server
// with JetStream in this process, storing in a temporary directory, or
// with --engine kafka an in-process Kafka (kfake) whose topic station has
// four partitions per hub. On Kafka the readings are keyed <n>/<kind>
// and partitioned by station, as the mesh's stations publish them.
// With --children the hubs are child processes (this program, re-run as
// -hub-child), so their CPU and RSS are their own.
//
// It exits with status 1 if any reading was lost.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/aimdb-go/aimdb/examples/weather-mesh/internal/cmdline"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/twmb/franz-go/pkg/kfake"
)

func main() { cmdline.Main("load", runMain) }

func runMain(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	broker := fs.String("broker", "", "the engine's `URL`: nats://host:port (JetStream) or kafka://host:port; empty starts one in this process (see --engine)")
	engine := fs.String("engine", "", "without --broker, the engine started in this process: nats (a NATS server with JetStream, the default) or kafka (kfake)")
	hubs := fs.Int("hubs", 3, "hubs sharing the stations")
	stations := fs.Int("stations", 10000, "simulated stations")
	rate := fs.Float64("rate", 1, "readings per second per station and kind")
	duration := fs.Duration("duration", 60*time.Second, "how long the stations send")
	humidity := fs.Bool("humidity", true, "send humidity too (two readings per station and period)")
	children := fs.Bool("children", false, "run the hubs as child processes")
	drain := fs.Duration("drain", 15*time.Second, "after sending, wait until no hub stores anything for this long")
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	memLimit := fs.String("hub-memory-limit", "", "with --children, run each hub with this Go memory limit (GOMEMLIMIT syntax: 224MiB, 1GiB); empty leaves the runtime's default")
	killAt := fs.Duration("kill-at", 0, "kill hub 0 this long after the stations start (cut its connections; in-process hubs only)")
	// The hub of a child process.
	hubChild := fs.Bool("hub-child", false, "internal: run one hub")
	group := fs.String("group", "load", "internal: the hub's group")
	aimxEP := fs.String("aimx", "", "internal: the hub's AimX endpoint")
	planJSON := fs.String("plan", "", "internal: the plan")
	reportFile := fs.String("report", "", "internal: where the hub writes what it stored")
	if err := cmdline.Parse(fs, args, "load [--broker URL] [--hubs n] [--stations n] [--rate hz] [--duration d] [--children] [--json]", stderr); err != nil {
		return err
	}
	if *hubChild {
		var p plan
		if err := json.Unmarshal([]byte(*planJSON), &p); err != nil {
			return cmdline.Usage(fmt.Errorf("-plan: %w", err))
		}
		rep, err := runHub(ctx, hubConfig{Broker: *broker, Group: *group, AimX: *aimxEP, Plan: p})
		if err != nil {
			return err
		}
		rep.MemLimit = debug.SetMemoryLimit(-1)
		b, _ := json.Marshal(rep)
		return os.WriteFile(*reportFile, b, 0o600)
	}
	if *hubs < 1 || *stations < 1 || *rate <= 0 || *duration <= 0 {
		return cmdline.Usage(errors.New("--hubs, --stations, --rate and --duration must be positive"))
	}
	if *killAt > 0 && (*children || *hubs < 2) {
		return cmdline.Usage(errors.New("--kill-at needs in-process hubs (no --children) and at least 2 of them"))
	}
	switch e := mesh.EngineOf(*broker); {
	case *engine != "" && *engine != "nats" && *engine != "kafka":
		return cmdline.Usage(fmt.Errorf("--engine %q: want nats or kafka", *engine))
	case *broker != "" && *engine != "":
		return cmdline.Usage(errors.New("--engine names the engine started without --broker; --broker's URL names its own"))
	case *broker != "" && e != mesh.NATS && e != mesh.Kafka:
		return cmdline.Usage(fmt.Errorf("--broker %q: want a nats:// or kafka:// URL", *broker))
	}
	if *memLimit != "" && !*children {
		return cmdline.Usage(errors.New("--hub-memory-limit needs --children (in-process hubs share the process's memory)"))
	}
	if *memLimit != "" && !validMemLimit(*memLimit) {
		return cmdline.Usage(fmt.Errorf("--hub-memory-limit %q: want a size such as 224MiB or 1GiB", *memLimit))
	}
	dir, err := os.MkdirTemp("", "weather-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	switch {
	case *broker == "" && *engine == "kafka":
		kc, url, err := startKafka(*hubs)
		if err != nil {
			return err
		}
		defer kc.Close()
		*broker = url
	case *broker == "":
		srv, url, err := startServer(dir)
		if err != nil {
			return err
		}
		defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
		*broker = url
	}
	res, err := run(ctx, config{Broker: *broker, Hubs: *hubs, Stations: *stations, Rate: *rate, Duration: *duration,
		Humidity: *humidity, Children: *children, Drain: *drain, Dir: dir, KillAt: *killAt, HubMemLimit: *memLimit}, func(s string) { fmt.Fprintln(stderr, s) })
	if err != nil {
		return err
	}
	if *jsonOut {
		b, _ := json.MarshalIndent(res, "", "  ")
		fmt.Fprintln(os.Stdout, string(b))
	} else {
		fmt.Fprint(os.Stdout, res.String())
	}
	if res.Lost > 0 {
		return fmt.Errorf("%d readings lost", res.Lost)
	}
	return nil
}

// kafkaPartitions is how many partitions the in-process Kafka gives the
// topic station per hub: a hub that dies leaves several partitions,
// spread over the others.
const kafkaPartitions = 4

// startKafka starts an in-process Kafka (kfake) with the topic station of
// kafkaPartitions partitions per hub.
func startKafka(hubs int) (*kfake.Cluster, string, error) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(kafkaPartitions*max(hubs, 1)), "station"))
	if err != nil {
		return nil, "", fmt.Errorf("kfake: %w", err)
	}
	return kc, "kafka://" + kc.ListenAddrs()[0], nil
}

// startServer starts a NATS server with JetStream storing under dir.
func startServer(dir string) (*server.Server, string, error) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true,
		JetStream: true, StoreDir: dir + "/js", MaxPayload: 1 << 20})
	if err != nil {
		return nil, "", err
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, "", errors.New("nats-server did not start")
	}
	return srv, srv.ClientURL(), nil
}

// validMemLimit reports whether s is a size in GOMEMLIMIT's syntax: a
// whole number of bytes with an optional B, KiB, MiB, GiB or TiB suffix.
func validMemLimit(s string) bool {
	for _, unit := range []string{"TiB", "GiB", "MiB", "KiB", "B"} {
		if n, ok := strings.CutSuffix(s, unit); ok {
			s = n
			break
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return err == nil && v > 0
}
