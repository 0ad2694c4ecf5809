package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/persist"
	"github.com/aimdb-go/aimdb/persist/sqlite"
)

// The persistence benchmarks, on SQLite (modernc.org/sqlite, WAL,
// synchronous=NORMAL) in a temporary directory:
//
//   - Persist/impl=aimdb: values produced into a persisted Ring record,
//     committed by the store's writer (group commit, batches of up to
//     1024). ns/op is the time per committed value; the producer stays
//     at most 4096 values ahead, so nothing is dropped.
//   - Persist/impl=raw: the same rows (key, time, schema, decimal value)
//     inserted with the same driver in transactions of 1024, with a
//     prepared statement: the floor.
//   - HistoryQuery/rows=86400/range=1h/impl=aimdb: one day of 1 Hz values of one
//     record; ns/op is one query of a one-hour range (3600 rows).

type decimal struct{}

func (decimal) Encode(v int) ([]byte, error) { return strconv.AppendInt(nil, int64(v), 10), nil }
func (decimal) Decode(b []byte) (int, error) { return strconv.Atoi(string(b)) }

func openSQLite(b *testing.B) *sqlite.Backend {
	be, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Close() })
	return be
}

func BenchmarkPersist(b *testing.B) {
	b.Run("impl=aimdb", benchPersistAimDB)
	b.Run("impl=raw", benchPersistRaw)
}

func benchPersistAimDB(b *testing.B) {
	be := openSQLite(b)
	db := aimdb.New(nil)
	key := aimdb.NewKey[int]("bench.persist")
	rec, err := aimdb.Register(db, key, aimdb.Ring(64))
	if err != nil {
		b.Fatal(err)
	}
	persist.Attach(rec, persist.NewStore(be, nil), decimal{}, &persist.Options{QueueSize: 8192, Replay: -1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- db.Run(ctx) }()
	<-db.Started()
	committed := func() uint64 {
		for _, m := range db.Records() {
			if m.Persist != nil {
				return m.Persist.Committed
			}
		}
		return 0
	}
	b.ResetTimer()
	for i := range b.N {
		if i%4096 == 0 {
			for uint64(i)-committed() > 4096 {
				time.Sleep(50 * time.Microsecond)
			}
		}
		rec.Produce(i)
	}
	for committed() < uint64(b.N) {
		time.Sleep(50 * time.Microsecond)
	}
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	for _, m := range db.Records() {
		if m.Persist.Dropped != 0 {
			b.Fatalf("%d values dropped", m.Persist.Dropped)
		}
	}
}

func benchPersistRaw(b *testing.B) {
	sdb := openSQLite(b).DB()
	ctx := context.Background()
	b.ResetTimer()
	for start := 0; start < b.N; start += 1024 {
		tx, err := sdb.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO aimdb_history (record_key, ts, schema_name, schema_version, data) VALUES (?, ?, ?, ?, ?)`)
		if err != nil {
			b.Fatal(err)
		}
		for i := start; i < min(start+1024, b.N); i++ {
			if _, err := st.ExecContext(ctx, "bench.persist", time.Now().UnixNano(), "int", 0, strconv.AppendInt(nil, int64(i), 10)); err != nil {
				b.Fatal(err)
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHistoryQuery(b *testing.B) {
	const rows = 86_400
	be := openSQLite(b)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	batch := make([]persist.Row, 0, 3600)
	for i := range rows {
		batch = append(batch, persist.Row{Key: "station.1.temperature", Time: base.Add(time.Duration(i) * time.Second),
			Schema: "temperature", Version: 2, Data: fmt.Appendf(nil, `{"celsius":%d.5,"schema_version":2}`, i%40)})
		if len(batch) == cap(batch) {
			if err := be.Append(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	q := persist.Query{Pattern: "station.1.temperature", Since: base.Add(12 * time.Hour), Until: base.Add(13*time.Hour - time.Second)}
	b.Run(fmt.Sprintf("rows=%d/range=1h/impl=aimdb", rows), func(b *testing.B) {
		for b.Loop() {
			got, err := be.Query(context.Background(), q)
			if err != nil || len(got) != 3600 {
				b.Fatalf("%d rows, %v", len(got), err)
			}
		}
	})
}
