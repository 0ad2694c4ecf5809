package aimx_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
)

var (
	famStationTemp = aimdb.NewFamily[Temp]("station.{id}.temperature")
	famStationHum  = aimdb.NewFamily[float64]("station.{id}.humidity")
)

// startFamilies serves, over a Unix socket, a DB with two families with
// remote access and no instance yet.
func startFamilies(t *testing.T) (*aimdb.DB, string) {
	t.Helper()
	db := aimdb.New(nil)
	temp, err := aimdb.RegisterFamily(db, famStationTemp, aimdb.Ring(8))
	if err != nil {
		t.Fatal(err)
	}
	temp.RemoteAccess(codec.JSON[Temp]{})
	hum, err := aimdb.RegisterFamily(db, famStationHum, aimdb.Latest())
	if err != nil {
		t.Fatal(err)
	}
	hum.RemoteAccess(codec.JSON[float64]{})
	stop := aimdbtest.Start(t, db)
	ep := "unix://" + filepath.Join(t.TempDir(), "aimx.sock")
	ln, fr, err := aimx.Listen(ep)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- aimx.NewServer(db, nil).Serve(ctx, ln, fr) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if err := stop(); err != nil {
			t.Errorf("db: %v", err)
		}
	})
	return db, ep
}

// TestLiveDiscovery checks live discovery over AimX: a wildcard
// subscription open before a family's instances exist delivers each new
// matching instance, exactly once, in one seq.
func TestLiveDiscovery(t *testing.T) {
	db, ep := startFamilies(t)
	ctx := testCtx(t)
	c := dial(t, ep, nil)

	// A pattern no record and no family can match is still refused.
	if _, err := c.Subscribe(ctx, "nothing.*"); !errors.Is(err, aimx.ErrNotFound) {
		t.Fatalf("sub nothing.*: %v, want not_found", err)
	}
	s, err := c.Subscribe(ctx, "station.*.temperature")
	if err != nil {
		t.Fatalf("sub before any instance: %v", err)
	}
	produce := func(id string, v float64) {
		t.Helper()
		if err := aimdb.Produce(db, famStationTemp.Instance(id), Temp{v}); err != nil {
			t.Fatal(err)
		}
	}
	produce("2", 1)
	produce("2", 2)
	if err := aimdb.Produce(db, famStationHum.Instance("2"), 50); err != nil {
		t.Fatal(err)
	}
	produce("3", 3)
	produce("2", 4)

	want := []string{
		`station.2.temperature {"celsius":1}`,
		`station.2.temperature {"celsius":2}`,
		`station.3.temperature {"celsius":3}`,
		`station.2.temperature {"celsius":4}`,
	}
	seen := map[string]int{}
	for i := range want {
		u, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if u.Seq != uint64(i+1) || u.Lost != 0 || u.Snapshot {
			t.Errorf("update %d: seq %d lost %d snapshot %v, want seq %d", i, u.Seq, u.Lost, u.Snapshot, i+1)
		}
		seen[fmt.Sprintf("%s %s", u.Topic, u.Data)]++
	}
	for _, w := range want {
		if seen[w] != 1 {
			t.Errorf("%s delivered %d times, want 1 (got %v)", w, seen[w], seen)
		}
	}
	// Nothing else: not the humidity, nothing twice.
	if _, err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if u, err := s.Next(short); err == nil {
		t.Errorf("unexpected update %s %s seq %d", u.Topic, u.Data, u.Seq)
	}

	// A subscription opened now takes the instances as a snapshot.
	s2, err := c.Subscribe(ctx, "station.#")
	if err != nil {
		t.Fatal(err)
	}
	snaps := 0
	for snaps < 3 {
		u, err := s2.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !u.Snapshot {
			t.Fatalf("update %+v before the end of the snapshot", u)
		}
		snaps++
		if u.SnapshotEnd != (snaps == 3) {
			t.Errorf("snapshot %d: last = %v", snaps, u.SnapshotEnd)
		}
	}
	produce("4", 5)
	for _, st := range []*aimx.Stream{s, s2} {
		u, err := st.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if u.Topic != "station.4.temperature" || string(u.Data) != `{"celsius":5}` {
			t.Errorf("%s: got %s %s", st.Pattern(), u.Topic, u.Data)
		}
	}

	// record.list has the instances.
	rows, err := c.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fams := map[string]string{}
	for _, r := range rows {
		fams[r.RecordKey] = r.Family
	}
	for _, k := range []string{"station.2.temperature", "station.3.temperature", "station.4.temperature"} {
		if fams[k] != famStationTemp.Template() {
			t.Errorf("record.list: %s family %q, want %q (rows %v)", k, fams[k], famStationTemp.Template(), fams)
		}
	}

	// After unsub nothing arrives; the watcher goes with the last
	// growing subscription (goleak checks the pumps at the end).
	s.Close()
	s2.Close()
	produce("5", 6)
	if _, err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestListManyInstances checks record.list on a DB whose compacted rows
// do not fit one frame: refused, and a pattern lists a part.
func TestListManyInstances(t *testing.T) {
	db, ep := startFamilies(t)
	ctx := testCtx(t)
	for i := range 1000 {
		if err := aimdb.Produce(db, famStationTemp.Instance(fmt.Sprint(i)), Temp{1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := aimdb.Produce(db, famStationHum.Instance("7"), 1); err != nil {
		t.Fatal(err)
	}
	c := dial(t, ep, nil)
	var rows []aimx.RecordInfo
	if err := c.Call(ctx, "record.list", nil, &rows); !errors.Is(err, aimx.ErrInternal) {
		t.Errorf("record.list of 1001 records: %d rows, %v; want internal", len(rows), err)
	}
	got, err := c.RecordsMatching(ctx, "station.*.humidity")
	if err != nil || len(got) != 1 || got[0].RecordKey != "station.7.humidity" || got[0].Family != famStationHum.Template() {
		t.Errorf("record.list station.*.humidity = %+v, %v", got, err)
	}
}
