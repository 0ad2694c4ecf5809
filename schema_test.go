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
