package aimdb_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb"
)

func TestValidateKey(t *testing.T) {
	tests := []struct {
		key  string
		want string // substring of the error; "" = valid
	}{
		{"sensor.temp.indoor", ""},
		{"temp", ""},
		{"weather.station-1.temp", ""},
		{"weather/station-1.temp", "separate segments with dots"},
		{"", "empty"},
		{"   ", "only whitespace"},
		{"sensor temp", "whitespace"},
		{"sensor.temp\n", "whitespace"},
		{"sensor..temp", "empty segment"},
		{".sensor", "empty segment"},
		{"sensor.", "empty segment"},
		{"sensor.*", "wildcard"},
		{"sensor.#", "wildcard"},
		{"a\x00b", "control"},
		{"a\xffb", "control or invalid"},
	}
	for _, tt := range tests {
		err := aimdb.ValidateKey(tt.key)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("ValidateKey(%q) = %v; want nil", tt.key, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("ValidateKey(%q) = %v; want error containing %q", tt.key, err, tt.want)
		}
	}
}

func FuzzValidateKey(f *testing.F) {
	for _, s := range []string{"a.b.c", "", " ", "a..b", "a.*", "ü.ß"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		err := aimdb.ValidateKey(key)
		db := aimdb.New(nil)
		_, rerr := aimdb.Register(db, aimdb.NewKey[int](key), aimdb.Latest())
		if (err == nil) != (rerr == nil) {
			t.Fatalf("ValidateKey(%q) = %v but Register = %v", key, err, rerr)
		}
		if err != nil {
			if !strings.Contains(rerr.Error(), "invalid key") || len(db.Keys()) != 0 {
				t.Fatalf("Register(%q) = %v, keys %v: a bad key must be named and not stored", key, rerr, db.Keys())
			}
			return
		}
		if strings.TrimSpace(key) != key || key == "" || strings.Contains(key, "..") {
			t.Fatalf("ValidateKey(%q) accepted a malformed key", key)
		}
	})
}

func configErrors(t *testing.T, err error) []*aimdb.ConfigError {
	t.Helper()
	if !errors.Is(err, aimdb.ErrInvalidConfig) {
		t.Fatalf("error %v is not ErrInvalidConfig", err)
	}
	ice, ok := errors.AsType[*aimdb.InvalidConfigError](err)
	if !ok {
		t.Fatalf("error %T is not *InvalidConfigError", err)
	}
	return ice.Errors
}

