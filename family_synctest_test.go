//go:build !tinygo

package aimdb_test

// TinyGo has no testing/synctest: the eviction tests run on the DB's
// clock in a synctest bubble, on the gc targets only.

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
)

// TestFamilyEviction evicts idle instances on the DB's virtual clock.
func TestFamilyEviction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := aimdb.New(nil)
		fam := mustFamily(t, db, famTemp, aimdb.Latest(), aimdb.IdleEviction(time.Minute))
		sub := fam.Subscribe()
		defer sub.Close()
		aimdbtest.Start(t, db)
		produce := func(id string) {
			t.Helper()
			if err := aimdb.Produce(db, famTemp.Instance(id), 1); err != nil {
				t.Fatal(err)
			}
		}
		produce("old")
		produce("busy")
		for range 8 { // 2 minutes: "busy" keeps writing
			time.Sleep(15 * time.Second)
			produce("busy")
			synctest.Wait()
		}
		var keys []string
		for _, m := range db.Records() {
			keys = append(keys, m.RecordKey)
		}
		if want := []string{"station.busy.temperature"}; !slices.Equal(keys, want) {
			t.Fatalf("after 2 idle minutes: %v; want %v", keys, want)
		}
		if f := db.Families()[0]; f.Evicted != 1 || f.Instances != 1 {
			t.Errorf("Families() = %+v; want 1 evicted", f)
		}
		produce("old") // created again
		if f := db.Families()[0]; f.Created != 3 || f.Instances != 2 {
			t.Errorf("after a new write: %+v", f)
		}
	})
}

// TestFamilyJoinEviction evicts a join's input instances and creates them
// again: the join starts afresh for them (both inputs needed again) and
// keeps serving the instances that stayed.
func TestFamilyJoinEviction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := aimdb.New(nil)
		mustFamily(t, db, famTemp, aimdb.Latest(), aimdb.IdleEviction(time.Minute))
		mustFamily(t, db, famHum, aimdb.Latest(), aimdb.IdleEviction(time.Minute))
		sum := mustFamily(t, db, famSum, aimdb.Ring(16))
		aimdb.JoinFamily2(sum, famTemp, famHum, func(t, h float64) (float64, bool) { return t + h, true })
		sums := sum.Subscribe()
		defer sums.Close()
		aimdbtest.Start(t, db)
		produce := func(k aimdb.Key[float64], v float64) {
			t.Helper()
			if err := aimdb.Produce(db, k, v); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
		}
		recv := func() float64 {
			t.Helper()
			_, v, err := sums.Recv(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		produce(famTemp.Instance("1"), 10)
		produce(famHum.Instance("1"), 1)
		if v := recv(); v != 11 {
			t.Fatalf("first sum %v; want 11", v)
		}
		time.Sleep(2 * time.Minute) // both inputs idle: evicted
		synctest.Wait()
		if f := db.Families(); f[0].Evicted != 1 || f[1].Evicted != 1 {
			t.Fatalf("families after 2 idle minutes: %+v", f)
		}
		produce(famTemp.Instance("1"), 5) // a new instance: the join waits for humidity again
		produce(famHum.Instance("1"), 2)
		if v := recv(); v != 7 {
			t.Fatalf("sum after re-creation %v; want 7 (5+2, no stale humidity)", v)
		}
	})
}
