package bench

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/aimdb-go/aimdb"
)

// The Scale benchmarks measure the registry, not the buffers: how long it
// takes to register records and create family instances, what an idle
// instance costs in memory beyond its buffer's values, how long
// db.Records() takes over all of them, and what Produce costs on an
// instance that exists. The anchor (impl=map) is a plain map[string]*T
// registry doing the same work: insert a new struct holding a small
// buffer-like slice; look up and store.

// scaleN is the number of instances of the Scale benchmarks.
const scaleN = 100_000

// mapEntry is the anchor's record: a key and a buffer-like slice.
type mapEntry struct {
	key  string
	vals []telemetry
	n    uint64
}

// mapRegistry is the anchor: a plain map[string]*T.
type mapRegistry map[string]*mapEntry

func (m mapRegistry) create(key string, capacity int) {
	m[key] = &mapEntry{key: key, vals: make([]telemetry, capacity)}
}

func (m mapRegistry) produce(key string, v telemetry) bool {
	e, ok := m[key]
	if !ok {
		return false
	}
	e.vals[e.n%uint64(len(e.vals))] = v
	e.n++
	return true
}

// mapMeta is the anchor's record.list row.
type mapMeta struct {
	Key      string
	Capacity int
	Produced uint64
}

func (m mapRegistry) list() []mapMeta {
	md := make([]mapMeta, 0, len(m))
	for _, e := range m {
		md = append(md, mapMeta{e.key, len(e.vals), e.n})
	}
	return md
}

// instanceKeys returns the keys of n instances of tmpl "scale.{id}.t".
func instanceKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "scale." + strconv.Itoa(i) + ".t"
	}
	return keys
}

var scaleFamily = aimdb.NewFamily[telemetry]("scale.{id}.t")

// running starts db and returns a function that stops it and waits.
func running(b *testing.B, db *aimdb.DB) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- db.Run(ctx) }()
	select {
	case <-db.Started():
	case err := <-done:
		cancel()
		b.Fatal(err)
	}
	return func() {
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			b.Error(err)
		}
	}
}

// heap returns the live heap after a full collection.
func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// valueBytes is what a buffer of capacity holds in values alone.
func valueBytes(capacity int) float64 {
	return float64(capacity) * float64(unsafe.Sizeof(telemetry{}))
}

func BenchmarkScale(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("op=register/n=%d/impl=aimdb", n), func(b *testing.B) { scaleRegister(b, n) })
		b.Run(fmt.Sprintf("op=register/n=%d/impl=map", n), func(b *testing.B) { scaleMapCreate(b, n, 1, "ns/record") })
	}
	for _, buf := range []struct {
		name string
		buf  aimdb.Buffer
		cap  int
	}{{"latest", aimdb.Latest(), 1}, {"ring8", aimdb.Ring(8), 8}} {
		b.Run("op=create/buf="+buf.name+"/impl=aimdb", func(b *testing.B) { scaleCreate(b, buf.buf, buf.cap) })
		b.Run("op=create/buf="+buf.name+"/impl=map", func(b *testing.B) { scaleMapCreate(b, scaleN, buf.cap, "ns/instance") })
	}
	b.Run("op=records/impl=aimdb", scaleRecords)
	b.Run("op=records/impl=map", scaleMapRecords)
	b.Run("op=produce/impl=aimdb", func(b *testing.B) { scaleProduce(b, false) })
	b.Run("op=produce/impl=aimdb-handle", func(b *testing.B) { scaleProduce(b, true) })
	b.Run("op=produce/impl=map", scaleMapProduce)
}

// scaleRegister registers n plain records and runs the DB: the time
// until Run has started every stage, per record.
func scaleRegister(b *testing.B, n int) {
	keys := make([]aimdb.Key[telemetry], n)
	for i := range keys {
		keys[i] = aimdb.NewKey[telemetry]("plain." + strconv.Itoa(i) + ".t")
	}
	var total time.Duration
	for range b.N {
		db := aimdb.New(nil)
		start := time.Now()
		for _, k := range keys {
			if _, err := aimdb.Register(db, k, aimdb.Latest()); err != nil {
				b.Fatal(err)
			}
		}
		stop := running(b, db)
		total += time.Since(start)
		b.StopTimer()
		stop()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N*n), "ns/record")
}

