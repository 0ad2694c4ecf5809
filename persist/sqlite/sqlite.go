//go:build !js && !wasip1

package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/aimdb-go/aimdb/persist"
)

const schema = `
CREATE TABLE IF NOT EXISTS aimdb_history (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	record_key     TEXT    NOT NULL,
	ts             INTEGER NOT NULL, -- Unix nanoseconds
	schema_name    TEXT    NOT NULL,
	schema_version INTEGER NOT NULL,
	data           BLOB    NOT NULL
);
CREATE INDEX IF NOT EXISTS aimdb_history_key_ts ON aimdb_history(record_key, ts, id);
CREATE TABLE IF NOT EXISTS aimdb_outbox (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	name    TEXT NOT NULL,
	topic   TEXT NOT NULL,
	payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS aimdb_outbox_name ON aimdb_outbox(name, id);
`

// Options configure Open. The zero value is ready to use.
type Options struct {
	// Synchronous is SQLite's synchronous pragma. If empty, it is
	// "NORMAL": a committed row survives a crash of the process, and the
	// last transactions may be lost if the machine loses power. "FULL"
	// keeps them too, at the cost of an fsync per commit.
	Synchronous string
}

// Backend is a persist.Backend in one SQLite file. It is safe for
// concurrent use.
type Backend struct {
	db *sql.DB

	mu     sync.RWMutex
	closed bool
}

var _ persist.OutboxBackend = (*Backend)(nil)

// Open opens (creating it if needed) the SQLite database at path, in WAL
// mode, with the history table. A nil opts is the same as &Options{}.
func Open(path string, opts *Options) (*Backend, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Synchronous == "" {
		o.Synchronous = "NORMAL"
	}
	switch o.Synchronous {
	case "OFF", "NORMAL", "FULL", "EXTRA":
	default:
		return nil, fmt.Errorf("%w sqlite option Synchronous %q: want OFF, NORMAL, FULL or EXTRA", persist.ErrInvalid, o.Synchronous)
	}
	if path == "" {
		return nil, fmt.Errorf("%w sqlite: empty path", persist.ErrInvalid)
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+o.Synchronous+")")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	// One connection: SQLite has one writer, and a single connection
	// needs no busy handling.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		db.Close()
		return nil, fmt.Errorf("sqlite %s: journal mode %q, not wal: %v", path, mode, err)
	}
	return &Backend{db: db}, nil
}

// Name implements persist.Backend.
func (b *Backend) Name() string { return "sqlite" }

// DB returns the database handle, for inspection (integrity checks,
// benchmarks against raw inserts).
func (b *Backend) DB() *sql.DB { return b.db }

func (b *Backend) use() (func(), error) {
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return nil, persist.ErrClosed
	}
	return b.mu.RUnlock, nil
}

// Append implements persist.Backend.
func (b *Backend) Append(ctx context.Context, rows []persist.Row) error {
	if err := persist.CheckRows(rows); err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	done, err := b.use()
	if err != nil {
		return err
	}
	defer done()
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite append: %w", err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO aimdb_history (record_key, ts, schema_name, schema_version, data) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("sqlite append: %w", err)
	}
	defer st.Close()
	for _, r := range rows {
		data := r.Data
		if data == nil {
			data = []byte{}
		}
		if _, err := st.ExecContext(ctx, r.Key, r.Time.UnixNano(), r.Schema, int64(r.Version), data); err != nil {
			return fmt.Errorf("sqlite append: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite append: %w", err)
	}
	return nil
}

// keyBounds returns SQL conditions and arguments selecting the keys a
// pattern can match: equality for a literal, a range for a prefix.
func keyBounds(pattern string) (string, []any) {
	if persist.IsLiteral(pattern) {
		return "record_key = ?", []any{pattern}
	}
	p := persist.LiteralPrefix(pattern)
	if p == "" {
		return "1", nil
	}
	if up, ok := upperBound(p); ok {
		return "record_key >= ? AND record_key < ?", []any{p, up}
	}
	return "record_key >= ?", []any{p}
}