// TestValidateCollectsEveryMistake builds one DB with one of each mistake
// and checks that Run reports all of them, each naming its record.
func TestValidateCollectsEveryMistake(t *testing.T) {
	db := aimdb.New(nil)
	type want struct{ key, msg string }
	var wants []want
	expect := func(key, msg string) { wants = append(wants, want{key, msg}) }

	// A transform whose input is registered later, with the wrong type.
	out, _ := aimdb.Register(db, aimdb.NewKey[string]("m.out.typed"), aimdb.Latest())
	aimdb.Transform(out, aimdb.NewKey[int]("m.in.late"), func(int) (string, bool) { return "", true })
	expect("m.out.typed", `.Transform() input "m.in.late" has type float64, but the function takes int`)
	_, _ = aimdb.Register(db, aimdb.NewKey[float64]("m.in.late"), aimdb.Latest())

	// Unknown transform input.
	orphan, _ := aimdb.Register(db, aimdb.NewKey[int]("m.out.orphan"), aimdb.Latest())
	aimdb.Transform(orphan, aimdb.NewKey[int]("m.in.missing"), func(v int) (int, bool) { return v, true })
	expect("m.out.orphan", `.Transform() references unregistered input "m.in.missing"`)

	// Same key, another type.
	_, err := aimdb.Register(db, aimdb.NewKey[int]("m.in.late"), aimdb.Latest())
	if err == nil {
		t.Fatal("Register with a second type succeeded")
	}
	expect("m.in.late", "key already registered with a different type")

	// Ring capacity < 1.
	_, _ = aimdb.Register(db, aimdb.NewKey[int]("m.ring.zero"), aimdb.Ring(0))
	expect("m.ring.zero", "ring capacity 0 is less than 1")

	// No buffer.
	_, _ = aimdb.Register(db, aimdb.NewKey[int]("m.no.buffer"), aimdb.Buffer{})
	expect("m.no.buffer", "no buffer")

	// Empty key.
	_, _ = aimdb.Register(db, aimdb.NewKey[int](" "), aimdb.Latest())
	expect(" ", "invalid key")

	// Conflicting writers.
	both, _ := aimdb.Register(db, aimdb.NewKey[int]("m.both.writers"), aimdb.Latest())
	both.Source(noop)
	aimdb.Transform(both, aimdb.NewKey[float64]("m.in.late"), func(float64) (int, bool) { return 0, true })
	expect("m.both.writers", "conflicting writers: record has .Source() + .Transform()")

	// Two sources, two transforms.
	two, _ := aimdb.Register(db, aimdb.NewKey[int]("m.two.sources"), aimdb.Latest())
	two.Source(noop)
	two.Source(noop)
	expect("m.two.sources", "2 .Source() stages; only one is allowed")

	// A nil stage function.
	nilTap, _ := aimdb.Register(db, aimdb.NewKey[int]("m.nil.tap"), aimdb.Latest())
	nilTap.Tap(nil)
	expect("m.nil.tap", ".Tap() given a nil function")

	// A cycle a → b → c → a, with d downstream of it (not named).
	a, _ := aimdb.Register(db, aimdb.NewKey[int]("cyc.a.x"), aimdb.Latest())
	b, _ := aimdb.Register(db, aimdb.NewKey[int]("cyc.b.x"), aimdb.Latest())
	c, _ := aimdb.Register(db, aimdb.NewKey[int]("cyc.c.x"), aimdb.Latest())
	d, _ := aimdb.Register(db, aimdb.NewKey[int]("cyc.d.x"), aimdb.Latest())
	id := func(v int) (int, bool) { return v, true }
	aimdb.Transform(a, c.Key(), id)
	aimdb.Transform(b, a.Key(), id)
	aimdb.Transform(c, b.Key(), id)
	aimdb.Transform(d, c.Key(), id)
	expect("", "cyclic dependency among records: [cyc.a.x, cyc.b.x, cyc.c.x]")

	err = db.Validate()
	errs := configErrors(t, err)
	if len(errs) != len(wants) {
		t.Errorf("got %d errors; want %d:\n%v", len(errs), len(wants), err)
	}
	for _, w := range wants {
		found := false
		for _, e := range errs {
			if e.Key == w.key && strings.Contains(e.Message, w.msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("missing error for record %q containing %q in:\n%v", w.key, w.msg, err)
		}
	}
	if runErr := db.Run(t.Context()); runErr == nil || runErr.Error() != err.Error() {
		t.Errorf("Run() = %v; want the Validate error", runErr)
	}
	if got := db.Graph().TopoOrder; strings.Contains(strings.Join(got, " "), "cyc.") {
		t.Errorf("TopoOrder %v includes records on or behind the cycle", got)
	}
}

func TestInvalidConfigErrorText(t *testing.T) {
	err := &aimdb.InvalidConfigError{Errors: []*aimdb.ConfigError{
		{Key: "rec.a", URL: "mqtt://broker/a", Message: "missing serializer"},
		{Key: "rec.b", Message: "duplicate producer"},
	}}
	want := `aimdb: invalid configuration (2 error(s)): record "rec.a" (mqtt://broker/a): missing serializer; record "rec.b": duplicate producer`
	if got := err.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	if n := len(err.Unwrap()); n != 2 {
		t.Errorf("Unwrap() has %d errors; want 2", n)
	}
}

func TestRegistry(t *testing.T) {
	db := aimdb.New(nil)
	keys := []aimdb.Key[float64]{
		aimdb.NewKey[float64]("temp.room.a"),
		aimdb.NewKey[float64]("temp.room.b"),
		aimdb.NewKey[float64]("temp.room.c"),
	}
	for _, k := range keys {
		if _, err := aimdb.Register(db, k, aimdb.Latest()); err != nil {
			t.Fatal(err)
		}
	}
	cfg := aimdb.NewKey[string]("config.app.name")
	if _, err := aimdb.Register(db, cfg, aimdb.Latest()); err != nil {
		t.Fatal(err)
	}
	if n := len(aimdb.RecordsOf[float64](db)); n != 3 {
		t.Errorf("RecordsOf[float64] = %d records; want 3", n)
	}
	if n := len(aimdb.RecordsOf[string](db)); n != 1 {
		t.Errorf("RecordsOf[string] = %d records; want 1", n)
	}
	if n := len(aimdb.RecordsOf[int](db)); n != 0 {
		t.Errorf("RecordsOf[int] = %d records; want 0", n)
	}
	for i, m := range db.Records() {
		if int(m.RecordID) != i {
			t.Errorf("record %q has id %d; want %d", m.RecordKey, m.RecordID, i)
		}
	}

	// The same key and type again: the same handle.
	r1, _ := aimdb.Lookup(db, keys[0])
	r2, err := aimdb.Register(db, keys[0], aimdb.Latest())
	if err != nil || r1 != r2 {
		t.Errorf("re-Register = %p, %v; want %p, nil", r2, err, r1)
	}
	if _, err := aimdb.Register(db, keys[0], aimdb.Ring(4)); err == nil {
		t.Error("re-Register with another buffer succeeded")
	}

	err = aimdb.Produce(db, aimdb.NewKey[int]("nonexistent.key"), 1)
	if !errors.Is(err, aimdb.ErrUnknownKey) || !strings.Contains(err.Error(), "nonexistent.key") {
		t.Errorf("Produce(unknown) = %v; want ErrUnknownKey naming the key", err)
	}
	err = aimdb.Produce(db, aimdb.NewKey[int]("temp.room.a"), 1)
	if !errors.Is(err, aimdb.ErrTypeMismatch) || !strings.Contains(err.Error(), "float64") {
		t.Errorf("Produce(wrong type) = %v; want ErrTypeMismatch naming the types", err)
	}
	if _, err := aimdb.Subscribe(db, aimdb.NewKey[int]("temp.room.b")); !errors.Is(err, aimdb.ErrTypeMismatch) {
		t.Errorf("Subscribe(wrong type) = %v; want ErrTypeMismatch", err)
	}
	if err := aimdb.Produce(db, keys[1], 21.5); err != nil {
		t.Fatal(err)
	}
	if v, ok := aimdbLookup(t, db, keys[1]).Peek(); !ok || v != 21.5 {
		t.Errorf("Peek() = %v, %v; want 21.5, true", v, ok)
	}
}

func aimdbLookup[T any](t *testing.T, db *aimdb.DB, k aimdb.Key[T]) *aimdb.Record[T] {
	t.Helper()
	r, err := aimdb.Lookup(db, k)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func noop(ctx context.Context, p *aimdb.Producer[int]) error { return nil }

// TestConsistency covers what a newcomer found inconsistent: the type
// mismatch of Register matches ErrTypeMismatch, a Run that fails
// validation closes Done with its error, and separate cycles are reported
// separately.
func TestConsistency(t *testing.T) {
	db := aimdb.New(nil)
	aimdb.Register(db, aimdb.NewKey[int]("c.a"), aimdb.Latest())
	if _, err := aimdb.Register(db, aimdb.NewKey[string]("c.a"), aimdb.Latest()); !errors.Is(err, aimdb.ErrTypeMismatch) {
		t.Errorf("Register with another type = %v; want it to match ErrTypeMismatch", err)
	}
	chain := func(a, b string) {
		ra, _ := aimdb.Register(db, aimdb.NewKey[int](a), aimdb.Latest())
		rb, _ := aimdb.Register(db, aimdb.NewKey[int](b), aimdb.Latest())
		aimdb.Transform(ra, aimdb.NewKey[int](b), func(v int) (int, bool) { return v, true })
		aimdb.Transform(rb, aimdb.NewKey[int](a), func(v int) (int, bool) { return v, true })
	}
	chain("x.1", "x.2")
	chain("y.1", "y.2")
	if db.Err() != nil {
		t.Fatal("Err before Run")
	}
	err := db.Run(t.Context())
	select {
	case <-db.Done():
	default:
		t.Fatal("Done not closed after Run failed validation")
	}
	if db.Err() != err || !errors.Is(err, aimdb.ErrInvalidConfig) {
		t.Fatalf("Err() = %v, Run() = %v", db.Err(), err)
	}
	for _, want := range []string{"cyclic dependency among records: [x.1, x.2]", "cyclic dependency among records: [y.1, y.2]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Run() = %v; want it to contain %q", err, want)
		}
	}
	if err := db.Run(t.Context()); !errors.Is(err, aimdb.ErrStarted) {
		t.Errorf("Run after a failed Run = %v; want ErrStarted", err)
	}
}