// scaleCreate creates scaleN instances through Produce on a running DB.
func scaleCreate(b *testing.B, buf aimdb.Buffer, capacity int) {
	keys := instanceKeys(scaleN)
	var total time.Duration
	var bytes float64
	for range b.N {
		b.StopTimer()
		db := aimdb.New(nil)
		if _, err := aimdb.RegisterFamily(db, scaleFamily, buf, aimdb.MaxInstances(scaleN)); err != nil {
			b.Fatal(err)
		}
		stop := running(b, db)
		before := heap()
		b.StartTimer()
		start := time.Now()
		for i, k := range keys {
			if err := aimdb.Produce(db, aimdb.NewKey[telemetry](k), telemetry{SensorID: uint32(i)}); err != nil {
				b.Fatal(err)
			}
		}
		total += time.Since(start)
		b.StopTimer()
		bytes += float64(heap() - before)
		if got := len(db.Keys()); got != scaleN {
			b.Fatalf("%d instances; want %d", got, scaleN)
		}
		stop()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N*scaleN), "ns/instance")
	b.ReportMetric(bytes/float64(b.N*scaleN)-valueBytes(capacity), "B/instance")
}

var mapSink mapRegistry

// scaleMapCreate is the anchor of scaleCreate and scaleRegister.
func scaleMapCreate(b *testing.B, n, capacity int, unit string) {
	keys := instanceKeys(n)
	var total time.Duration
	var bytes float64
	for range b.N {
		b.StopTimer()
		m := mapRegistry{}
		before := heap()
		b.StartTimer()
		start := time.Now()
		for _, k := range keys {
			m.create(k, capacity)
		}
		total += time.Since(start)
		b.StopTimer()
		mapSink = m
		bytes += float64(heap() - before)
		mapSink = nil
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N*n), unit)
	if unit == "ns/instance" {
		b.ReportMetric(bytes/float64(b.N*n)-valueBytes(capacity), "B/instance")
	}
}

// familyDB returns a running DB with scaleN instances of a Latest family.
func familyDB(b *testing.B) (*aimdb.DB, *aimdb.Family[telemetry], []string) {
	db := aimdb.New(nil)
	fam, err := aimdb.RegisterFamily(db, scaleFamily, aimdb.Latest(), aimdb.MaxInstances(scaleN))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(running(b, db))
	keys := instanceKeys(scaleN)
	for _, k := range keys {
		if err := aimdb.Produce(db, aimdb.NewKey[telemetry](k), telemetry{}); err != nil {
			b.Fatal(err)
		}
	}
	return db, fam, keys
}

func scaleRecords(b *testing.B) {
	db, _, _ := familyDB(b)
	b.ResetTimer()
	for b.Loop() {
		if md := db.Records(); len(md) != scaleN {
			b.Fatalf("%d records; want %d", len(md), scaleN)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N), "ms/call")
}

func scaleMapRecords(b *testing.B) {
	m := mapRegistry{}
	for _, k := range instanceKeys(scaleN) {
		m.create(k, 1)
	}
	for b.Loop() {
		if md := m.list(); len(md) != scaleN {
			b.Fatal(len(md))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N), "ms/call")
}

// scaleProduce produces to existing instances, cycling through them, by
// key or through the instance's handle.
func scaleProduce(b *testing.B, handle bool) {
	db, fam, names := familyDB(b)
	keys := make([]aimdb.Key[telemetry], len(names))
	recs := make([]*aimdb.Record[telemetry], len(names))
	for i, n := range names {
		keys[i] = aimdb.NewKey[telemetry](n)
		r, err := fam.Instance(strconv.Itoa(i))
		if err != nil {
			b.Fatal(err)
		}
		recs[i] = r
	}
	b.ReportAllocs()
	var i uint64
	for b.Loop() {
		j := i % scaleN
		v := telemetry{SensorID: uint32(j), Sequence: i}
		var err error
		if handle {
			err = recs[j].Produce(v)
		} else {
			err = aimdb.Produce(db, keys[j], v)
		}
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func scaleMapProduce(b *testing.B) {
	keys := instanceKeys(scaleN)
	m := mapRegistry{}
	for _, k := range keys {
		m.create(k, 1)
	}
	b.ReportAllocs()
	var i uint64
	for b.Loop() {
		j := i % scaleN
		if !m.produce(keys[j], telemetry{SensorID: uint32(j), Sequence: i}) {
			b.Fatal("missing")
		}
		i++
	}
}
