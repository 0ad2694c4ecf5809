package postgres

import (
	"context"
	"fmt"

	"github.com/aimdb-go/aimdb"
)

// OutboxAdd implements persist.OutboxBackend. The row is committed when
// it returns.
func (b *Backend) OutboxAdd(ctx context.Context, name, topic string, payload []byte) (int64, error) {
	done, err := b.use()
	if err != nil {
		return 0, err
	}
	defer done()
	if payload == nil {
		payload = []byte{}
	}
	var id int64
	if err := b.pool.QueryRow(ctx, "INSERT INTO aimdb_outbox (name, topic, payload) VALUES ($1, $2, $3) RETURNING id", name, topic, payload).Scan(&id); err != nil {
		return 0, fmt.Errorf("postgres outbox %s: %w", name, err)
	}
	return id, nil
}

// OutboxDone implements persist.OutboxBackend.
func (b *Backend) OutboxDone(ctx context.Context, name string, id int64) error {
	done, err := b.use()
	if err != nil {
		return err
	}
	defer done()
	if _, err := b.pool.Exec(ctx, "DELETE FROM aimdb_outbox WHERE name = $1 AND id = $2", name, id); err != nil {
		return fmt.Errorf("postgres outbox %s: %w", name, err)
	}
	return nil
}

// OutboxLoad implements persist.OutboxBackend.
func (b *Backend) OutboxLoad(ctx context.Context, name string) ([]aimdb.OutboxMessage, error) {
	done, err := b.use()
	if err != nil {
		return nil, err
	}
	defer done()
	rows, err := b.pool.Query(ctx, "SELECT id, topic, payload FROM aimdb_outbox WHERE name = $1 ORDER BY id", name)
	if err != nil {
		return nil, fmt.Errorf("postgres outbox %s: %w", name, err)
	}
	defer rows.Close()
	var out []aimdb.OutboxMessage
	for rows.Next() {
		var m aimdb.OutboxMessage
		var id int64
		if err := rows.Scan(&id, &m.Topic, &m.Payload); err != nil {
			return nil, fmt.Errorf("postgres outbox %s: %w", name, err)
		}
		m.ID = uint64(id)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres outbox %s: %w", name, err)
	}
	return out, nil
}
