package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
)

// config configures a load run.
type config struct {
	Broker   string        // nats://host:port
	Hubs     int           // hubs sharing the stations (one group)
	Stations int           // simulated stations
	Rate     float64       // readings per second per station and kind
	Duration time.Duration // how long the stations send
	Humidity bool          // also send humidity (two readings per station and period)
	Children bool          // hubs as child processes (this program, re-run with -hub-child)
	Drain    time.Duration // how long to wait for the hubs to store the last readings
	Dir      string        // AimX sockets and child reports
	KillAt   time.Duration // if positive, hub 0 dies this long after the stations start (in-process hubs only)
	// HubMemLimit, if set, is each child hub's GOMEMLIMIT (Children only).
	HubMemLimit string
	// ChildExec, if set, runs the child hubs through this command (an
	// emulator, for a program that cannot exec itself directly).
	ChildExec []string
}

// hubStat is one hub's resources and counts.
type hubStat struct {
	Name      string  `json:"name"`
	StoredAX  uint64  `json:"stored_aimx"` // Σ produced_count of its station records, over AimX
	Stations  int     `json:"stations"`    // station temperature records it holds
	CPUSec    float64 `json:"cpu_seconds"`
	CPUPct    float64 `json:"cpu_percent"` // of one core, over the run
	MaxRSSMiB float64 `json:"max_rss_mib"`
	// MemLimitMiB is the hub's Go memory limit (--hub-memory-limit), 0
	// for none.
	MemLimitMiB float64 `json:"mem_limit_mib,omitempty"`
}

// result is the report of a run.
type result struct {
	Offered     uint64    `json:"offered"` // readings the stream acknowledged
	PubFailed   uint64    `json:"publish_failed"`
	StoredAimX  uint64    `json:"stored_aimx"` // summed over the hubs
	Distinct    uint64    `json:"distinct"`    // offered readings stored by some hub
	Lost        uint64    `json:"lost"`        // offered readings no hub stored
	Duplicated  uint64    `json:"duplicated"`  // extra stores of a reading
	Foreign     uint64    `json:"foreign"`
	Throughput  float64   `json:"throughput_per_s"` // offered / sending time
	P50         float64   `json:"p50_ms"`
	P99         float64   `json:"p99_ms"`
	Max         float64   `json:"max_ms"`
	SendSeconds float64   `json:"send_seconds"`
	Hubs        []hubStat `json:"hubs"`
	InProcess   bool      `json:"in_process"` // hub CPU and RSS are the whole process's
	Killed      bool      `json:"hub0_killed,omitempty"`
}

func (r result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "offered %d (publish failures %d), stored %d (AimX, summed over %d hubs), distinct %d, lost %d, duplicated %d\n",
		r.Offered, r.PubFailed, r.StoredAimX, len(r.Hubs), r.Distinct, r.Lost, r.Duplicated)
	fmt.Fprintf(&b, "throughput %.0f readings/s over %.1f s; end-to-end latency p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
		r.Throughput, r.SendSeconds, r.P50, r.P99, r.Max)
	for _, h := range r.Hubs {
		fmt.Fprintf(&b, "  %s: %d stored (AimX), %d stations, CPU %.1f s (%.0f%% of a core), max RSS %.0f MiB",
			h.Name, h.StoredAX, h.Stations, h.CPUSec, h.CPUPct, h.MaxRSSMiB)
		if h.MemLimitMiB > 0 {
			fmt.Fprintf(&b, " (Go memory limit %.0f MiB)", h.MemLimitMiB)
		}
		b.WriteString("\n")
	}
	if r.Killed {
		b.WriteString("  (hub-0 was killed: its counts are what it stored before)\n")
	}
	if r.InProcess {
		b.WriteString("  (hubs in this process: CPU and RSS are the whole process's, publisher included)\n")
	}
	return b.String()
}

// settle is how long the stored sum must stay unchanged, once it reached
// the offered count, for the load to end: longer than the time after
// which a reading handed to a hub that did not store it goes to another
// hub — on NATS the connector's ack wait (nats.Options.AckWait, 5 s), on
// Kafka the group's session timeout (kafka.Options.SessionTimeout, 10 s).
func settle(broker string) time.Duration {
	if mesh.EngineOf(broker) == mesh.Kafka {
		return 12 * time.Second
	}
	return 6 * time.Second
}

// a hubProc is one running hub.
type hubProc struct {
	name   string
	aimx   string
	cancel context.CancelFunc
	cut    *cutter
	done   chan struct{}
	report hubReport
	err    error
	cmd    *exec.Cmd
	file   string
}

