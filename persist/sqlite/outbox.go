//go:build !js && !wasip1

package sqlite

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
	res, err := b.db.ExecContext(ctx, "INSERT INTO aimdb_outbox (name, topic, payload) VALUES (?, ?, ?)", name, topic, payload)
	if err != nil {
		return 0, fmt.Errorf("sqlite outbox %s: %w", name, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("sqlite outbox %s: %w", name, err)
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
	if _, err := b.db.ExecContext(ctx, "DELETE FROM aimdb_outbox WHERE name = ? AND id = ?", name, id); err != nil {
		return fmt.Errorf("sqlite outbox %s: %w", name, err)
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
	rows, err := b.db.QueryContext(ctx, "SELECT id, topic, payload FROM aimdb_outbox WHERE name = ? ORDER BY id", name)
	if err != nil {
		return nil, fmt.Errorf("sqlite outbox %s: %w", name, err)
	}
	defer rows.Close()
	var out []aimdb.OutboxMessage
	for rows.Next() {
		var m aimdb.OutboxMessage
		var id int64
		if err := rows.Scan(&id, &m.Topic, &m.Payload); err != nil {
			return nil, fmt.Errorf("sqlite outbox %s: %w", name, err)
		}
		m.ID = uint64(id)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite outbox %s: %w", name, err)
	}
	return out, nil
}
