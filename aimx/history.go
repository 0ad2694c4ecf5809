package aimx

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aimdb-go/aimdb/persist"
)

// History returns a QueryFunc that answers record.query from a history
// backend: the rows of the records matching the pattern between start
// and end, at most limit per record (newest first selects the newest,
// oldest first the oldest), downsampled to one row per record and bucket
// when bucket is given. Without limit, start and end it returns the
// newest value of each record, as AimDB does. Payloads that are not JSON
// (a binary codec's) are sent as a JSON string holding their base64.
func History(b persist.Backend) QueryFunc {
	return func(ctx context.Context, p QueryParams) ([]QueryRow, error) {
		q := persist.Query{Pattern: p.Pattern, Order: persist.Ascending}
		if p.Order == "desc" {
			q.Order = persist.Descending
		}
		if p.Start != nil {
			q.Since = time.UnixMilli(int64(min(*p.Start, 1<<62)))
		}
		if p.End != nil {
			q.Until = time.UnixMilli(int64(min(*p.End, 1<<62))).Add(time.Millisecond - 1)
		}
		if p.Bucket != nil && *p.Bucket > 0 {
			q.Bucket = time.Duration(min(*p.Bucket, 1<<40)) * time.Millisecond
		}
		switch {
		case p.Limit != nil:
			q.Limit = int(min(*p.Limit, 1<<31))
		case p.Start == nil && p.End == nil:
			q.Limit, q.Order = 1, persist.Descending
		}
		rows, err := b.Query(ctx, q)
		if err != nil {
			return nil, err
		}
		out := make([]QueryRow, len(rows))
		for i, r := range rows {
			payload := json.RawMessage(r.Data)
			if !json.Valid(r.Data) {
				payload, _ = json.Marshal(r.Data)
			}
			out[i] = QueryRow{Topic: r.Key, Payload: payload, TS: uint64(max(r.Time.UnixMilli(), 0))}
		}
		return out, nil
	}
}
