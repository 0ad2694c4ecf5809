package aimdb_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/loopback"
)

var (
	famTemp = aimdb.NewFamily[float64]("station.{id}.temperature")
	famHum  = aimdb.NewFamily[float64]("station.{id}.humidity")
	famSum  = aimdb.NewFamily[float64]("station.{id}.sum")
	famF    = aimdb.NewFamily[float64]("station.{id}.fahrenheit")
)

func mustFamily[T any](t *testing.T, db *aimdb.DB, k aimdb.FamilyKey[T], buf aimdb.Buffer, opts ...aimdb.FamilyOption) *aimdb.Family[T] {
	t.Helper()
	return aimdbtest.Must[*aimdb.Family[T]](t)(aimdb.RegisterFamily(db, k, buf, opts...))
}

func TestFamilyInstanceKey(t *testing.T) {
	tests := []struct {
		vals []string
		want string
	}{
		{[]string{"17"}, "station.17.temperature"},
		{[]string{"4711"}, "station.4711.temperature"},
		{nil, "station.{id}.temperature"},                // too few: invalid
		{[]string{"a", "b"}, "station.{id}.temperature"}, // too many: invalid
	}
	for _, tc := range tests {
		if got := famTemp.Instance(tc.vals...).Name(); got != tc.want {
			t.Errorf("Instance(%q) = %q; want %q", tc.vals, got, tc.want)
		}
	}
	two := aimdb.NewFamily[int]("site.{site}.room.{room}")
	if got := two.Instance("a", "b").Name(); got != "site.a.room.b" {
		t.Errorf("two captures: %q", got)
	}
}

// TestFamilyProduce creates instances from Produce, during the run, and
// checks that they are full records: metadata, Lookup, Subscribe, Peek.
func TestFamilyProduce(t *testing.T) {
	db := aimdb.New(nil)
	mustFamily(t, db, famTemp, aimdb.Latest())
	aimdbtest.Start(t, db)
	if got := len(db.Records()); got != 0 {
		t.Fatalf("Records() before any write: %d; want 0", got)
	}
	for _, id := range []string{"1", "4711", "x_9"} {
		if err := aimdb.Produce(db, famTemp.Instance(id), 20.5); err != nil {
			t.Fatalf("Produce(%s) = %v", id, err)
		}
	}
	md := db.Records()
	var keys []string
	for _, m := range md {
		keys = append(keys, m.RecordKey)
		if m.Family != famTemp.Template() || m.ProducedCount != 1 || m.BufferType != "single_latest" {
			t.Errorf("instance metadata %+v", m)
		}
	}
	if want := []string{"station.1.temperature", "station.4711.temperature", "station.x_9.temperature"}; !slices.Equal(keys, want) {
		t.Fatalf("Records() keys = %v; want %v", keys, want)
	}
	rec, err := aimdb.Lookup(db, famTemp.Instance("4711"))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := rec.Peek(); !ok || v != 20.5 {
		t.Fatalf("Peek() = %v, %v", v, ok)
	}
	sub := aimdbtest.Must[*aimdb.Subscription[float64]](t)(rec.Subscribe())
	defer sub.Close()
	if v, err := sub.Recv(t.Context()); err != nil || v != 20.5 {
		t.Fatalf("Recv() = %v, %v", v, err)
	}
	// Wrong type, bad values, unknown keys.
	if err := aimdb.Produce(db, aimdb.NewKey[int]("station.2.temperature"), 1); !errors.Is(err, aimdb.ErrTypeMismatch) {
		t.Errorf("Produce of another type = %v; want ErrTypeMismatch", err)
	}
	if err := aimdb.Produce(db, famTemp.Instance(), 1); !errors.Is(err, aimdb.ErrUnknownKey) {
		t.Errorf("Produce on an unfilled template = %v; want ErrUnknownKey", err)
	}
	if err := aimdb.Produce(db, aimdb.NewKey[float64]("station.a.b.temperature"), 1); !errors.Is(err, aimdb.ErrUnknownKey) {
		t.Errorf("Produce on a key with an extra segment = %v; want ErrUnknownKey", err)
	}
	if _, err := aimdb.Lookup(db, famTemp.Instance("never")); !errors.Is(err, aimdb.ErrUnknownKey) {
		t.Errorf("Lookup of an instance never written = %v; want ErrUnknownKey", err)
	}
	if got := db.Families(); len(got) != 1 || got[0].Instances != 3 || got[0].Created != 3 || got[0].MaxInstances != aimdb.DefaultMaxInstances {
		t.Errorf("Families() = %+v", got)
	}
}

