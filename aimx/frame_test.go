package aimx_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aimdb-go/aimdb/aimx"
)

// TestFrameEncoding checks the bytes of every frame kind against AimDB's
// field order and omission rules.
func TestFrameEncoding(t *testing.T) {
	for _, tc := range []struct {
		f    aimx.Frame
		want string
	}{
		{aimx.Frame{T: "req", ID: 1, Method: "record.list"}, `{"t":"req","id":1,"method":"record.list","params":null}`},
		{aimx.Frame{T: "req", ID: 2, Method: "record.get", Params: json.RawMessage(`{"name":"a.b"}`)}, `{"t":"req","id":2,"method":"record.get","params":{"name":"a.b"}}`},
		{aimx.Frame{T: "reply", ID: 3, OK: json.RawMessage(`[1, 2]`)}, `{"t":"reply","id":3,"ok":[1, 2]}`},
		{aimx.Frame{T: "reply", ID: 3, OK: json.RawMessage("{\n \"a\": 1\n}")}, `{"t":"reply","id":3,"ok":{"a":1}}`},
		{aimx.Frame{T: "reply", ID: 4, Err: "denied"}, `{"t":"reply","id":4,"err":"denied"}`},
		{aimx.Frame{T: "sub", ID: 18446744073709551615, Topic: "a.#"}, `{"t":"sub","id":18446744073709551615,"topic":"a.#"}`},
		{aimx.Frame{T: "subscribed", Sub: "7"}, `{"t":"subscribed","sub":"7"}`},
		{aimx.Frame{T: "unsub", Sub: "7"}, `{"t":"unsub","sub":"7"}`},
		{aimx.Frame{T: "event", Seq: 9, Sub: "7", Data: json.RawMessage(`21.5`)}, `{"t":"event","seq":9,"sub":"7","data":21.5}`},
		{aimx.Frame{T: "event", Seq: 9, Topic: "a.b", Sub: "7", Data: json.RawMessage(`1e3`)}, `{"t":"event","seq":9,"topic":"a.b","sub":"7","data":1e3}`},
		{aimx.Frame{T: "snap", Seq: 1, Topic: "a.b", Sub: "7", Data: json.RawMessage(`{}`)}, `{"t":"snap","seq":1,"topic":"a.b","sub":"7","data":{}}`},
		{aimx.Frame{T: "snap", Seq: 2, Last: true, Topic: "a\"\n\x01", Sub: "7", Data: json.RawMessage(`null`)}, `{"t":"snap","seq":2,"last":true,"topic":"a\"\n\u0001","sub":"7","data":null}`},
		{aimx.Frame{T: "write", Topic: "cfg", Payload: json.RawMessage(`{"value":1}`)}, `{"t":"write","topic":"cfg","payload":{"value":1}}`},
		{aimx.Frame{T: "ping"}, `{"t":"ping"}`},
		{aimx.Frame{T: "pong"}, `{"t":"pong"}`},
	} {
		got, err := tc.f.AppendJSON(nil)
		if err != nil || string(got) != tc.want {
			t.Errorf("%+v:\n got %s, %v\nwant %s", tc.f, got, err, tc.want)
		}
	}
	for _, bad := range []aimx.Frame{
		{T: "event", Seq: 1, Sub: "1"},
		{T: "event", Seq: 1, Sub: "1", Data: json.RawMessage(`{"a":`)},
		{T: "write", Topic: "x", Payload: json.RawMessage(`1 2`)},
		{T: "nonsense"},
	} {
		if b, err := bad.AppendJSON(nil); !errors.Is(err, aimx.ErrMalformed) {
			t.Errorf("%+v encoded as %s, %v; want ErrMalformed", bad, b, err)
		}
	}
}

func TestParseFrame(t *testing.T) {
	f, err := aimx.ParseFrame([]byte(`{"x":1,"t":"reply","id":5,"ok":{"a":1},"err":"denied","msg":"ignored"}`))
	if err != nil || f.ID != 5 || string(f.OK) != `{"a":1}` || f.Err != "" {
		t.Errorf("reply with ok and err: %+v, %v (ok wins)", f, err)
	}
	f, err = aimx.ParseFrame([]byte(`{"t":"reply","id":5,"ok":null}`))
	if err != nil || string(f.OK) != "null" {
		t.Errorf("reply ok null: %+v, %v", f, err)
	}
	f, err = aimx.ParseFrame([]byte(`{"t":"req","id":1,"method":"m"}`))
	if err != nil || string(f.Params) != "null" {
		t.Errorf("req without params: %+v, %v", f, err)
	}
	for _, bad := range []string{
		``, `x`, `[]`, `{}`, `{"t":"what"}`, `{"t":"req","id":1}`, `{"t":"req","method":"m"}`,
		`{"t":"reply","id":1}`, `{"t":"sub","id":1}`, `{"t":"event","seq":1,"sub":"1"}`,
		`{"t":"snap","seq":1,"sub":"1","data":1}`, `{"t":"write","topic":"a"}`, `{"t":"unsub"}`,
		`{"t":"req","id":-1,"method":"m"}`, `{"t":"req","id":"1","method":"m"}`,
	} {
		if f, err := aimx.ParseFrame([]byte(bad)); !errors.Is(err, aimx.ErrMalformed) {
			t.Errorf("ParseFrame(%s) = %+v, %v; want ErrMalformed", bad, f, err)
		}
	}
}

// FuzzParseFrame: any input either fails with ErrMalformed or parses to
// a frame that encodes and parses back to the same frame.
func FuzzParseFrame(f *testing.F) {
	for _, s := range []string{
		`{"t":"req","id":1,"method":"hello","params":{"version":"3.0"}}`,
		`{"t":"reply","id":1,"ok":[1,2,3]}`, `{"t":"reply","id":2,"err":"denied"}`,
		`{"t":"sub","id":3,"topic":"a.#"}`, `{"t":"event","seq":1,"topic":"a","sub":"3","data":{"x":1}}`,
		`{"t":"snap","seq":2,"last":true,"topic":"a","sub":"3","data":null}`,
		`{"t":"write","topic":"cfg","payload":{"value":{"level":9}}}`, `{"t":"ping"}`, `{"t":"unsub","sub":"3"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := aimx.ParseFrame(b)
		if err != nil {
			if !errors.Is(err, aimx.ErrMalformed) {
				t.Fatalf("error %v does not match ErrMalformed", err)
			}
			return
		}
		enc, err := fr.AppendJSON(nil)
		if err != nil {
			t.Fatalf("parsed %+v but cannot encode it: %v", fr, err)
		}
		if bytes.ContainsAny(enc, "\n\r") {
			t.Fatalf("encoded frame contains a line break: %q", enc)
		}
		back, err := aimx.ParseFrame(enc)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", enc, err)
		}
		enc2, _ := back.AppendJSON(nil)
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("not stable:\n%s\n%s", enc, enc2)
		}
	})
}
