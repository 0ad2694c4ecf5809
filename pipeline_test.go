package aimdb_test

import (
	"testing"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
)

var (
	rawKey  = aimdb.NewKey[int]("test.raw.value")
	evenKey = aimdb.NewKey[int]("test.even.value")
)

func TestTransformKeepsOrderUnderLoad(t *testing.T) {
	db := aimdb.New(nil)
	raw := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, rawKey, aimdb.Ring(1024)))
	even := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, evenKey, aimdb.Ring(1024)))
	aimdb.Transform(even, rawKey, func(v int) (int, bool) { return v, true })
	sub := aimdbtest.Must[*aimdb.Subscription[int]](t)(even.Subscribe())
	defer sub.Close()
	aimdbtest.Start(t, db)
	for i := range 200 {
		_ = raw.Produce(i)
	}
	for i := range 200 {
		v, err := sub.Recv(t.Context())
		if err != nil || v != i {
			t.Fatalf("value %d: got %d, %v", i, v, err)
		}
	}
}
