package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/bench/harness"
	"github.com/aimdb-go/aimdb/bench/internal/peers"
	"github.com/aimdb-go/aimdb/bench/internal/ringmin"
	"github.com/aimdb-go/aimdb/codec"
)

type (
	telemetry = harness.Telemetry
	state     = harness.State
	command   = harness.Command
)

type impl[T any] struct {
	name string
	mk   harness.Factory[T]
}

func run[T any](b *testing.B, mode string, subs int, impls []impl[T], f func(*testing.B, harness.Factory[T], int)) {
	for _, im := range impls {
		b.Run(fmt.Sprintf("mode=%s/subs=%d/impl=%s", mode, subs, im.name), func(b *testing.B) {
			f(b, im.mk, subs)
		})
	}
}

func BenchmarkSPMC(b *testing.B) {
	aim := impl[telemetry]{"aimdb", peers.AimDB[telemetry](aimdb.Ring(harness.Capacity), false)}
	ringMin := impl[telemetry]{"ringmin", peers.RingMin[telemetry]}
	mutexRing := impl[telemetry]{"mutexring", peers.MutexRing[telemetry]}
	aimBatch := impl[telemetry]{"aimdb-batch", peers.AimDBBatch[telemetry](aimdb.Ring(harness.Capacity), 64)}
	floor := impl[telemetry]{"floor", peers.Floor[telemetry](false)}
	floorBatch := impl[telemetry]{"floor-batch", peers.Floor[telemetry](true)}
	chanFan := impl[telemetry]{"chan", peers.Chan[telemetry](true)}
	watermill := impl[telemetry]{"watermill", peers.Watermill}
	nats := impl[telemetry]{"nats", peers.NATS}
	cskr := impl[telemetry]{"cskr", peers.Cskr}
	lockstep := func(b *testing.B, mk harness.Factory[telemetry], subs int) { harness.Lockstep(b, mk, subs, false) }
	pingpong := func(b *testing.B, mk harness.Factory[telemetry], subs int) { harness.Pingpong(b, mk, subs, false) }
	for _, subs := range []int{1, 4} {
		run(b, "lockstep", subs, []impl[telemetry]{aim, ringMin, mutexRing, chanFan, cskr,
			{"eventbus", peers.EventBus}, watermill, nats}, lockstep)
		b.Run(fmt.Sprintf("mode=lockstep/subs=%d/impl=aimdb-direct", subs), func(b *testing.B) { lockstepDirect(b, subs) })
	}
	for _, subs := range []int{1, 4, 16} {
		run(b, "stream", subs, []impl[telemetry]{aim, aimBatch, ringMin, floor, floorBatch, mutexRing, chanFan, cskr, watermill, nats}, harness.Stream[telemetry])
	}
	for _, subs := range []int{1, 4} {
		run(b, "pingpong", subs, []impl[telemetry]{aim,
			{"aimdb-ctx", peers.AimDB[telemetry](aimdb.Ring(harness.Capacity), true)},
			ringMin, chanFan, watermill, nats}, pingpong)
	}
	for _, subs := range []int{1, 4, 16} {
		run(b, "produce", subs, []impl[telemetry]{aim, ringMin, {"chan-nonblock", peers.Chan[telemetry](false)}}, harness.Produce[telemetry])
	}
}

