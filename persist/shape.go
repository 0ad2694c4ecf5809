package persist

import (
	"cmp"
	"slices"
	"time"
)

// Shape applies q to rows a backend selected by pattern and time range:
// it orders them, downsamples by q.Bucket and keeps q.Limit rows per
// record. Rows must carry their Seq. Backends that cannot do it in their
// query language call it on their result; it reorders rows in place.
func Shape(rows []Row, q Query) []Row {
	slices.SortFunc(rows, func(a, b Row) int { return compareRows(a, b, q.Order) })
	if q.Bucket <= 0 && q.Limit <= 0 {
		return rows
	}
	type state struct {
		n      int
		bucket int64
		has    bool
		at     int // index in out of the row kept for the current bucket
	}
	per := map[string]*state{}
	out := rows[:0:0]
	for _, r := range rows {
		st := per[r.Key]
		if st == nil {
			st = &state{}
			per[r.Key] = st
		}
		var b int64
		if q.Bucket > 0 {
			b = bucketOf(r.Time, q.Bucket)
			if st.has && st.bucket == b {
				if q.Order == Ascending {
					out[st.at] = r // the newer row of the bucket wins
				}
				continue
			}
		}
		if q.Limit > 0 && st.n >= q.Limit {
			continue
		}
		st.bucket, st.has = b, true
		st.n++
		st.at = len(out)
		out = append(out, r)
	}
	if q.Bucket > 0 && q.Order == Ascending {
		// Replacing kept rows may have put rows of a later time at
		// earlier places.
		slices.SortFunc(out, func(a, b Row) int { return compareRows(a, b, q.Order) })
	}
	return out
}

func compareRows(a, b Row, o Order) int {
	c := a.Time.Compare(b.Time)
	if c == 0 {
		c = cmp.Compare(a.Seq, b.Seq)
	}
	if o == Descending {
		return -c
	}
	return c
}

// bucketOf returns the index of the bucket of t, rounding down.
func bucketOf(t time.Time, d time.Duration) int64 {
	n := t.UnixNano()
	b := n / int64(d)
	if n%int64(d) < 0 {
		b--
	}
	return b
}
