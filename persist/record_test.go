package persist_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/persist"
)

// intCodec stores ints as decimal text.
type intCodec struct{}

func (intCodec) Encode(v int) ([]byte, error) { return strconv.AppendInt(nil, int64(v), 10), nil }
func (intCodec) Decode(b []byte) (int, error) {
	n, err := strconv.Atoi(string(b))
	return n, err
}

var key = aimdb.NewKey[int]("test.value")

// stored returns the values stored for key, oldest first.
func stored(t *testing.T, b persist.Backend) []int {
	t.Helper()
	rows, err := b.Query(t.Context(), persist.Query{Pattern: key.Name()})
	if err != nil {
		t.Fatal(err)
	}
	var vs []int
	for _, r := range rows {
		n, err := strconv.Atoi(string(r.Data))
		if err != nil {
			t.Fatalf("row %q: %v", r.Data, err)
		}
		vs = append(vs, n)
	}
	return vs
}

func persistMD(t *testing.T, db *aimdb.DB) aimdb.PersistMetadata {
	t.Helper()
	for _, m := range db.Records() {
		if m.RecordKey == key.Name() {
			if m.Persist == nil {
				t.Fatal("no persist metadata")
			}
			return *m.Persist
		}
	}
	t.Fatal("record not listed")
	return aimdb.PersistMetadata{}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func TestAttachCommitsEveryValue(t *testing.T) {
	mem := persist.NewMemory()
	store := persist.NewStore(mem, nil)
	db := aimdb.New(nil)
	rec := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, key, aimdb.Ring(16)))
	persist.Attach(rec, store, intCodec{}, nil)
	stop := aimdbtest.Start(t, db)
	for i := range 1000 {
		if err := rec.Produce(i); err != nil {
			t.Fatal(err)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, mem); !slices.Equal(got, seq(1000)) {
		t.Errorf("stored %d values %v…, want 0..999 in order", len(got), got[:min(len(got), 10)])
	}
	md := persistMD(t, db)
	if md.Committed != 1000 || md.Dropped != 0 || md.Queued != 0 || md.Store != "memory" {
		t.Errorf("metadata %+v, want 1000 committed, none dropped or queued, store memory", md)
	}
	rows, _ := mem.Query(t.Context(), persist.Query{Limit: 1})
	if rows[0].Schema != "int" || rows[0].Version != 0 {
		t.Errorf("schema %q v%d, want the Go type's name, v0", rows[0].Schema, rows[0].Version)
	}
}

// stalled is a backend whose Append waits until it is released.
type stalled struct {
	*persist.Memory
	release chan struct{}
	entered chan struct{}
	once    sync.Once
}

func (s *stalled) Append(ctx context.Context, rows []persist.Row) error {
	s.once.Do(func() { close(s.entered) })
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.Memory.Append(ctx, rows)
}

func TestStalledStoreDropsCountedNeverBlocks(t *testing.T) {
	st := &stalled{Memory: persist.NewMemory(), release: make(chan struct{}), entered: make(chan struct{})}
	store := persist.NewStore(st, nil)
	db := aimdb.New(&aimdb.Options{ShutdownTimeout: time.Minute})
	rec := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, key, aimdb.Latest()))
	persist.Attach(rec, store, intCodec{}, &persist.Options{QueueSize: 100})
	stop := aimdbtest.Start(t, db)
	if err := rec.Produce(-1); err != nil {
		t.Fatal(err)
	}
	<-st.entered // the writer holds the first value in a stalled Append
	const n = 100_000
	for i := range n {
		if err := rec.Produce(i); err != nil { // would hang here if Produce blocked
			t.Fatal(err)
		}
	}
	md := persistMD(t, db)
	if md.Queued != 101 || md.Dropped != n-100 {
		t.Errorf("while stalled: %+v, want 101 queued (100 + 1 in flight), %d dropped", md, n-100)
	}
	close(st.release)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	md = persistMD(t, db)
	got := stored(t, st.Memory)
	want := append([]int{-1}, seq(n)[n-100:]...)
	if !slices.Equal(got, want) {
		t.Errorf("stored %d values, want -1 then the newest 100", len(got))
	}
	if md.Committed != 101 || md.Dropped != n-100 || md.Committed+md.Dropped != n+1 {
		t.Errorf("after release: %+v, want 101 committed, %d dropped", md, n-100)
	}
}

// failing is a backend whose Append fails until it is healed.
type failing struct {
	*persist.Memory
	mu     sync.Mutex
	broken bool
	calls  int
}

func (f *failing) Append(ctx context.Context, rows []persist.Row) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.broken {
		return errors.New("disk on fire")
	}
	return f.Memory.Append(ctx, rows)
}

