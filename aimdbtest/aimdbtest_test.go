package aimdbtest_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
)

func TestStartAndCollect(t *testing.T) {
	db := aimdb.New(nil)
	key := aimdb.NewKey[int]("test.count.value")
	rec := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, key, aimdb.Ring(8)))
	rec.Source(func(ctx context.Context, p *aimdb.Producer[int]) error {
		for i := range 3 {
			_ = p.Produce(i)
		}
		return nil
	})
	sub := aimdbtest.Must[*aimdb.Subscription[int]](t)(rec.Subscribe())
	defer sub.Close()
	stop := aimdbtest.Start(t, db)
	if got := aimdbtest.Collect(t, sub, 3); !slices.Equal(got, []int{0, 1, 2}) {
		t.Fatalf("Collect = %v; want [0 1 2]", got)
	}
	if err := stop(); err != nil {
		t.Fatalf("stop() = %v", err)
	}
}
