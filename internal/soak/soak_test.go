//go:build soak && !js && !wasip1

package soak_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
)

// soakFor is how long the hostile load runs; AIMDB_SOAK_SECONDS changes
// it (the issue bounds the whole test to two minutes).
func soakFor(t *testing.T) time.Duration {
	if s := os.Getenv("AIMDB_SOAK_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("AIMDB_SOAK_SECONDS=%q: want a positive number of seconds", s)
		}
		return time.Duration(n) * time.Second
	}
	return 45 * time.Second
}

type reading struct {
	Celsius float64 `json:"celsius"`
	Seq     int     `json:"seq"`
}

func fds(t *testing.T) int {
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Logf("fds: %v", err)
		return -1
	}
	return len(es)
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestSoak runs one hub — a family of 200 station records written 2 000
// times a second, served over AimX on TCP — against, at once: 200
// connection churns per second, 50 idle sockets that never say hello, 20
// wildcard subscribers, a client that subscribes to everything and never
// reads, and a flood of malformed frames. A well-behaved client reads a
// record every 10 ms throughout. The test reports its figures and fails
// only on a loss of service (the well-behaved client's calls failing) or
// unbounded growth (goroutines, file descriptors or heap not returning
// near their baseline once the load stops), never on a timing.
func TestSoak(t *testing.T) {
	dur := soakFor(t)
	db := aimdb.New(nil)
	fam, err := aimdb.RegisterFamily(db, aimdb.NewFamily[reading]("station.{id}.temperature"), aimdb.Ring(16))
	if err != nil {
		t.Fatal(err)
	}
	fam.RemoteAccess(codec.JSON[reading]{})
	aimdbtest.Start(t, db)
	for i := range 200 {
		if _, err := fam.Instance(strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	// 20 subscribers, the stuck client and the good one: 22 authenticated
	// connections, over the default cap of 16.
	srv := aimx.NewServer(db, &aimx.ServerOptions{MaxConnections: 32})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	endpoint := "tcp://" + addr
	sctx, stopServer := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln, aimx.LengthPrefixed) }()
	t.Cleanup(func() {
		stopServer()
		<-served
	})

	// Baselines, with the hub serving and its producer not yet started.
	time.Sleep(100 * time.Millisecond)
	baseG, baseFD, baseHeap := runtime.NumGoroutine(), fds(t), heap()

	ctx, stop := context.WithTimeout(context.Background(), dur)
	defer stop()
	var wg sync.WaitGroup
	var (
		produced, churns, churnFail, malformed atomic.Int64
		subEvents                              atomic.Int64
	)

	// The producer: 2 000 values a second over the 200 stations.
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for k := range 2 {
				id := strconv.Itoa((2*n + k) % 200)
				_ = aimdb.Produce(db, fam.Key().Instance(id), reading{Celsius: 20, Seq: n})
			}
			produced.Add(2)
		}
	})
	// 200 connection churns a second: connect, then close at once.
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				churnFail.Add(1)
				continue
			}
			churns.Add(1)
			_ = c.Close()
		}
	})
	// 50 idle sockets that never send anything.
	var idle []net.Conn
	for range 50 {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			idle = append(idle, c)
		}
	}
	// A client that subscribes to everything and never reads.
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		idle = append(idle, c)
		for _, f := range []string{`{"id":1,"method":"hello","params":{"version":"3.0","client":"stuck"}}`, `{"t":"sub","id":2,"topic":"#"}`} {
			var hdr [4]byte
			binary.BigEndian.PutUint32(hdr[:], uint32(len(f)))
			_, _ = c.Write(append(hdr[:], f...))
		}
	}
	// A flood of malformed frames, on fresh connections.
	wg.Go(func() {
		junk := [][]byte{
			{0, 0, 0, 5, '{', '{', '{', '{', '{'},
			{0, 0, 0, 4, 'n', 'u', 'l', 'l'},
			{0xff, 0xff, 0xff, 0xff},
			[]byte("\x00\x00\x00\x0c{\"id\":\"x\"}..."),
		}
		for i := 0; ctx.Err() == nil; i++ {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			_ = c.SetDeadline(time.Now().Add(200 * time.Millisecond))
			for range 20 {
				if _, err := c.Write(junk[i%len(junk)]); err != nil {
					break
				}
				malformed.Add(1)
			}
			_ = c.Close()
			time.Sleep(20 * time.Millisecond)
		}
	})
	// 20 wildcard subscribers that read.
	for i := range 20 {
		wg.Go(func() {
			c, err := aimx.Dial(ctx, endpoint, &aimx.ClientOptions{Name: fmt.Sprint("sub-", i)})
			if err != nil {
				return
			}
			defer c.Close()
			st, err := c.Subscribe(ctx, "station.*.temperature")
			if err != nil {
				return
			}
			defer st.Close()
			for {
				if _, err := st.Next(ctx); err != nil {
					return
				}
				subEvents.Add(1)
			}
		})
	}

	// The well-behaved client.
	var (
		lat   []time.Duration
		fails int
		last  error
	)
	func() {
		var c *aimx.Client
		defer func() {
			if c != nil {
				c.Close()
			}
		}()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for ctx.Err() == nil {
			<-tick.C
			if c == nil {
				var err error
				if c, err = aimx.Dial(ctx, endpoint, &aimx.ClientOptions{Name: "good", DialTimeout: time.Second}); err != nil {
					fails++
					last = err
					c = nil
					continue
				}
			}
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			start := time.Now()
			_, err := c.Get(cctx, "station.7.temperature")
			cancel()
			if err != nil {
				if ctx.Err() == nil {
					fails++
					last = err
				}
				continue
			}
			lat = append(lat, time.Since(start))
		}
	}()
	stop()
	wg.Wait()
	for _, c := range idle {
		_ = c.Close()
	}

	slices.Sort(lat)
	p := func(q float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(q*float64(len(lat))))]
	}
	st := srv.Stats()
	t.Logf("soak %v: produced %d, churns %d (%d failed to connect), malformed frames %d, subscriber events %d",
		dur, produced.Load(), churns.Load(), churnFail.Load(), malformed.Load(), subEvents.Load())
	t.Logf("well-behaved client: %d gets, %d failed; p50 %v, p99 %v, max %v", len(lat), fails, p(0.5), p(0.99), p(1))
	t.Logf("server: %+v", st)
	if total := len(lat) + fails; total == 0 || fails*100 > total {
		t.Errorf("loss of service: %d of %d record.get calls failed (last: %v)", fails, len(lat)+fails, last)
	}

	// Growth: everything returns near its baseline once the load stops.
	deadline := time.Now().Add(15 * time.Second)
	var g, fd int
	var h uint64
	for {
		g, fd, h = runtime.NumGoroutine(), fds(t), heap()
		ok := g <= baseG+5 && fd <= baseFD+5 && h <= 2*baseHeap+32<<20
		if ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("after: goroutines %d (baseline %d), fds %d (baseline %d), heap %d KiB (baseline %d KiB)", g, baseG, fd, baseFD, h>>10, baseHeap>>10)
	if g > baseG+5 {
		t.Errorf("goroutines did not return to baseline: %d, baseline %d", g, baseG)
	}
	if fd > baseFD+5 {
		t.Errorf("file descriptors did not return to baseline: %d, baseline %d", fd, baseFD)
	}
	if h > 2*baseHeap+32<<20 {
		t.Errorf("heap did not return near baseline: %d KiB, baseline %d KiB", h>>10, baseHeap>>10)
	}
}