// TestFamilyTap checks that a family tap sees every instance's values with
// their captures, including instances created after it started.
func TestFamilyTap(t *testing.T) {
	db := aimdb.New(nil)
	fam := mustFamily(t, db, famTemp, aimdb.Ring(16))
	got := make(chan string, 100)
	fam.Tap(func(ctx context.Context, s *aimdb.FamilySubscription[float64]) error {
		for {
			inst, v, err := s.Recv(ctx)
			if err != nil {
				if errors.Is(err, aimdb.ErrClosed) {
					close(got)
					return nil
				}
				return err
			}
			got <- fmt.Sprintf("%s=%g", inst.Captures["id"], v)
		}
	})
	stop := aimdbtest.Start(t, db)
	for i := range 3 {
		for _, id := range []string{"a", "b"} {
			if err := aimdb.Produce(db, famTemp.Instance(id), float64(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var a, b []string
	for s := range got {
		if strings.HasPrefix(s, "a=") {
			a = append(a, s)
		} else {
			b = append(b, s)
		}
	}
	if want := []string{"a=0", "a=1", "a=2"}; !slices.Equal(a, want) {
		t.Errorf("tap saw %v of a; want %v", a, want)
	}
	if want := []string{"b=0", "b=1", "b=2"}; !slices.Equal(b, want) {
		t.Errorf("tap saw %v of b; want %v", b, want)
	}
}

// TestFamilyDerived runs a transform and a join between families, per
// instance, and checks the graph shows each family edge once.
func TestFamilyDerived(t *testing.T) {
	db := aimdb.New(nil)
	mustFamily(t, db, famTemp, aimdb.Ring(16))
	mustFamily(t, db, famHum, aimdb.Ring(16))
	sum := mustFamily(t, db, famSum, aimdb.Ring(16))
	f := mustFamily(t, db, famF, aimdb.Ring(16))
	aimdb.JoinFamily2(sum, famTemp, famHum, func(t, h float64) (float64, bool) { return t + h, true })
	aimdb.TransformFamily(f, famTemp, func(c float64) (float64, bool) { return c*9/5 + 32, c > -100 })
	sums := sum.Subscribe()
	defer sums.Close()
	fs := f.Subscribe()
	defer fs.Close()
	aimdbtest.Start(t, db)

	produce := func(k aimdb.Key[float64], v float64) {
		t.Helper()
		if err := aimdb.Produce(db, k, v); err != nil {
			t.Fatal(err)
		}
	}
	produce(famTemp.Instance("1"), 10)
	produce(famTemp.Instance("2"), 100)
	produce(famHum.Instance("1"), 1) // 1: 11
	produce(famHum.Instance("2"), 2) // 2: 102
	want := map[string][]float64{"1": {11, 21}, "2": {102}}
	got := map[string][]float64{}
	for n := range 3 {
		if n == 2 {
			// The join sees the latest of each input when it runs: a
			// second value before it ran would replace the first.
			produce(famTemp.Instance("1"), 20)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		inst, v, err := sums.Recv(ctx)
		cancel()
		if err != nil {
			t.Fatalf("Recv after %v: %v; records %+v", got, err, db.Records())
		}
		if inst.Key != famSum.Instance(inst.Captures["id"]).Name() {
			t.Errorf("instance %+v", inst)
		}
		got[inst.Captures["id"]] = append(got[inst.Captures["id"]], v)
	}
	for id, w := range want {
		if !slices.Equal(got[id], w) {
			t.Errorf("sum of station %s = %v; want %v", id, got[id], w)
		}
	}
	produce(famTemp.Instance("2"), 0)
	fahrenheit := map[string][]float64{}
	for len(fahrenheit["2"]) < 2 {
		inst, v, err := fs.Recv(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		fahrenheit[inst.Captures["id"]] = append(fahrenheit[inst.Captures["id"]], v)
	}
	if want := []float64{212, 32}; !slices.Equal(fahrenheit["2"], want) {
		t.Errorf("fahrenheit of station 2: %v; want %v", fahrenheit["2"], want)
	}

	g := db.Graph()
	var famEdges []string
	for _, e := range g.Edges {
		if e.From != nil && e.To != nil {
			famEdges = append(famEdges, *e.From+"→"+*e.To)
		}
	}
	wantEdges := []string{
		"station.{id}.temperature→station.{id}.sum",
		"station.{id}.humidity→station.{id}.sum",
		"station.{id}.temperature→station.{id}.fahrenheit",
	}
	if !slices.Equal(famEdges, wantEdges) {
		t.Errorf("graph edges %v; want %v", famEdges, wantEdges)
	}
	var nodes []string
	for _, n := range g.Nodes {
		if n.Family == "station.{id}.sum" {
			nodes = append(nodes, n.Key)
		}
		if n.Key == "station.{id}.sum" && (n.Instances == nil || *n.Instances != 2) {
			t.Errorf("family node %+v; want 2 instances", n)
		}
	}
	slices.Sort(nodes)
	if want := []string{"station.1.sum", "station.2.sum"}; !slices.Equal(nodes, want) {
		t.Errorf("instance nodes of the sum family: %v; want %v", nodes, want)
	}
	for _, m := range db.Records() {
		if m.RecordKey == "station.1.sum" {
			if m.Origin.Kind != "transform_join" || !slices.Equal(m.Origin.Inputs, []string{"station.1.temperature", "station.1.humidity"}) {
				t.Errorf("instance origin %+v", m.Origin)
			}
		}
	}
}

// TestFamilyLinks feeds a family from one wildcard subscription and
// publishes it per instance, over the loopback connector.
func TestFamilyLinks(t *testing.T) {
	broker := loopback.New()
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"loop": broker.Dialer()}})
	fam := mustFamily(t, db, famTemp, aimdb.Ring(16))
	fam.LinkFrom("loop://station/{id}/temperature", codec.JSON[float64]{})
	out := mustFamily(t, db, famF, aimdb.Ring(16))
	aimdb.TransformFamily(out, famTemp, func(c float64) (float64, bool) { return c*9/5 + 32, true })
	out.LinkTo("loop://out/{id}/f", codec.JSON[float64]{})
	aimdbtest.Start(t, db)

	sess, err := broker.Dialer().Dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	outs := make(chan string, 16)
	if err := sess.Subscribe(t.Context(), &connector.Link{Topic: "out/#", Inbound: true}, func(m *connector.Message) {
		outs <- m.Topic + " " + string(m.Payload)
	}); err != nil {
		t.Fatal(err)
	}
	aimdbtest.WaitLinksConnected(t, db)
	pub := func(topic, payload string) {
		t.Helper()
		if err := sess.Publish(t.Context(), &connector.Message{Topic: topic, Payload: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
	}
	pub("station/4711/temperature", "100")
	pub("station/7/temperature", "0")
	pub("station/7/temperature", "not json") // decode error on an existing instance
	pub("station/8/temperature", "junk")     // rejected: no instance yet
	pub("station/a b/temperature", "1")      // rejected: not a key segment
	pub("station/4711/temperature", "-40")
	want := map[string]bool{"out/4711/f 212": true, "out/7/f 32": true, "out/4711/f -40": true}
	for len(want) > 0 {
		select {
		case s := <-outs:
			if !want[s] {
				t.Fatalf("unexpected publish %q", s)
			}
			delete(want, s)
		case <-time.After(5 * time.Second):
			t.Fatalf("publishes missing: %v", want)
		}
	}
	byKey := map[string]aimdb.RecordMetadata{}
	for _, m := range db.Records() {
		byKey[m.RecordKey] = m
	}
	if m := byKey["station.4711.temperature"]; len(m.Links) != 1 || m.Links[0].Received != 2 || m.Links[0].Address != "loop://station/4711/temperature" || m.Origin.Kind != "link" {
		t.Errorf("instance 4711 links %+v origin %+v", m.Links, m.Origin)
	}
	if m := byKey["station.7.temperature"]; len(m.Links) != 1 || m.Links[0].Received != 2 || m.Links[0].DecodeErrors != 1 {
		t.Errorf("instance 7 links %+v", m.Links)
	}
	if _, ok := byKey["station.8.temperature"]; ok {
		t.Error("a payload that did not decode created an instance")
	}
	if m := byKey["station.4711.fahrenheit"]; len(m.Links) != 1 || m.Links[0].Published != 2 {
		t.Errorf("outbound instance links %+v", m.Links)
	}
	if f := db.Families()[0]; f.Rejected != 2 || f.Instances != 2 {
		t.Errorf("family metadata %+v; want 2 rejected, 2 instances", f)
	}
	// A record an inbound link writes is never remotely writable.
	if rr, err := db.Remote("station.7.temperature"); err == nil && !rr.HasWriter() {
		t.Error("linked instance has no writer")
	}
}

// TestFamilyBounds checks that writes beyond MaxInstances are refused and
// counted exactly, and that existing instances keep working.
func TestFamilyBounds(t *testing.T) {
	db := aimdb.New(nil)
	mustFamily(t, db, famTemp, aimdb.Latest(), aimdb.MaxInstances(3))
	aimdbtest.Start(t, db)
	refused := 0
	for i := range 10 {
		err := aimdb.Produce(db, famTemp.Instance(fmt.Sprint(i)), 1)
		switch {
		case i < 3 && err != nil:
			t.Fatalf("instance %d: %v", i, err)
		case i >= 3 && !errors.Is(err, aimdb.ErrFamilyFull):
			t.Fatalf("instance %d beyond the bound: %v; want ErrFamilyFull", i, err)
		case err != nil:
			refused++
		}
	}
	if err := aimdb.Produce(db, famTemp.Instance("2"), 2); err != nil {
		t.Fatalf("existing instance at the bound: %v", err)
	}
	if f := db.Families()[0]; f.Instances != 3 || f.Refused != uint64(refused) || f.Created != 3 {
		t.Errorf("Families() = %+v; want 3 instances, %d refused", f, refused)
	}
}

func TestFamilyValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(t *testing.T, db *aimdb.DB)
		want []string
	}{
		{"no capture", func(t *testing.T, db *aimdb.DB) {
			aimdb.RegisterFamily(db, aimdb.NewFamily[int]("a.b"), aimdb.Latest())
		}, []string{"no capture"}},
		{"partial segment", func(t *testing.T, db *aimdb.DB) {
			aimdb.RegisterFamily(db, aimdb.NewFamily[int]("a.x{id}"), aimdb.Latest())
		}, []string{"a capture must be a whole segment"}},
		{"twice", func(t *testing.T, db *aimdb.DB) {
			aimdb.RegisterFamily(db, aimdb.NewFamily[int]("a.{id}.{id}"), aimdb.Latest())
		}, []string{"capture {id} appears twice"}},
		{"bad name and bad bound", func(t *testing.T, db *aimdb.DB) {
			aimdb.RegisterFamily(db, aimdb.NewFamily[int]("a.{1x}"), aimdb.Latest())
			aimdb.RegisterFamily(db, aimdb.NewFamily[int]("b.{x}"), aimdb.Latest(), aimdb.MaxInstances(0))
		}, []string{`capture name "1x"`, "MaxInstances(0)"}},
		{"derived captures differ", func(t *testing.T, db *aimdb.DB) {
			mustFamily(t, db, famTemp, aimdb.Latest())
			out := mustFamily(t, db, aimdb.NewFamily[float64]("site.{site}.t"), aimdb.Latest())
			aimdb.TransformFamily(out, famTemp, func(v float64) (float64, bool) { return v, true })
		}, []string{`input family "station.{id}.temperature" captures [{id}], but the family captures [{site}]`}},
		{"unregistered input and cycle", func(t *testing.T, db *aimdb.DB) {
			a := mustFamily(t, db, aimdb.NewFamily[int]("a.{id}"), aimdb.Latest())
			b := mustFamily(t, db, aimdb.NewFamily[int]("b.{id}"), aimdb.Latest())
			aimdb.TransformFamily(a, aimdb.NewFamily[int]("b.{id}"), func(v int) (int, bool) { return v, true })
			aimdb.TransformFamily(b, aimdb.NewFamily[int]("a.{id}"), func(v int) (int, bool) { return v, true })
			c := mustFamily(t, db, aimdb.NewFamily[int]("c.{id}"), aimdb.Latest())
			aimdb.TransformFamily(c, aimdb.NewFamily[int]("zzz.{id}"), func(v int) (int, bool) { return v, true })
		}, []string{`unregistered input family "zzz.{id}"`, "cyclic dependency among records: [a.{id}, b.{id}]"}},
		{"link captures", func(t *testing.T, db *aimdb.DB) {
			f := mustFamily(t, db, famTemp, aimdb.Latest())
			f.LinkFrom("loop://station/+/temperature", codec.JSON[float64]{})
			f.LinkTo("loop://x/{room}", codec.JSON[float64]{})
		}, []string{"the URL captures [] but the family's template captures [{id}]", "the URL captures [{room}] but the family's template captures only [{id}]"}},
		{"record key fills a template", func(t *testing.T, db *aimdb.DB) {
			mustFamily(t, db, famTemp, aimdb.Latest())
			aimdb.Register(db, aimdb.NewKey[float64]("station.3.temperature"), aimdb.Latest())
		}, []string{`key fills the template of family "station.{id}.temperature"`}},
		{"family and transform writer", func(t *testing.T, db *aimdb.DB) {
			mustFamily(t, db, famTemp, aimdb.Latest())
			f := mustFamily(t, db, famF, aimdb.Latest())
			f.LinkFrom("loop://f/{id}", codec.JSON[float64]{})
			aimdb.TransformFamily(f, famTemp, func(v float64) (float64, bool) { return v, true })
		}, []string{"conflicting writers"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := loopDB(nil)
			tc.cfg(t, db)
			err := db.Validate()
			var ice *aimdb.InvalidConfigError
			if !errors.As(err, &ice) {
				t.Fatalf("Validate() = %v; want *InvalidConfigError", err)
			}
			if len(ice.Errors) != len(tc.want) {
				t.Fatalf("got %d errors; want %d:\n%v", len(ice.Errors), len(tc.want), err)
			}
			for i, w := range tc.want {
				if !strings.Contains(ice.Errors[i].Error(), w) {
					t.Errorf("error %d = %q; want it to contain %q", i, ice.Errors[i], w)
				}
			}
		})
	}
}

// TestOriginOfSeveralLinks: an instance fed by two family links names
// as its origin the one its values arrive over, not merely the first
// registered.
func TestOriginOfSeveralLinks(t *testing.T) {
	broker := loopback.New()
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"loop": broker.Dialer(), "other": loopback.New().Dialer()}})
	fam := mustFamily(t, db, famTemp, aimdb.Ring(16))
	fam.LinkFrom("other://station/{id}/temperature", codec.JSON[float64]{})
	fam.LinkFrom("loop://station/{id}/temperature", codec.JSON[float64]{})
	aimdbtest.Start(t, db)
	sess, err := broker.Dialer().Dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	aimdbtest.WaitLinksConnected(t, db)
	for range 2 {
		if err := sess.Publish(t.Context(), &connector.Message{Topic: "station/9/temperature", Payload: []byte("21")}); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		for _, m := range db.Records() {
			if m.RecordKey == "station.9.temperature" && m.ProducedCount == 2 {
				if m.Origin.Kind != "link" || m.Origin.Address != "loop://station/9/temperature" {
					t.Fatalf("origin %+v; want the loop:// link that delivered both values", m.Origin)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("station.9.temperature never held 2 values: %+v", db.Records())
		}
	}
}