// upperBound returns the smallest string greater than every string with
// prefix p.
func upperBound(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

const cols = "id, record_key, ts, schema_name, schema_version, data"

// Query implements persist.Backend.
func (b *Backend) Query(ctx context.Context, q persist.Query) ([]persist.Row, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	done, err := b.use()
	if err != nil {
		return nil, err
	}
	defer done()
	where, args := keyBounds(q.Pattern)
	if !q.Since.IsZero() {
		where += " AND ts >= ?"
		args = append(args, q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		where += " AND ts <= ?"
		args = append(args, q.Until.UnixNano())
	}
	dir := "ASC"
	if q.Order == persist.Descending {
		dir = "DESC"
	}
	var stmt string
	switch {
	case q.Limit > 0 && q.Bucket == 0 && persist.IsLiteral(q.Pattern):
		stmt = fmt.Sprintf("SELECT %s FROM aimdb_history WHERE %s ORDER BY ts %s, id %s LIMIT ?", cols, where, dir, dir)
		args = append(args, q.Limit)
	case q.Limit > 0 && q.Bucket == 0:
		stmt = fmt.Sprintf(`SELECT %s FROM (SELECT %s, ROW_NUMBER() OVER (PARTITION BY record_key ORDER BY ts %s, id %s) AS rn
			FROM aimdb_history WHERE %s) WHERE rn <= ? ORDER BY ts %s, id %s`, cols, cols, dir, dir, where, dir, dir)
		args = append(args, q.Limit)
	default:
		stmt = fmt.Sprintf("SELECT %s FROM aimdb_history WHERE %s ORDER BY ts %s, id %s", cols, where, dir, dir)
	}
	rows, err := b.scan(ctx, q.Pattern, stmt, args...)
	if err != nil {
		return nil, err
	}
	return persist.Shape(rows, q), nil
}

// scan runs a query and returns the rows whose key matches pattern.
func (b *Backend) scan(ctx context.Context, pattern, stmt string, args ...any) ([]persist.Row, error) {
	rs, err := b.db.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite query: %w", err)
	}
	defer rs.Close()
	var out []persist.Row
	for rs.Next() {
		var r persist.Row
		var ts, ver int64
		if err := rs.Scan(&r.Seq, &r.Key, &ts, &r.Schema, &ver, &r.Data); err != nil {
			return nil, fmt.Errorf("sqlite query: %w", err)
		}
		if !persist.Match(pattern, r.Key) {
			continue
		}
		r.Time = time.Unix(0, ts)
		r.Version = uint32(ver)
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("sqlite query: %w", err)
	}
	return out, nil
}

// Latest implements persist.Backend.
func (b *Backend) Latest(ctx context.Context, pattern string) ([]persist.Row, error) {
	if err := persist.ValidatePattern(pattern); err != nil {
		return nil, err
	}
	done, err := b.use()
	if err != nil {
		return nil, err
	}
	defer done()
	where, args := keyBounds(pattern)
	rs, err := b.db.QueryContext(ctx, "SELECT DISTINCT record_key FROM aimdb_history WHERE "+where+" ORDER BY record_key", args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite latest: %w", err)
	}
	var keys []string
	for rs.Next() {
		var k string
		if err := rs.Scan(&k); err != nil {
			rs.Close()
			return nil, fmt.Errorf("sqlite latest: %w", err)
		}
		if persist.Match(pattern, k) {
			keys = append(keys, k)
		}
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("sqlite latest: %w", err)
	}
	var out []persist.Row
	for _, k := range keys {
		rows, err := b.scan(ctx, k, "SELECT "+cols+" FROM aimdb_history WHERE record_key = ? ORDER BY ts DESC, id DESC LIMIT 1", k)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	slices.SortStableFunc(out, func(a, b persist.Row) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	return out, nil
}

// Trim implements persist.Backend.
func (b *Backend) Trim(ctx context.Context, key string, t persist.Trim) (int64, error) {
	if t.Keep < 0 {
		return 0, fmt.Errorf("%w trim: keep %d is negative", persist.ErrInvalid, t.Keep)
	}
	done, err := b.use()
	if err != nil {
		return 0, err
	}
	defer done()
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite trim: %w", err)
	}
	defer tx.Rollback()
	var n int64
	if !t.Before.IsZero() {
		res, err := tx.ExecContext(ctx, "DELETE FROM aimdb_history WHERE record_key = ? AND ts < ?", key, t.Before.UnixNano())
		if err != nil {
			return 0, fmt.Errorf("sqlite trim: %w", err)
		}
		k, _ := res.RowsAffected()
		n += k
	}
	if t.Keep > 0 {
		res, err := tx.ExecContext(ctx, `DELETE FROM aimdb_history WHERE record_key = ? AND id NOT IN
			(SELECT id FROM aimdb_history WHERE record_key = ? ORDER BY ts DESC, id DESC LIMIT ?)`, key, key, t.Keep)
		if err != nil {
			return 0, fmt.Errorf("sqlite trim: %w", err)
		}
		k, _ := res.RowsAffected()
		n += k
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite trim: %w", err)
	}
	return n, nil
}

// Close implements persist.Backend. It is idempotent.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	return b.db.Close()
}
