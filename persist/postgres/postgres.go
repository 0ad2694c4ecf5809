// Package postgres is a persist.Backend on PostgreSQL (pgx), the server
// database: several hubs can share one history.
package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aimdb-go/aimdb/persist"
)

const schema = `
CREATE TABLE IF NOT EXISTS aimdb_history (
	id             BIGSERIAL PRIMARY KEY,
	record_key     TEXT   COLLATE "C" NOT NULL,
	ts             BIGINT NOT NULL, -- Unix nanoseconds
	schema_name    TEXT   NOT NULL,
	schema_version BIGINT NOT NULL,
	data           BYTEA  NOT NULL
);
CREATE INDEX IF NOT EXISTS aimdb_history_key_ts ON aimdb_history (record_key, ts, id);
CREATE TABLE IF NOT EXISTS aimdb_outbox (
	id      BIGSERIAL PRIMARY KEY,
	name    TEXT  NOT NULL,
	topic   TEXT  NOT NULL,
	payload BYTEA NOT NULL
);
CREATE INDEX IF NOT EXISTS aimdb_outbox_name ON aimdb_outbox (name, id);
`

// Backend is a persist.Backend in a PostgreSQL database, in the table
// aimdb_history. It is safe for concurrent use.
type Backend struct {
	pool *pgxpool.Pool

	mu     sync.RWMutex
	closed bool
}

var _ persist.OutboxBackend = (*Backend)(nil)

// Open connects to the database named by connString (a postgres:// URL
// or a keyword/value string, as pgx takes) and creates the history table
// if it is missing.
func Open(ctx context.Context, connString string) (*Backend, error) {
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("%w postgres connection string: %v", persist.ErrInvalid, err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if _, err := pool.Exec(ctx, schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return &Backend{pool: pool}, nil
}

// Name implements persist.Backend.
func (b *Backend) Name() string { return "postgres" }

// Pool returns the connection pool, for inspection and benchmarks.
func (b *Backend) Pool() *pgxpool.Pool { return b.pool }

func (b *Backend) use() (func(), error) {
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return nil, persist.ErrClosed
	}
	return b.mu.RUnlock, nil
}

var columns = []string{"record_key", "ts", "schema_name", "schema_version", "data"}

// Append implements persist.Backend: one COPY, atomic.
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
	src := pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
		r := rows[i]
		data := r.Data
		if data == nil {
			data = []byte{}
		}
		return []any{r.Key, r.Time.UnixNano(), r.Schema, int64(r.Version), data}, nil
	})
	if _, err := b.pool.CopyFrom(ctx, pgx.Identifier{"aimdb_history"}, columns, src); err != nil {
		return fmt.Errorf("postgres append: %w", err)
	}
	return nil
}

// where builds a WHERE clause with numbered placeholders.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(w.args))))
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return "TRUE"
	}
	return strings.Join(w.conds, " AND ")
}

func keyBounds(w *where, pattern string) {
	if persist.IsLiteral(pattern) {
		w.add("record_key = ?", pattern)
		return
	}
	p := persist.LiteralPrefix(pattern)
	if p == "" {
		return
	}
	w.add("record_key >= ?", p)
	if up, ok := upperBound(p); ok {
		w.add("record_key < ?", up)
	}
}

func upperBound(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0x7f { // stay within ASCII, so the bound is valid UTF-8
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
	var w where
	keyBounds(&w, q.Pattern)
	if !q.Since.IsZero() {
		w.add("ts >= ?", q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		w.add("ts <= ?", q.Until.UnixNano())
	}
	dir := "ASC"
	if q.Order == persist.Descending {
		dir = "DESC"
	}
	args := w.args
	var stmt string
	switch {
	case q.Limit > 0 && q.Bucket == 0 && persist.IsLiteral(q.Pattern):
		args = append(args, q.Limit)
		stmt = fmt.Sprintf("SELECT %s FROM aimdb_history WHERE %s ORDER BY ts %s, id %s LIMIT $%d", cols, &w, dir, dir, len(args))
	case q.Limit > 0 && q.Bucket == 0:
		args = append(args, q.Limit)
		stmt = fmt.Sprintf(`SELECT %s FROM (SELECT %s, ROW_NUMBER() OVER (PARTITION BY record_key ORDER BY ts %s, id %s) AS rn
			FROM aimdb_history WHERE %s) AS s WHERE rn <= $%d ORDER BY ts %s, id %s`, cols, cols, dir, dir, &w, len(args), dir, dir)
	default:
		stmt = fmt.Sprintf("SELECT %s FROM aimdb_history WHERE %s ORDER BY ts %s, id %s", cols, &w, dir, dir)
	}
	rows, err := b.scan(ctx, q.Pattern, stmt, args...)
	if err != nil {
		return nil, err
	}
	return persist.Shape(rows, q), nil
}

func (b *Backend) scan(ctx context.Context, pattern, stmt string, args ...any) ([]persist.Row, error) {
	rs, err := b.pool.Query(ctx, stmt, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres query: %w", err)
	}
	defer rs.Close()
	var out []persist.Row
	for rs.Next() {
		var r persist.Row
		var ts, ver int64
		if err := rs.Scan(&r.Seq, &r.Key, &ts, &r.Schema, &ver, &r.Data); err != nil {
			return nil, fmt.Errorf("postgres query: %w", err)
		}
		if !persist.Match(pattern, r.Key) {
			continue
		}
		r.Time = time.Unix(0, ts)
		r.Version = uint32(ver)
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("postgres query: %w", err)
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
	var w where
	keyBounds(&w, pattern)
	stmt := fmt.Sprintf(`SELECT DISTINCT ON (record_key) %s FROM aimdb_history WHERE %s
		ORDER BY record_key, ts DESC, id DESC`, cols, &w)
	return b.scan(ctx, pattern, stmt, w.args...)
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
	var n int64
	err = pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		if !t.Before.IsZero() {
			tag, err := tx.Exec(ctx, "DELETE FROM aimdb_history WHERE record_key = $1 AND ts < $2", key, t.Before.UnixNano())
			if err != nil {
				return err
			}
			n += tag.RowsAffected()
		}
		if t.Keep > 0 {
			tag, err := tx.Exec(ctx, `DELETE FROM aimdb_history WHERE record_key = $1 AND id NOT IN
				(SELECT id FROM aimdb_history WHERE record_key = $1 ORDER BY ts DESC, id DESC LIMIT $2)`, key, t.Keep)
			if err != nil {
				return err
			}
			n += tag.RowsAffected()
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("postgres trim: %w", err)
	}
	return n, nil
}

// Close implements persist.Backend. It is idempotent.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		b.pool.Close()
	}
	return nil
}
