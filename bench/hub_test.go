package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
)

// BenchmarkHub measures the CPU a weather hub spends per message: 1 000
// stations, each publishing a temperature and a humidity reading 10 times
// a second at QoS 1 (20 000 messages/s offered), through mosquitto. The
// stations are a child process (this test binary, re-run), so the
// process measured holds only the hub; the broker is a process of its
// own too. cpu-ns/msg is the process's user and system CPU over the
// measured window divided by the messages the hub received in it;
// allocs/msg its allocations likewise. An operation is 50 ms of the
// offered load, so ns/op and allocs/op say nothing.
//
// impl=aimdb is mesh.Hub, the weather hub's families (decode and check
// each reading against its contract, store it in the station's ring of
// 100, derive the dew point with JoinFamily2 into a third ring), with a
// tap on the dew points that counts them, as the hub command's logging
// tap reads them. impl=paho is the same hub written on raw paho.golang:
// the same two subscriptions, the same contract codecs and topic parser,
// per-station rings of 100 under a mutex, the dew point computed in the
// callback, and a counter for the tap.
func BenchmarkHub(b *testing.B) {
	url := startMosquitto(b)
	const stations, hz = 1_000, 10
	b.Run(fmt.Sprintf("stations=%d/impl=aimdb", stations), func(b *testing.B) {
		db := mqttDB(b, url)
		hub, err := mesh.Hub(db, &mesh.HubOptions{MaxStations: stations})
		if err != nil {
			b.Fatal(err)
		}
		var dews atomic.Uint64
		hub.DewPoint.Tap(func(ctx context.Context, s *aimdb.FamilySubscription[contracts.DewPoint]) error {
			for {
				if _, _, err := s.Recv(ctx); err != nil {
					return nil
				}
				dews.Add(1)
			}
		}, aimdb.Named("count"))
		// The families' links share the connection of this record's.
		ready, _ := aimdb.Register(db, aimdb.NewKey[int64]("bench.ready"), aimdb.Latest())
		ready.LinkFrom("mqtt://bench/ready?qos=1", intCodec{})
		runConnected(b, db, "bench.ready")
		stored := func() uint64 {
			var n uint64
			for _, f := range db.Families() {
				for _, l := range f.Links {
					n += l.Received
				}
			}
			return n
		}
		measureHub(b, url, stations, hz, stored, dews.Load)
	})
	b.Run(fmt.Sprintf("stations=%d/impl=paho", stations), func(b *testing.B) {
		h := newRawHub(stations)
		sub := pahoClient(b, url, h.onPublish)
		subscribe(b, sub, 1, "station/+/temperature", "station/+/humidity")
		measureHub(b, url, stations, hz, h.received.Load, h.dews.Load)
	})
}

