package aimx_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
)

// rawCodec encodes a string as the bytes it holds: whatever JSON, or
// not JSON, the test puts in it.
type rawCodec struct{}

func (rawCodec) Encode(v string) ([]byte, error) { return []byte(v), nil }
func (rawCodec) Decode(b []byte) (string, error) { return string(b), nil }

// TestAppendGetReply: the reply frame is the one Frame.AppendJSON builds
// from Latest, for a codec that appends and one that does not, with a
// value spread over lines compacted; a codec's output that is not one
// JSON value, and a record without a value, leave dst as it was.
func TestAppendGetReply(t *testing.T) {
	db := aimdb.New(nil)
	temp, _ := aimdb.Register(db, aimdb.NewKey[Temp]("t"), aimdb.Latest())
	temp.RemoteAccess(codec.JSON[Temp]{})
	raw, _ := aimdb.Register(db, aimdb.NewKey[string]("raw"), aimdb.Latest())
	raw.RemoteAccess(rawCodec{})
	empty, _ := aimdb.Register(db, aimdb.NewKey[Temp]("empty"), aimdb.Latest())
	empty.RemoteAccess(codec.JSON[Temp]{})
	_ = temp.Produce(Temp{21.5})

	check := func(key string, id uint64) {
		t.Helper()
		r, err := db.Remote(key)
		if err != nil {
			t.Fatal(err)
		}
		latest, err := r.Latest()
		if err != nil {
			t.Fatal(err)
		}
		want, err := (&aimx.Frame{T: aimx.TagReply, ID: id, OK: latest}).AppendJSON([]byte("prefix"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := aimx.AppendGetReply([]byte("prefix"), id, r)
		if err != nil || string(got) != string(want) {
			t.Errorf("AppendGetReply(%s) = %s, %v; want %s", key, got, err, want)
		}
		if f, err := aimx.ParseFrame(got[len("prefix"):]); err != nil || f.ID != id || !json.Valid(f.OK) {
			t.Errorf("the reply does not parse: %+v, %v", f, err)
		}
	}
	check("t", 7)
	for _, v := range []string{`"plain"`, "{\n  \"a\": [1,\n 2]\n}", ` 42 `} {
		_ = raw.Produce(v)
		check("raw", 8)
	}

	r, _ := db.Remote("raw")
	for _, bad := range []string{`{"a":`, `1 2`, ``, `nope`} {
		_ = raw.Produce(bad)
		got, err := aimx.AppendGetReply([]byte("prefix"), 9, r)
		var fe *aimx.FrameError
		if !errors.As(err, &fe) || string(got) != "prefix" {
			t.Errorf("AppendGetReply of %q = %q, %v; want prefix alone and a *FrameError", bad, got, err)
		}
	}
	e, _ := db.Remote("empty")
	if got, err := aimx.AppendGetReply([]byte("prefix"), 10, e); !errors.Is(err, aimdb.ErrNoValue) || string(got) != "prefix" {
		t.Errorf("AppendGetReply without a value = %q, %v; want prefix alone and ErrNoValue", got, err)
	}
}