// run runs the load: hubs, then stations, then the report.
func run(ctx context.Context, c config, stderr func(string)) (result, error) {
	var res result
	periodMs := int64(math.Round(1000 / c.Rate))
	if periodMs < 1 || 1000%periodMs != 0 && periodMs < 1000 {
		return res, fmt.Errorf("rate %v: want a rate whose period is a whole number of milliseconds", c.Rate)
	}
	kinds := 1
	if c.Humidity {
		kinds = 2
	}
	readings := int(c.Duration.Milliseconds() / periodMs)
	// The plan starts a little later, once the hubs subscribed.
	p := plan{Stations: c.Stations, Kinds: kinds, Readings: readings, PeriodMs: periodMs}

	pub, err := newPublisher(ctx, c.Broker)
	if err != nil {
		return res, err
	}
	defer pub.close()

	// Hubs need the plan's start; it is fixed before they start.
	p.StartMs = time.Now().Add(3*time.Second).UnixMilli() + 1000
	hubs := make([]*hubProc, c.Hubs)
	hctx, hcancel := context.WithCancel(context.Background())
	defer hcancel()
	for i := range hubs {
		h := &hubProc{name: "hub-" + strconv.Itoa(i), aimx: "unix://" + filepath.Join(c.Dir, "hub"+strconv.Itoa(i)+".sock"), done: make(chan struct{})}
		hubs[i] = h
		if c.Children {
			if err := startChild(h, c, p); err != nil {
				return res, err
			}
			continue
		}
		ctx, cancel := context.WithCancel(hctx)
		h.cancel, h.cut = cancel, &cutter{}
		go func() {
			defer close(h.done)
			h.report, h.err = runHub(ctx, hubConfig{Broker: c.Broker, Group: "load", AimX: h.aimx, Plan: p, Cut: h.cut})
		}()
	}
	defer func() {
		for _, h := range hubs {
			if h != nil {
				stopHub(h)
			}
		}
	}()
	// Every hub answers AimX and has its consumers (the stream's
	// consumers of the group exist) before the stations start.
	for _, h := range hubs {
		if err := waitAimX(ctx, h.aimx, 60*time.Second); err != nil {
			return res, fmt.Errorf("%s: %w", h.name, err)
		}
	}
	cpu0 := make([]float64, len(hubs))
	for i, h := range hubs {
		cpu0[i] = cpuSeconds(h.pid())
	}
	stderr(fmt.Sprintf("load: %d stations × %d kinds at %.3g Hz for %v through %s to %d hubs", c.Stations, kinds, c.Rate, c.Duration, c.Broker, c.Hubs))

	// The stations: one publisher, each reading on time.
	failed := make([]bool, p.size())
	var offered, pubFailed atomic.Uint64
	for time.Now().UnixMilli() < p.StartMs {
		time.Sleep(time.Millisecond)
	}
	t0 := time.Now()
	if c.KillAt > 0 && hubs[0].cut != nil {
		kill := time.AfterFunc(c.KillAt, func() {
			hubs[0].cut.kill()
			stderr(fmt.Sprintf("load: %s killed at %v", hubs[0].name, c.KillAt))
		})
		defer kill.Stop()
	}
	buf := make([]byte, 0, 160)
	kindNames := []string{"temperature", "humidity"}
	for k := 0; k < p.Readings && ctx.Err() == nil; k++ {
		for s := 0; s < p.Stations; s++ {
			ts := p.StartMs + int64(k)*p.PeriodMs + p.offset(s)
			if wait := time.Until(time.UnixMilli(ts)); wait > time.Millisecond {
				time.Sleep(wait)
			}
			for kind := range kinds {
				buf = buf[:0]
				if kind == 0 {
					buf = fmt.Appendf(buf, `{"schema_version":2,"celsius":%.2f,"timestamp":%d,"seq":%d,"sent_ns":%d}`,
						15+float64(s%20), ts, k, time.Now().UnixNano())
				} else {
					buf = fmt.Appendf(buf, `{"percent":%.1f,"timestamp":%d,"seq":%d,"sent_ns":%d}`,
						40+float64(s%50), ts, k, time.Now().UnixNano())
				}
				idx := p.index(s, kind, uint64(ts))
				err := pub.publish(s, kindNames[kind], buf, func(err error) {
					if err != nil {
						failed[idx] = true
						pubFailed.Add(1)
						return
					}
					offered.Add(1)
				})
				if err != nil {
					failed[idx] = true
					pubFailed.Add(1)
				}
			}
		}
	}
	pub.flush()

	sendTime := time.Since(t0)
	res.Offered, res.PubFailed = offered.Load(), pubFailed.Load()
	res.SendSeconds = sendTime.Seconds()
	res.Throughput = float64(res.Offered) / sendTime.Seconds()

	// Drain: until the hubs' AimX shows every offered reading stored, or
	// nothing changes for c.Drain.
	var last uint64
	lastChange := time.Now()
	for {
		sum := uint64(0)
		for i, h := range hubs {
			st, n, err := storedAimX(ctx, h.aimx)
			if err != nil {
				return res, fmt.Errorf("%s: AimX: %w", h.name, err)
			}
			if len(res.Hubs) < len(hubs) {
				res.Hubs = append(res.Hubs, hubStat{Name: h.name})
			}
			res.Hubs[i].StoredAX, res.Hubs[i].Stations = st, n
			sum += st
		}
		res.StoredAimX = sum
		if sum != last {
			last, lastChange = sum, time.Now()
		}
		// The sum counts a reading stored twice (redelivered after the
		// ack wait, to another hub) twice, so reaching the offered count
		// does not mean every reading was stored: wait until it is quiet
		// for longer than the ack wait too, when no redelivery is due.
		quiet := time.Since(lastChange)
		if sum >= res.Offered && quiet > settle(c.Broker) || quiet > c.Drain || ctx.Err() != nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	elapsed := time.Since(t0).Seconds()
	for i, h := range hubs {
		res.Hubs[i].CPUSec = cpuSeconds(h.pid()) - cpu0[i]
		res.Hubs[i].CPUPct = 100 * res.Hubs[i].CPUSec / elapsed
		res.Hubs[i].MaxRSSMiB = maxRSSMiB(h.pid())
	}
	res.InProcess = !c.Children
	res.Killed = c.KillAt > 0 && !c.Children

	// Stop the hubs; merge what they stored.
	hist := make([]uint64, histMax+1)
	union := make([]int, p.size())
	for _, h := range hubs {
		stopHub(h)
		if h.err != nil {
			return res, fmt.Errorf("%s: %w", h.name, h.err)
		}
		if len(h.report.Counts) != p.size() {
			return res, fmt.Errorf("%s: report of %d readings; want %d", h.name, len(h.report.Counts), p.size())
		}
		for i, n := range h.report.Counts {
			union[i] += int(n)
		}
		for i, n := range h.report.Hist {
			hist[i] += n
		}
		res.Foreign += h.report.Foreign
		if l := h.report.MemLimit; c.Children && l > 0 && l < math.MaxInt64 {
			for i := range res.Hubs {
				if res.Hubs[i].Name == h.name {
					res.Hubs[i].MemLimitMiB = float64(l) / (1 << 20)
				}
			}
		}
	}
	for i, n := range union {
		switch {
		case failed[i]:
		case n == 0:
			res.Lost++
		default:
			res.Distinct++
			res.Duplicated += uint64(n - 1)
		}
	}
	res.P50, res.P99, res.Max = quantile(hist, 0.5), quantile(hist, 0.99), quantile(hist, 1)
	return res, nil
}

// quantile returns the q quantile of a histogram of milliseconds.
func quantile(hist []uint64, q float64) float64 {
	var total uint64
	for _, n := range hist {
		total += n
	}
	if total == 0 {
		return 0
	}
	want := uint64(math.Ceil(q * float64(total)))
	var acc uint64
	for ms, n := range hist {
		acc += n
		if acc >= want {
			return float64(ms)
		}
	}
	return float64(len(hist) - 1)
}

func (h *hubProc) pid() int {
	if h.cmd != nil && h.cmd.Process != nil {
		return h.cmd.Process.Pid
	}
	return os.Getpid()
}

// stopHub stops a hub and waits for its report.
func stopHub(h *hubProc) {
	if h.cmd != nil {
		if h.cmd.ProcessState == nil {
			_ = h.cmd.Process.Signal(syscall.SIGTERM)
		}
		<-h.done
		return
	}
	if h.cancel != nil {
		h.cancel()
	}
	<-h.done
}

// startChild runs a hub as a child process: this program with -hub-child.
func startChild(h *hubProc, c config, p plan) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	h.file = filepath.Join(c.Dir, h.name+".json")
	pj, _ := json.Marshal(p)
	args := []string{exe, "-hub-child", "-broker", c.Broker, "-group", "load", "-aimx", h.aimx, "-plan", string(pj), "-report", h.file}
	if len(c.ChildExec) > 0 {
		args = append(slices.Clone(c.ChildExec), args...)
	}
	h.cmd = exec.Command(args[0], args[1:]...)
	h.cmd.Stderr = os.Stderr
	if c.HubMemLimit != "" {
		h.cmd.Env = append(os.Environ(), "GOMEMLIMIT="+c.HubMemLimit)
	}
	if err := h.cmd.Start(); err != nil {
		return err
	}
	go func() {
		defer close(h.done)
		if err := h.cmd.Wait(); err != nil {
			h.err = fmt.Errorf("child: %w", err)
			return
		}
		b, err := os.ReadFile(h.file)
		if err == nil {
			err = json.Unmarshal(b, &h.report)
		}
		h.err = err
	}()
	return nil
}

// waitAimX waits until an AimX endpoint answers record.list.
func waitAimX(ctx context.Context, ep string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		cl, err := aimx.Dial(ctx, ep, nil)
		if err == nil {
			_, err = aimx.Get(ctx, cl, storedKey)
			_ = cl.Close()
			if err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("AimX %s did not answer: %w", ep, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// storedAimX reads a hub's load.stored record over AimX: the sum of its
// station records' produced_count, and its number of stations.
func storedAimX(ctx context.Context, ep string) (stored uint64, stations int, err error) {
	cl, err := aimx.Dial(ctx, ep, nil)
	if err != nil {
		return 0, 0, err
	}
	defer cl.Close()
	c, err := aimx.Get(ctx, cl, storedKey)
	return c.Produced, c.Stations, err
}

// cpuSeconds returns the user and system CPU time of a process, from
// /proc/<pid>/stat.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+2:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// maxRSSMiB returns the peak resident set of a process (VmHWM).
func maxRSSMiB(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