// lockstepDirect is lockstep without the adapter: the concrete API.
func lockstepDirect(b *testing.B, subs int) {
	db := aimdb.New(nil)
	key := aimdb.NewKey[telemetry]("bench.direct.x")
	rec, err := aimdb.Register(db, key, aimdb.Ring(harness.Capacity))
	if err != nil {
		b.Fatal(err)
	}
	ss := make([]*aimdb.Subscription[telemetry], subs)
	for i := range ss {
		ss[i], _ = rec.Subscribe()
	}
	ctx := context.Background()
	var i uint64
	for b.Loop() {
		i++
		_ = rec.Produce(harness.Make[telemetry](i))
		for _, s := range ss {
			if _, err := s.Recv(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/msg")
}

func BenchmarkLatest(b *testing.B) {
	impls := []impl[state]{
		{"aimdb", peers.AimDB[state](aimdb.Latest(), false)},
		{"mutex", peers.MutexLatest[state]},
		{"seqlock", peers.SeqLatest[state]},
		{"atomicptr", peers.PtrLatest[state]},
	}
	run(b, "lockstep", 1, impls, func(b *testing.B, mk harness.Factory[state], subs int) { harness.Lockstep(b, mk, subs, false) })
	run(b, "pingpong", 1, impls, func(b *testing.B, mk harness.Factory[state], subs int) { harness.Pingpong(b, mk, subs, false) })
	// No stream mode: a Latest collapses values by design, so a delivery
	// rate would not compare like with like.
	for _, subs := range []int{1, 4, 16} {
		run(b, "produce", subs, impls, harness.Produce[state])
	}
}

func BenchmarkMailbox(b *testing.B) {
	impls := []impl[command]{
		{"aimdb", peers.AimDB[command](aimdb.Mailbox(), false)},
		{"seqlock", peers.SeqMailbox[command]},
		{"mutexbell", peers.MutexMailbox[command]},
		{"chan1", peers.Chan1[command]},
	}
	run(b, "lockstep", 1, impls, func(b *testing.B, mk harness.Factory[command], subs int) { harness.Lockstep(b, mk, subs, true) })
	run(b, "pingpong", 1, impls, func(b *testing.B, mk harness.Factory[command], subs int) { harness.Pingpong(b, mk, subs, true) })
	for _, subs := range []int{1, 4, 16} {
		run(b, "produce", subs, impls, harness.Produce[command])
	}
}

// BenchmarkPipeline streams values through source → transform → tap: two
// hops, each stage its own goroutine, the source at most Window messages
// ahead of the tap.
func BenchmarkPipeline(b *testing.B) {
	double := func(v telemetry) telemetry { v.Value *= 2; return v }
	b.Run("mode=stream/impl=aimdb", func(b *testing.B) {
		db := aimdb.New(nil)
		in, _ := aimdb.Register(db, aimdb.NewKey[telemetry]("pipe.in.x"), aimdb.Ring(harness.Capacity))
		out, _ := aimdb.Register(db, aimdb.NewKey[telemetry]("pipe.out.x"), aimdb.Ring(harness.Capacity))
		aimdb.Transform(out, in.Key(), func(v telemetry) (telemetry, bool) { return double(v), true })
		var done atomic.Uint64
		start, finished := make(chan struct{}), make(chan struct{})
		in.Source(func(ctx context.Context, p *aimdb.Producer[telemetry]) error {
			<-start
			for i := range uint64(b.N) {
				for i >= done.Load()+harness.Window {
					runtime.Gosched()
				}
				_ = p.Produce(harness.Make[telemetry](i))
			}
			return nil
		})
		out.Tap(func(ctx context.Context, s *aimdb.Subscription[telemetry]) error {
			for n := uint64(1); n <= uint64(b.N); n++ {
				if _, err := s.Recv(ctx); err != nil {
					return err
				}
				if n%32 == 0 || n == uint64(b.N) {
					done.Store(n)
				}
			}
			close(finished)
			return nil
		})
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- db.Run(ctx) }()
		<-db.Started()
		b.ResetTimer()
		close(start)
		<-finished
		b.StopTimer()
		cancel()
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
	b.Run("mode=stream/impl=ringmin", func(b *testing.B) {
		r1, r2 := ringmin.NewRing[telemetry](harness.Capacity), ringmin.NewRing[telemetry](harness.Capacity)
		rd1, rd2 := r1.Subscribe(), r2.Subscribe()
		pipeline(b, r1.Push, func() {
			for {
				v, _, ok := rd1.Recv()
				if !ok {
					r2.Close()
					return
				}
				r2.Push(double(v))
			}
		}, func() bool { _, _, ok := rd2.Recv(); return ok }, r1.Close)
	})
	b.Run("mode=stream/impl=chan", func(b *testing.B) {
		c1, c2 := make(chan telemetry, harness.Capacity), make(chan telemetry, harness.Capacity)
		pipeline(b, func(v telemetry) { c1 <- v }, func() {
			for v := range c1 {
				c2 <- double(v)
			}
			close(c2)
		}, func() bool { _, ok := <-c2; return ok }, func() { close(c1) })
	})
}

// pipeline runs push → hop (a goroutine) → recv (a goroutine) for b.N values.
func pipeline(b *testing.B, push func(telemetry), hop func(), recv func() bool, closeIn func()) {
	var done atomic.Uint64
	var wg sync.WaitGroup
	wg.Go(hop)
	wg.Go(func() {
		var n uint64
		for recv() {
			if n++; n%32 == 0 || n == uint64(b.N) {
				done.Store(n)
			}
		}
	})
	b.ResetTimer()
	for i := range uint64(b.N) {
		for i >= done.Load()+harness.Window {
			runtime.Gosched()
		}
		push(harness.Make[telemetry](i))
	}
	for done.Load() < uint64(b.N) {
		runtime.Gosched()
	}
	b.StopTimer()
	closeIn()
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkRemoteJSON answers an AimX record.get: look the record up by
// name, read its latest value as JSON and frame the reply. The aimdb row
// makes the calls the AimX server makes for it (DB.Remote,
// RemoteRecord.Latest, Frame.AppendJSON into a new buffer). The marshal
// peer does the same work the plainest way: a map lookup under a mutex
// and one json.Marshal of a typed reply struct. The tree peer builds the
// reply as generic JSON values, as a dynamic server does.
func BenchmarkRemoteJSON(b *testing.B) {
	type temperature struct {
		Celsius   float64 `json:"celsius"`
		Timestamp uint64  `json:"timestamp"`
		Station   string  `json:"station"`
	}
	const name = "sensor.temp.indoor"
	v := temperature{21.5, 1_764_000_000_000, "vienna"}
	b.Run("op=record-get/impl=aimdb", func(b *testing.B) {
		db := aimdb.New(nil)
		rec, err := aimdb.Register(db, aimdb.NewKey[temperature](name), aimdb.Latest())
		if err != nil {
			b.Fatal(err)
		}
		rec.RemoteAccess(codec.JSON[temperature]{})
		if err := rec.Produce(v); err != nil {
			b.Fatal(err)
		}
		var out []byte
		for b.Loop() {
			r, err := db.Remote(name)
			if err != nil {
				b.Fatal(err)
			}
			if out, err = aimx.AppendGetReply(nil, 1, r); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(out)), "frame-B")
	})
	b.Run("op=record-get/impl=marshal", func(b *testing.B) {
		var mu sync.Mutex
		store := map[string]temperature{name: v}
		type reply struct {
			T  string      `json:"t"`
			ID uint64      `json:"id"`
			OK temperature `json:"ok"`
		}
		var out []byte
		for b.Loop() {
			mu.Lock()
			val, ok := store[name]
			mu.Unlock()
			if !ok {
				b.Fatal("no value")
			}
			var err error
			if out, err = json.Marshal(reply{T: "reply", ID: 1, OK: val}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(out)), "frame-B")
	})
	b.Run("op=record-get/impl=tree", func(b *testing.B) {
		var out []byte
		for b.Loop() {
			raw, err := json.Marshal(v)
			if err != nil {
				b.Fatal(err)
			}
			var tree any
			if err := json.Unmarshal(raw, &tree); err != nil {
				b.Fatal(err)
			}
			out, err = json.Marshal(map[string]any{"t": "reply", "id": 1, "ok": tree})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(out)), "frame-B")
	})
}
