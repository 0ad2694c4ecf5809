package persist

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aimdb-go/aimdb"
)

// Memory is a Backend that keeps rows in memory: history lives as long
// as the process. It is safe for concurrent use.
type Memory struct {
	mu     sync.Mutex
	rows   map[string][]Row // by key, in insertion order
	seq    int64
	closed bool
	boxes  map[string][]aimdb.OutboxMessage // outboxes by name, oldest first
	boxSeq int64
}

var _ OutboxBackend = (*Memory)(nil)

// NewMemory returns an empty in-memory backend.
func NewMemory() *Memory { return &Memory{rows: map[string][]Row{}} }

// Name implements Backend.
func (m *Memory) Name() string { return "memory" }

// Append implements Backend.
func (m *Memory) Append(ctx context.Context, rows []Row) error {
	if err := CheckRows(rows); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	for _, r := range rows {
		m.seq++
		r.Seq = m.seq
		r.Data = slices.Clone(r.Data)
		m.rows[r.Key] = append(m.rows[r.Key], r)
	}
	return nil
}

// Query implements Backend.
func (m *Memory) Query(ctx context.Context, q Query) ([]Row, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	var out []Row
	for k, rs := range m.rows {
		if !Match(q.Pattern, k) {
			continue
		}
		for _, r := range rs {
			if !q.Since.IsZero() && r.Time.Before(q.Since) || !q.Until.IsZero() && r.Time.After(q.Until) {
				continue
			}
			r.Data = slices.Clone(r.Data)
			out = append(out, r)
		}
	}
	return Shape(out, q), nil
}

// Latest implements Backend.
func (m *Memory) Latest(ctx context.Context, pattern string) ([]Row, error) {
	if err := ValidatePattern(pattern); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	var out []Row
	for k, rs := range m.rows {
		if len(rs) == 0 || !Match(pattern, k) {
			continue
		}
		best := rs[0]
		for _, r := range rs[1:] {
			if compareRows(r, best, Ascending) > 0 {
				best = r
			}
		}
		best.Data = slices.Clone(best.Data)
		out = append(out, best)
	}
	slices.SortFunc(out, func(a, b Row) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Trim implements Backend.
func (m *Memory) Trim(ctx context.Context, key string, t Trim) (int64, error) {
	if t.Keep < 0 {
		return 0, fmt.Errorf("%w trim: keep %d is negative", ErrInvalid, t.Keep)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	rs := m.rows[key]
	n := len(rs)
	if !t.Before.IsZero() {
		rs = slices.DeleteFunc(rs, func(r Row) bool { return r.Time.Before(t.Before) })
	}
	if t.Keep > 0 && len(rs) > t.Keep {
		slices.SortStableFunc(rs, func(a, b Row) int { return compareRows(a, b, Ascending) })
		rs = slices.Delete(rs, 0, len(rs)-t.Keep)
	}
	if len(rs) == 0 {
		delete(m.rows, key)
	} else {
		m.rows[key] = rs
	}
	return int64(n - len(rs)), nil
}

// Close implements Backend.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.rows = nil
	m.boxes = nil
	return nil
}

// OutboxAdd implements OutboxBackend.
func (m *Memory) OutboxAdd(ctx context.Context, name, topic string, payload []byte) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	if m.boxes == nil {
		m.boxes = map[string][]aimdb.OutboxMessage{}
	}
	m.boxSeq++
	m.boxes[name] = append(m.boxes[name], aimdb.OutboxMessage{ID: uint64(m.boxSeq), Topic: topic, Payload: slices.Clone(payload)})
	return m.boxSeq, nil
}

// OutboxDone implements OutboxBackend.
func (m *Memory) OutboxDone(ctx context.Context, name string, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	box := m.boxes[name]
	if i, ok := slices.BinarySearchFunc(box, uint64(id), func(o aimdb.OutboxMessage, id uint64) int {
		return cmp.Compare(o.ID, id)
	}); ok {
		m.boxes[name] = slices.Delete(box, i, i+1)
	}
	return nil
}

// OutboxLoad implements OutboxBackend.
func (m *Memory) OutboxLoad(ctx context.Context, name string) ([]aimdb.OutboxMessage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	out := make([]aimdb.OutboxMessage, len(m.boxes[name]))
	for i, o := range m.boxes[name] {
		out[i] = aimdb.OutboxMessage{ID: o.ID, Topic: o.Topic, Payload: slices.Clone(o.Payload)}
	}
	return out, nil
}
