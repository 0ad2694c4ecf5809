package aimdb_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/aimdb-go/aimdb"
)

// intJSON encodes ints as JSON numbers; negative values fail to encode.
type intJSON struct{}

func (intJSON) Encode(v int) ([]byte, error) {
	if v < 0 {
		return nil, errors.New("negative")
	}
	return strconv.AppendInt(nil, int64(v), 10), nil
}

func (intJSON) Decode(b []byte) (int, error) { return strconv.Atoi(string(b)) }

func TestRemoteRecord(t *testing.T) {
	db := aimdb.New(nil)
	ring, _ := aimdb.Register(db, aimdb.NewKey[int]("ring"), aimdb.Ring(2))
	ring.RemoteAccess(intJSON{})
	latest, _ := aimdb.Register(db, aimdb.NewKey[int]("latest"), aimdb.Latest())
	latest.RemoteAccess(intJSON{})
	sourced, _ := aimdb.Register(db, aimdb.NewKey[int]("sourced"), aimdb.Latest())
	sourced.Source(func(ctx context.Context, p *aimdb.Producer[int]) error { return nil })
	sourced.RemoteAccess(intJSON{})
	hidden, _ := aimdb.Register(db, aimdb.NewKey[int]("hidden"), aimdb.Latest())

	if _, err := db.Remote("nope"); !errors.Is(err, aimdb.ErrUnknownKey) {
		t.Errorf("Remote(unknown) = %v", err)
	}
	if _, err := db.Remote("hidden"); !errors.Is(err, aimdb.ErrNoRemoteAccess) {
		t.Errorf("Remote(hidden) = %v", err)
	}
	_ = hidden
	for _, md := range db.Records() {
		if md.RemoteAccess != (md.RecordKey != "hidden") {
			t.Errorf("%s: RemoteAccess = %v", md.RecordKey, md.RemoteAccess)
		}
	}

	r, err := db.Remote("ring")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Latest(); !errors.Is(err, aimdb.ErrNoValue) {
		t.Errorf("Latest of an empty ring = %v, want ErrNoValue", err)
	}
	sub, err := r.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for _, v := range []int{1, 2, 3, 4, 5} {
		if err := r.Set([]byte(strconv.Itoa(v))); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := r.Latest(); err != nil || string(b) != "5" {
		t.Errorf("Latest of the ring = %s, %v; want the newest, 5", b, err)
	}
	// Capacity 2: 1, 2 and 3 were overwritten; the lag is folded into the
	// count returned with the next value.
	if b, missed, err := sub.TryRecv(); err != nil || string(b) != "4" || missed != 3 {
		t.Errorf("TryRecv = %s, missed %d, %v; want 4, missed 3", b, missed, err)
	}
	if b, missed, err := sub.TryRecv(); err != nil || string(b) != "5" || missed != 0 {
		t.Errorf("TryRecv = %s, missed %d, %v; want 5, missed 0", b, missed, err)
	}
	if _, _, err := sub.TryRecv(); !errors.Is(err, aimdb.ErrEmpty) {
		t.Errorf("TryRecv on an empty subscription = %v", err)
	}

	// A value the codec cannot encode is skipped and counted.
	if err := ring.Produce(-1); err != nil {
		t.Fatal(err)
	}
	if err := ring.Produce(6); err != nil {
		t.Fatal(err)
	}
	if _, _, err := sub.TryRecv(); err == nil {
		t.Error("TryRecv of an unencodable value succeeded")
	}
	if b, missed, err := sub.TryRecv(); err != nil || string(b) != "6" || missed != 1 {
		t.Errorf("after the unencodable value: %s, missed %d, %v; want 6, missed 1", b, missed, err)
	}

	l, _ := db.Remote("latest")
	err = l.Set([]byte("not a number"))
	var de *aimdb.DecodeError
	if !errors.As(err, &de) || de.Key != "latest" || !errors.Is(err, strconv.ErrSyntax) ||
		err.Error() != `aimdb: record "latest": the value does not decode: strconv.Atoi: parsing "not a number": invalid syntax` {
		t.Errorf("Set with a payload the codec refuses = %v; want a *DecodeError wrapping the codec's error", err)
	}
	if _, err := l.Latest(); !errors.Is(err, aimdb.ErrNoValue) {
		t.Errorf("a refused Set stored something: %v", err)
	}
	if err := l.Set([]byte("7")); err != nil {
		t.Fatal(err)
	}
	if v, ok := latest.Peek(); !ok || v != 7 {
		t.Errorf("Peek after Set = %d, %v", v, ok)
	}

	s, _ := db.Remote("sourced")
	if !s.HasWriter() {
		t.Error("HasWriter = false for a record with a source")
	}
	if err := s.Set([]byte("1")); !errors.Is(err, aimdb.ErrHasWriter) {
		t.Errorf("Set on a record with a source = %v, want ErrHasWriter", err)
	}
	if s.Key() != "sourced" || s.Metadata().RecordKey != "sourced" {
		t.Errorf("Key/Metadata = %q/%q", s.Key(), s.Metadata().RecordKey)
	}
}

func TestRemoteAccessNilCodec(t *testing.T) {
	db := aimdb.New(nil)
	r, _ := aimdb.Register(db, aimdb.NewKey[int]("x"), aimdb.Latest())
	r.RemoteAccess(nil)
	err := db.Validate()
	var ice *aimdb.InvalidConfigError
	if !errors.As(err, &ice) || len(ice.Errors) != 1 || ice.Errors[0].Key != "x" {
		t.Fatalf("Validate = %v; want one mistake naming x", err)
	}
}

// TestRemoteMailboxObserves checks that remote readers of a Mailbox watch
// commands without taking them: the record's own tap still receives each
// one. SubscribeTaking is the explicit way to take.
func TestRemoteMailboxObserves(t *testing.T) {
	db := aimdb.New(nil)
	cmd, _ := aimdb.Register(db, aimdb.NewKey[int]("cmd"), aimdb.Mailbox())
	cmd.RemoteAccess(intJSON{})
	local, err := cmd.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	rr, err := db.Remote("cmd")
	if err != nil {
		t.Fatal(err)
	}
	watch, _ := rr.Subscribe()
	defer watch.Close()
	snap, _ := rr.SubscribeLatest()
	defer snap.Close()

	_ = cmd.Produce(7)
	late, _ := rr.SubscribeLatest() // after the push: its snapshot is the pending 7
	defer late.Close()
	for name, s := range map[string]*aimdb.RemoteSubscription{"Subscribe": watch, "SubscribeLatest": snap, "late SubscribeLatest": late} {
		if b, _, err := s.TryRecv(); err != nil || string(b) != "7" {
			t.Errorf("%s: TryRecv() = %s, %v; want 7", name, b, err)
		}
		if b, _, err := s.TryRecv(); !errors.Is(err, aimdb.ErrEmpty) {
			t.Errorf("%s: second TryRecv() = %s, %v; want ErrEmpty", name, b, err)
		}
	}
	if v, err := local.TryRecv(); err != nil || v != 7 {
		t.Fatalf("the record's own reader got %v, %v after remote reads; want 7", v, err)
	}
	if b, _, err := watch.TryRecv(); !errors.Is(err, aimdb.ErrEmpty) {
		t.Errorf("observer after the command was taken: %s, %v; want ErrEmpty", b, err)
	}

	take, _ := rr.SubscribeTaking()
	defer take.Close()
	_ = cmd.Produce(8)
	if b, _, err := take.TryRecv(); err != nil || string(b) != "8" {
		t.Fatalf("SubscribeTaking: %s, %v; want 8", b, err)
	}
	if v, err := local.TryRecv(); !errors.Is(err, aimdb.ErrEmpty) {
		t.Errorf("the record's reader after a remote take: %v, %v; want ErrEmpty", v, err)
	}
}

// TestRemoteNotify serves a subscription from notifications, as a server
// multiplexing many records does.
func TestRemoteNotify(t *testing.T) {
	db := aimdb.New(nil)
	ring, _ := aimdb.Register(db, aimdb.NewKey[int]("ring"), aimdb.Ring(8))
	ring.RemoteAccess(intJSON{})
	rr, _ := db.Remote("ring")
	s, _ := rr.Subscribe()
	defer s.Close()
	bell := make(chan struct{}, 1)
	s.Notify(func() {
		select {
		case bell <- struct{}{}:
		default:
		}
	})
	if _, _, err := s.TryRecv(); !errors.Is(err, aimdb.ErrEmpty) {
		t.Fatalf("TryRecv() on empty = %v", err)
	}
	_ = ring.Produce(1)
	select {
	case <-bell:
	default:
		t.Fatal("no notification after a value")
	}
	if b, _, err := s.TryRecv(); err != nil || string(b) != "1" {
		t.Fatalf("TryRecv() = %s, %v", b, err)
	}
}
