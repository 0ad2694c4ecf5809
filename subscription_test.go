package aimdb_test

import (
	"errors"
	"testing"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
)

var countKey = aimdb.NewKey[int]("test.count.value")

func TestLagErrorCarriesKeyAndExactCount(t *testing.T) {
	db := aimdb.New(nil)
	rec := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, countKey, aimdb.Ring(3)))
	sub := aimdbtest.Must[*aimdb.Subscription[int]](t)(rec.Subscribe())
	defer sub.Close()
	for i := range 10 {
		_ = rec.Produce(i)
	}
	_, err := sub.TryRecv()
	lag, ok := errors.AsType[*aimdb.LagError](err)
	if !ok || lag.Missed != 7 || lag.Key != countKey.Name() {
		t.Fatalf("TryRecv() = %v; want *LagError{Key: %q, Missed: 7}", err, countKey)
	}
	if v, err := sub.TryRecv(); v != 7 || err != nil {
		t.Fatalf("TryRecv() after lag = %d, %v; want 7", v, err)
	}
	m := db.Records()[0]
	if m.ProducedCount != 10 || m.ConsumedCount != 1 || m.DroppedCount != 7 || m.Occupancy != [2]int{3, 3} {
		t.Fatalf("metadata counters = %d/%d/%d %v; want 10/1/7 [3 3]", m.ProducedCount, m.ConsumedCount, m.DroppedCount, m.Occupancy)
	}
}

func TestBufferSemanticsThroughTheDB(t *testing.T) {
	db := aimdb.New(nil)
	latest := aimdbtest.Must[*aimdb.Record[string]](t)(aimdb.Register(db, aimdb.NewKey[string]("cfg.app.mode"), aimdb.Latest()))
	box := aimdbtest.Must[*aimdb.Record[string]](t)(aimdb.Register(db, aimdb.NewKey[string]("cmd.app.mode"), aimdb.Mailbox()))
	ring := aimdbtest.Must[*aimdb.Record[string]](t)(aimdb.Register(db, aimdb.NewKey[string]("log.app.mode"), aimdb.Ring(4)))
	for _, r := range []*aimdb.Record[string]{latest, box, ring} {
		_ = r.Produce("before")
	}
	// Latest: a new subscriber gets the current value once.
	s := aimdbtest.Must[*aimdb.Subscription[string]](t)(latest.Subscribe())
	if v, err := s.TryRecv(); v != "before" || err != nil {
		t.Errorf("Latest fresh subscriber: %q, %v; want before", v, err)
	}
	// Mailbox: a value pushed before subscribing is delivered, once.
	s1 := aimdbtest.Must[*aimdb.Subscription[string]](t)(box.Subscribe())
	s2 := aimdbtest.Must[*aimdb.Subscription[string]](t)(box.Subscribe())
	if v, err := s2.TryRecv(); v != "before" || err != nil {
		t.Errorf("Mailbox: %q, %v; want before", v, err)
	}
	if _, err := s1.TryRecv(); !errors.Is(err, aimdb.ErrEmpty) {
		t.Errorf("Mailbox second reader: %v; want ErrEmpty", err)
	}
	// Ring: no backfill.
	s3 := aimdbtest.Must[*aimdb.Subscription[string]](t)(ring.Subscribe())
	if _, err := s3.TryRecv(); !errors.Is(err, aimdb.ErrEmpty) {
		t.Errorf("Ring new subscriber: %v; want ErrEmpty", err)
	}
	if _, ok := ring.Peek(); ok {
		t.Error("Ring Peek reported a value")
	}
	if v, ok := box.Peek(); ok {
		t.Errorf("Mailbox Peek after take = %q; want none", v)
	}
	for _, s := range []*aimdb.Subscription[string]{s, s1, s2, s3} {
		s.Close()
	}
}
