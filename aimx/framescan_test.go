package aimx

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// scanSeeds are frames as peers send them, and near misses.
var scanSeeds = []string{
	`{"t":"req","id":1,"method":"hello","params":{"version":"3.0"}}`,
	`{"t":"reply","id":1,"ok":[1,2,3]}`, `{"t":"reply","id":2,"err":"denied"}`,
	`{"t":"sub","id":3,"topic":"a.#"}`, `{"t":"event","seq":1,"topic":"a","sub":"3","data":{"x":1}}`,
	`{"t":"snap","seq":2,"last":true,"topic":"a","sub":"3","data":null}`,
	`{"t":"write","topic":"cfg","payload":{"value":{"level":9}}}`, `{"t":"ping"}`, `{"t":"unsub","sub":"3"}`,
	` { "t" : "event" , "seq" : 18446744073709551615 , "sub" : "1" , "data" : [ 1 , "]}" , {"a":[]} ] } `,
	`{"t":"event","seq":18446744073709551616,"sub":"1","data":1}`, `{"t":"event","seq":1.0,"sub":"1","data":1}`,
	`{"t":"event","seq":01,"sub":"1","data":1}`, `{"t":"event","seq":-1,"sub":"1","data":1}`,
	`{"T":"ping"}`, `{"t":"ping","Seq":1}`, `{"t":"p\u0069ng"}`, `{"t":"ping","x":nul}`, `{"t":"ping","x":[}`,
	`{"t":"ping","last":tru}`, `{"t":"ping","last":truex}`, `{"t":"ping",}`, `{"t":"ping"} x`, `{"t":"ping"`,
	`{"t":"reply","id":1,"ok":"caf` + "\xc3\xa9" + `"}`, `{"t":"ping","x":"` + "\xff" + `"}`, `{}`, ``, `[]`,
	`{"t":"event","seq":1,"sub":"1","data":{"a":"\"}"}}`, `{"t":"event","seq":1,"sub":"1","data":1e5}`,
	`{"t":"ping","last":false,"last":true}`, `{"t":"ping","id":1,"id":2}`, `{"t":"ping","t":"pong"}`,
}

// FuzzScanMatchesUnmarshal: whatever scan accepts, encoding/json decodes
// to the same fields.
func FuzzScanMatchesUnmarshal(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	in := &interner{}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast wireFields
		if !fast.scan(b, in) {
			return
		}
		var ref wireFields
		if err := ref.unmarshal(b); err != nil {
			t.Fatalf("scan accepted %q, encoding/json refuses it: %v", b, err)
		}
		if !reflect.DeepEqual(fast, ref) {
			t.Fatalf("%q:\nscan      %+v\nencoding/json %+v", b, fast, ref)
		}
	})
}

// TestScanTakesPlainFrames checks that the frames peers send take the
// scan, and that the near misses are left to encoding/json.
func TestScanTakesPlainFrames(t *testing.T) {
	for _, s := range scanSeeds[:9] {
		if s == `{"t":"snap","seq":2,"last":true,"topic":"a","sub":"3","data":null}` {
			continue // null: encoding/json's
		}
		var w wireFields
		if !w.scan([]byte(s), nil) {
			t.Errorf("scan declined %s", s)
		}
	}
	var w wireFields
	if !w.scan([]byte(scanSeeds[9]), nil) || w.seq != 1<<64-1 || !bytes.Equal(w.data, []byte(`[ 1 , "]}" , {"a":[]} ]`)) {
		t.Errorf("scan of %s: %+v", scanSeeds[9], w)
	}
}

// TestParseEventAllocs: a client parsing events of its subscriptions
// allocates only the copy of the data.
func TestParseEventAllocs(t *testing.T) {
	b := []byte(`{"t":"event","seq":12345,"topic":"station.17.temperature","sub":"3","data":{"celsius":21.5}}`)
	in := &interner{}
	allocs := testing.AllocsPerRun(1000, func() {
		f, err := parseFrame(b, in)
		if err != nil || f.Seq != 12345 || f.Sub != "3" {
			t.Fatalf("%+v, %v", f, err)
		}
	})
	if allocs > 1 {
		t.Errorf("%v allocations per event, want 1 (the data)", allocs)
	}
}

// FuzzFastValue: whatever fastValue accepts, json.Valid accepts, ending
// where it says; oneLine agrees with json.Valid and the absence of line
// breaks.
func FuzzFastValue(f *testing.F) {
	for _, s := range append(scanSeeds, `1`, `-0.5e+7`, `"a\u00e9\n\"b"`, `[[[]]]`, `{"a":{"b":[1,{"c":null}]}}`,
		"[1,\n2]", `01`, `1.`, `-`, `1e`, `"\x"`, `"\u12"`, `[1,]`, `{"a"}`, `{"a":1,}`, `tru`, "\"\x01\"") {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if end, lb, ok := fastValue(b, 0); ok {
			if !json.Valid(b[:end]) {
				t.Fatalf("fastValue accepted %q up to %d; json.Valid refuses it", b, end)
			}
			if lb != bytes.ContainsAny(b[:end], "\n\r") {
				t.Fatalf("%q: line break %v", b[:end], lb)
			}
			if end < len(b) && json.Valid(b[:end+1]) && b[end] != ' ' && b[end] != '\t' && b[end] != '\n' && b[end] != '\r' {
				t.Fatalf("%q: fastValue ended at %d, but the value goes on", b, end)
			}
		}
		want := json.Valid(b) && !bytes.ContainsAny(b, "\n\r")
		if got := oneLine(b); got && !want {
			t.Fatalf("oneLine(%q) = true; json.Valid %v", b, json.Valid(b))
		}
	})
}