// measureHub starts the stations and waits until the hub stores their
// readings, then measures: each iteration of b.Loop is 50 ms of the
// offered load. received counts the messages the hub took in, dews the
// dew points its tap saw.
func measureHub(b *testing.B, url string, stations, hz int, received, dews func() uint64) {
	b.Helper()
	startStations(b, url, stations, hz)
	// Warm up: every station has its records before the window opens.
	for deadline := time.Now().Add(time.Minute); received() < uint64(4*stations); {
		if time.Now().After(deadline) {
			b.Fatalf("the hub received %d messages in a minute", received())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	n0, d0, cpu0, m0 := received(), dews(), cpuTime(), ms.Mallocs
	t0 := time.Now()
	for b.Loop() {
		time.Sleep(50 * time.Millisecond)
	}
	n, d, cpu := received()-n0, dews()-d0, cpuTime()-cpu0
	runtime.ReadMemStats(&ms)
	el := time.Since(t0)
	if n == 0 || d == 0 {
		b.Fatalf("the hub received %d messages and derived %d dew points in %v", n, d, el)
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/msg")
	b.ReportMetric(float64(n)/el.Seconds(), "msgs/s")
	b.ReportMetric(float64(d)/float64(n), "dew/msg")
	b.ReportMetric(float64(ms.Mallocs-m0)/float64(n), "allocs/msg")
}

// cpuTime is the user and system CPU time of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// stationsEnv, when set, makes this test binary the stations of
// BenchmarkHub: url, station count and rate, space-separated.
const stationsEnv = "AIMDB_BENCH_HUB_STATIONS"

func TestMain(m *testing.M) {
	if spec := os.Getenv(stationsEnv); spec != "" {
		var url string
		var stations, hz int
		if _, err := fmt.Sscan(spec, &url, &stations, &hz); err != nil {
			fmt.Fprintf(os.Stderr, "%s=%q: %v\n", stationsEnv, spec, err)
			os.Exit(2)
		}
		if err := runStations(url, stations, hz); err != nil {
			fmt.Fprintln(os.Stderr, "stations:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startStations runs the stations as a child process until b ends.
func startStations(b *testing.B, url string, stations, hz int) {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %d", stationsEnv, url, stations, hz))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
}

// runStations publishes, for each of stations stations, a temperature
// and a humidity reading hz times a second at QoS 1 (not waiting for
// each PUBACK), until killed.
func runStations(url string, stations, hz int) error {
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "mqtt://"))
	if err != nil {
		return err
	}
	pub := paho.NewClient(paho.ClientConfig{Conn: packets.NewThreadSafeConn(conn), OnClientError: func(error) {}})
	ctx := context.Background()
	if _, err := pub.Connect(ctx, &paho.Connect{ClientID: "bench-stations", CleanStart: true, KeepAlive: 30}); err != nil {
		return err
	}
	async := paho.PublishOptions{Method: paho.PublishMethod_AsyncSend}
	rate := 2 * stations * hz
	topics := make([]string, 2*stations)
	for i := range stations {
		topics[2*i] = "station/" + strconv.Itoa(i+1) + "/temperature"
		topics[2*i+1] = "station/" + strconv.Itoa(i+1) + "/humidity"
	}
	t0 := time.Now()
	var buf []byte
	for sent := 0; ; {
		due := int(time.Since(t0).Seconds() * float64(rate))
		for ; sent < due; sent++ {
			i := sent % len(topics)
			ts := time.Now().UnixMilli()
			if i%2 == 0 {
				buf = fmt.Appendf(buf[:0], `{"schema_version":2,"celsius":%.2f,"timestamp":%d}`, 15+float64(i%20), ts)
			} else {
				buf = fmt.Appendf(buf[:0], `{"percent":%.1f,"timestamp":%d}`, 40+float64(i%50), ts)
			}
			p := &paho.Publish{Topic: topics[i], QoS: 1, Payload: append([]byte(nil), buf...)}
			if _, err := pub.PublishWithOptions(ctx, p, async); err != nil {
				return err
			}
		}
		time.Sleep(time.Millisecond)
	}
}

// rawHub is the weather hub on raw paho: per station, rings of the last
// 100 temperatures, humidities and dew points.
type rawHub struct {
	mu       sync.Mutex
	stations map[int]*rawStation
	max      int
	received atomic.Uint64
	rejected atomic.Uint64
	dews     atomic.Uint64
}

type rawStation struct {
	temp   ring[contracts.Temperature]
	hum    ring[contracts.Humidity]
	dew    ring[contracts.DewPoint]
	hasT   bool
	hasH   bool
	lastT  contracts.Temperature
	lastH  contracts.Humidity
	counts [2]uint64 // received per measurement
}

// ring keeps the last len(v) values.
type ring[T any] struct {
	v [mesh.RingSize]T
	n uint64
}

func (r *ring[T]) push(v T) { r.v[r.n%uint64(len(r.v))] = v; r.n++ }

func newRawHub(max int) *rawHub { return &rawHub{stations: map[int]*rawStation{}, max: max} }

func (h *rawHub) onPublish(p *paho.Publish) {
	h.received.Add(1)
	slot, kind, err := contracts.ParseTopic(p.Topic)
	if err != nil {
		h.rejected.Add(1)
		return
	}
	var t contracts.Temperature
	var hu contracts.Humidity
	if kind == contracts.KindTemperature {
		t, err = contracts.TemperatureCodec.Decode(p.Payload)
	} else {
		hu, err = contracts.HumidityCodec.Decode(p.Payload)
	}
	if err != nil {
		h.rejected.Add(1)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.stations[slot]
	if st == nil {
		if len(h.stations) >= h.max {
			h.rejected.Add(1)
			return
		}
		st = &rawStation{}
		h.stations[slot] = st
	}
	if kind == contracts.KindTemperature {
		st.temp.push(t)
		st.lastT, st.hasT = t, true
		st.counts[0]++
	} else {
		st.hum.push(hu)
		st.lastH, st.hasH = hu, true
		st.counts[1]++
	}
	if st.hasT && st.hasH {
		st.dew.push(contracts.DewPointOf(st.lastT, st.lastH))
		h.dews.Add(1)
	}
}