func TestFailingStoreRetriesAndReportsError(t *testing.T) {
	f := &failing{Memory: persist.NewMemory(), broken: true}
	store := persist.NewStore(f, &persist.StoreOptions{RetryBackoff: time.Millisecond})
	db := aimdb.New(nil)
	rec := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, key, aimdb.Mailbox()))
	persist.Attach(rec, store, intCodec{}, nil)
	stop := aimdbtest.Start(t, db)
	for i := range 10 {
		rec.Produce(i)
	}
	waitFor(t, "the error in metadata", func() bool { return persistMD(t, db).LastError != "" })
	if md := persistMD(t, db); md.LastError != "disk on fire" || md.Committed != 0 {
		t.Errorf("metadata %+v, want the backend's error and nothing committed", md)
	}
	f.mu.Lock()
	f.broken = false
	f.mu.Unlock()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, f.Memory); !slices.Equal(got, seq(10)) {
		t.Errorf("stored %v, want 0..9 once the store healed", got)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// run runs one DB over the store's backend: setup registers the record,
// work runs while it runs.
func run(t *testing.T, b persist.Backend, buf aimdb.Buffer, opts *persist.Options, work func(db *aimdb.DB, rec *aimdb.Record[int], tapped <-chan int)) {
	t.Helper()
	db := aimdb.New(nil)
	rec := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, key, buf))
	tapped := make(chan int, 100)
	rec.Tap(func(ctx context.Context, s *aimdb.Subscription[int]) error {
		for v, err := range s.All(ctx) {
			if err != nil {
				return err
			}
			tapped <- v
		}
		return nil
	})
	persist.Attach(rec, persist.NewStore(b, nil), intCodec{}, opts)
	stop := aimdbtest.Start(t, db)
	work(db, rec, tapped)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestReplay(t *testing.T) {
	for _, tc := range []struct {
		name   string
		buf    aimdb.Buffer
		opts   *persist.Options
		peek   bool // Peek shows the restored value
		toTaps []int
		items  int // values in the buffer after restore
	}{
		{"latest", aimdb.Latest(), nil, true, nil, 1},
		{"mailbox", aimdb.Mailbox(), nil, true, nil, 1},
		{"ring newest", aimdb.Ring(10), nil, false, nil, 1},
		{"ring backfill", aimdb.Ring(10), &persist.Options{Replay: 5}, false, nil, 5},
		{"ring backfill over capacity", aimdb.Ring(3), &persist.Options{Replay: 50}, false, nil, 3},
		{"latest to taps", aimdb.Latest(), &persist.Options{ReplayToStages: true}, true, []int{9}, 1},
		{"ring to taps", aimdb.Ring(10), &persist.Options{Replay: 3, ReplayToStages: true}, false, []int{7, 8, 9}, 3},
		{"none", aimdb.Latest(), &persist.Options{Replay: -1}, false, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := persist.NewMemory()
			run(t, mem, tc.buf, tc.opts, func(db *aimdb.DB, rec *aimdb.Record[int], tapped <-chan int) {
				for i := range 10 {
					rec.Produce(i)
					<-tapped
				}
			})
			run(t, mem, tc.buf, tc.opts, func(db *aimdb.DB, rec *aimdb.Record[int], tapped <-chan int) {
				v, ok := rec.Peek()
				if ok != tc.peek || ok && v != 9 {
					t.Errorf("Peek after restart = %d, %v; want 9, %v", v, ok, tc.peek)
				}
				md := persistMD(t, db)
				if int(md.Replayed) != tc.items || md.Restored != (tc.items > 0) {
					t.Errorf("metadata %+v, want %d replayed", md, tc.items)
				}
				var occ [2]int
				for _, m := range db.Records() {
					occ = m.Occupancy
				}
				if occ[0] != tc.items {
					t.Errorf("occupancy %v, want %d values restored", occ, tc.items)
				}
				for _, w := range tc.toTaps {
					if got := <-tapped; got != w {
						t.Errorf("tap got %d, want restored %d", got, w)
					}
				}
				rec.Produce(100)
				if got := <-tapped; got != 100 {
					t.Errorf("tap got %d first, want the new value 100 (restored values are not re-tapped)", got)
				}
				if md := persistMD(t, db); md.Restored {
					t.Errorf("still restored after a new value: %+v", md)
				}
			})
			want := append(seq(10), 100)
			if got := stored(t, mem); !slices.Equal(got, want) {
				t.Errorf("stored %v, want %v (restored values are not stored again)", got, want)
			}
		})
	}
}

func TestRetention(t *testing.T) {
	mem := persist.NewMemory()
	now := time.Unix(1_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	store := persist.NewStore(mem, &persist.StoreOptions{Now: clock, RetentionInterval: time.Millisecond})
	db := aimdb.New(nil)
	rec := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, key, aimdb.Ring(8)))
	persist.Attach(rec, store, intCodec{}, &persist.Options{MaxRows: 10, MaxAge: time.Hour})
	aimdbtest.Start(t, db)
	for i := range 50 {
		rec.Produce(i)
	}
	waitFor(t, "trimming to 10 rows", func() bool { return slices.Equal(stored(t, mem), seq(50)[40:]) })
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	rec.Produce(50)
	waitFor(t, "trimming by age", func() bool { return slices.Equal(stored(t, mem), []int{50}) })
}

func TestAttachNilCodec(t *testing.T) {
	db := aimdb.New(nil)
	rec := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, key, aimdb.Latest()))
	persist.Attach(rec, persist.NewStore(persist.NewMemory(), nil), nil, nil)
	if err := db.Validate(); err == nil {
		t.Error("Validate accepted a persisted record without a codec")
	} else if !strings.Contains(err.Error(), ".Persist()") {
		t.Errorf("Validate: %v, want it to name .Persist()", err)
	}
}
