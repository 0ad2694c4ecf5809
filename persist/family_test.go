package persist_test

import (
	"context"
	"testing"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/persist"
)

var stationTemp = aimdb.NewFamily[int]("station.{id}.temp")

func TestFamilyInstancesComeBack(t *testing.T) {
	mem := persist.NewMemory()
	runFam := func(work func(db *aimdb.DB, fam *aimdb.Family[int], tapped <-chan int)) {
		t.Helper()
		db := aimdb.New(nil)
		fam := aimdbtest.Must[*aimdb.Family[int]](t)(aimdb.RegisterFamily(db, stationTemp, aimdb.Ring(4), aimdb.MaxInstances(2)))
		fam.RemoteAccess(intCodec{})
		tapped := make(chan int, 100)
		fam.Tap(func(ctx context.Context, s *aimdb.FamilySubscription[int]) error {
			for {
				_, v, err := s.Recv(ctx)
				if err != nil {
					return err
				}
				tapped <- v
			}
		})
		persist.AttachFamily(fam, persist.NewStore(mem, nil), intCodec{}, &persist.Options{Replay: 3})
		stop := aimdbtest.Start(t, db)
		work(db, fam, tapped)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	}
	runFam(func(db *aimdb.DB, fam *aimdb.Family[int], tapped <-chan int) {
		for i := range 5 {
			for _, id := range []string{"1", "2"} {
				if err := aimdb.Produce(db, stationTemp.Instance(id), 10*i+len(id)*int(id[0]-'0')); err != nil {
					t.Fatal(err)
				}
				<-tapped
			}
		}
	})
	// Stored: station.1.temp 1,11,21,31,41 and station.2.temp 2,12,…,42; a
	// third instance would be over MaxInstances.
	if err := mem.Append(t.Context(), []persist.Row{{Key: "station.3.temp", Data: []byte("3")}, {Key: "station.x.y.temp", Data: []byte("0")}}); err != nil {
		t.Fatal(err)
	}
	runFam(func(db *aimdb.DB, fam *aimdb.Family[int], tapped <-chan int) {
		for key, want := range map[string]string{"station.1.temp": "41", "station.2.temp": "42"} {
			r, err := db.Remote(key)
			if err != nil {
				t.Fatalf("%s after restart: %v", key, err)
			}
			got, err := r.Latest()
			if err != nil || string(got) != want {
				t.Errorf("%s after restart: %s, %v; want %s", key, got, err, want)
			}
			if md := r.Metadata(); md.Occupancy[0] != 3 || md.Persist == nil || md.Persist.Replayed != 3 {
				t.Errorf("%s: occupancy %v, persist %+v; want 3 values replayed", key, md.Occupancy, md.Persist)
			}
		}
		if _, err := db.Remote("station.3.temp"); err == nil {
			t.Error("an instance over MaxInstances was created")
		}
		aimdb.Produce(db, stationTemp.Instance("1"), 99)
		if got := <-tapped; got != 99 {
			t.Errorf("family tap got %d, want 99 (restored values are not re-tapped)", got)
		}
	})
}
