package aimdb_test

import (
	"testing"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/contract"
)

type celsius struct{ C float32 }

func (celsius) Schema() contract.Schema { return contract.Schema{Name: "celsius", Version: 4} }

// TestMetadataSchema checks that records, and a family's instances, whose
// type declares a contract schema say so in their metadata, and that
// other records do not.
func TestMetadataSchema(t *testing.T) {
	db := aimdb.New(nil)
	if _, err := aimdb.Register(db, aimdb.NewKey[celsius]("room.temperature"), aimdb.Latest()); err != nil {
		t.Fatal(err)
	}
	if _, err := aimdb.Register(db, aimdb.NewKey[float64]("room.raw"), aimdb.Latest()); err != nil {
		t.Fatal(err)
	}
	fam := aimdb.NewFamily[celsius]("zone.{id}.temperature")
	if _, err := aimdb.RegisterFamily(db, fam, aimdb.Latest()); err != nil {
		t.Fatal(err)
	}
	aimdbtest.Start(t, db)
	if err := aimdb.Produce(db, fam.Instance("7"), celsius{21.5}); err != nil {
		t.Fatal(err)
	}
	want := map[string]contract.Schema{
		"room.temperature":   {Name: "celsius", Version: 4},
		"room.raw":           {},
		"zone.7.temperature": {Name: "celsius", Version: 4},
	}
	md := db.Records()
	if len(md) != len(want) {
		t.Fatalf("%d records; want %d", len(md), len(want))
	}
	for _, m := range md {
		if got := (contract.Schema{Name: m.SchemaType, Version: m.SchemaVersion}); got != want[m.RecordKey] {
			t.Errorf("%s: schema %v; want %v", m.RecordKey, got, want[m.RecordKey])
		}
	}
}

func (c celsius) Signal() float64               { return float64(c.C) }
func (celsius) SignalName() (name, unit string) { return "c", "°C" }

// TestObserve checks that an observed record, and every instance of an
// observed family, keep a gauge of the signal of each value produced, and
// that a record not observed keeps none.
func TestObserve(t *testing.T) {
	db := aimdb.New(nil)
	rec, err := aimdb.Register(db, aimdb.NewKey[celsius]("room.temperature"), aimdb.Ring(8))
	if err != nil {
		t.Fatal(err)
	}
	aimdb.Observe(rec)
	aimdb.Observe(rec) // once is enough
	if _, err := aimdb.Register(db, aimdb.NewKey[celsius]("room.unobserved"), aimdb.Latest()); err != nil {
		t.Fatal(err)
	}
	fam := aimdb.NewFamily[celsius]("zone.{id}.temperature")
	f, err := aimdb.RegisterFamily(db, fam, aimdb.Latest())
	if err != nil {
		t.Fatal(err)
	}
	aimdb.ObserveFamily(f)
	aimdbtest.Start(t, db)
	for _, v := range []float32{21.5, 19, 23.5} {
		for _, k := range []aimdb.Key[celsius]{rec.Key(), aimdb.NewKey[celsius]("room.unobserved"), fam.Instance("7"), fam.Instance("8")} {
			if err := aimdb.Produce(db, k, celsius{v}); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := aimdb.SignalStats{Signal: "c", Unit: "°C", Count: 3, Last: 23.5, Min: 19, Max: 23.5, Mean: 64.0 / 3}
	for _, m := range db.Records() {
		if m.RecordKey == "room.unobserved" {
			if len(m.SignalStats) != 0 {
				t.Errorf("%s: signal stats %+v; want none", m.RecordKey, m.SignalStats)
			}
			continue
		}
		if len(m.SignalStats) != 1 || m.SignalStats[0] != want {
			t.Errorf("%s: signal stats %+v; want %+v", m.RecordKey, m.SignalStats, want)
		}
	}
}
