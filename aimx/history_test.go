package aimx_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/persist"
)

func TestHistoryQuery(t *testing.T) {
	mem := persist.NewMemory()
	base := time.UnixMilli(1_700_000_000_000)
	var rows []persist.Row
	for i := range 10 {
		rows = append(rows, persist.Row{Key: "sensors.temp", Time: base.Add(time.Duration(i) * time.Second), Data: fmt.Appendf(nil, `{"celsius":%d}`, i)})
	}
	rows = append(rows, persist.Row{Key: "sensors.raw", Time: base, Data: []byte{0, 1, 2}})
	if err := mem.Append(t.Context(), rows); err != nil {
		t.Fatal(err)
	}
	f := startFixture(t, &aimx.ServerOptions{Query: aimx.History(mem)})
	c := dial(t, f.tcp, nil)
	ms := func(i int) *uint64 { v := uint64(base.UnixMilli()) + uint64(i)*1000; return &v }
	n := func(v uint64) *uint64 { return &v }
	for _, tc := range []struct {
		name string
		q    aimx.QueryParams
		want []string
	}{
		{"newest per record by default", aimx.QueryParams{Pattern: "sensors.*"},
			[]string{`sensors.raw "AAEC"`, `sensors.temp {"celsius":9}`}},
		{"range", aimx.QueryParams{Pattern: "sensors.temp", Start: ms(2), End: ms(4)},
			[]string{`sensors.temp {"celsius":2}`, `sensors.temp {"celsius":3}`, `sensors.temp {"celsius":4}`}},
		{"newest 2, newest first", aimx.QueryParams{Pattern: "sensors.temp", Limit: n(2), Order: "desc"},
			[]string{`sensors.temp {"celsius":9}`, `sensors.temp {"celsius":8}`}},
		{"oldest 2 since", aimx.QueryParams{Pattern: "sensors.temp", Limit: n(2), Start: ms(5)},
			[]string{`sensors.temp {"celsius":5}`, `sensors.temp {"celsius":6}`}},
		{"5 s buckets", aimx.QueryParams{Pattern: "sensors.temp", Start: ms(0), Bucket: n(5000)},
			[]string{`sensors.temp {"celsius":4}`, `sensors.temp {"celsius":9}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.Query(testCtx(t), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range res.Records {
				got = append(got, r.Topic+" "+string(r.Payload))
			}
			if !slices.Equal(got, tc.want) || res.Total != len(tc.want) {
				t.Errorf("got %q (total %d), want %q", got, res.Total, tc.want)
			}
		})
	}
	// The bucket boundaries are multiples since the epoch: the base is a
	// multiple of 5 s, so the rows at 0..4 s share a bucket.
	if base.UnixMilli()%5000 != 0 {
		t.Fatal("the base time is not on a 5 s boundary")
	}
	for _, q := range []aimx.QueryParams{{Pattern: "#", Order: "sideways"}, {Pattern: "a..b"}} {
		if _, err := c.Query(testCtx(t), q); !errors.Is(err, aimx.ErrInternal) {
			t.Errorf("Query(%+v): %v, want ErrInternal", q, err)
		}
	}
}
