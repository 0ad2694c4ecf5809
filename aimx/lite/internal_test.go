package lite

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb/aimx"
)

// TestMatchLikeAimX: match decides as aimx.MatchTopic over random
// patterns and keys from a small alphabet of segments.
func TestMatchLikeAimX(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	segs := func(alpha []string) string {
		n := 1 + r.IntN(4)
		s := make([]string, n)
		for i := range s {
			s[i] = alpha[r.IntN(len(alpha))]
		}
		return strings.Join(s, ".")
	}
	for range 20000 {
		p, k := segs([]string{"a", "b", "*", "#"}), segs([]string{"a", "b"})
		if got, want := match(p, k), aimx.MatchTopic(p, k); got != want {
			t.Fatalf("match(%q, %q) = %v; aimx.MatchTopic says %v", p, k, got, want)
		}
	}
}

// FuzzParse: parse never panics, accepts only what encoding/json
// accepts as an object, and reads the strings as encoding/json does.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"t":"req","id":1,"method":"hello","params":{"version":"3.0","client":"x"}}`,
		`{"t":"sub","id":2,"topic":"station.*.temperature"}`,
		`{"t":"unsub","sub":"2"}`, `{"t":"ping"}`, `{"t":"req","id":3,"method":"record.get","params":{"name":"a\u00e9\"b"}}`,
		`{}`, `{"t":1}`, `[]`, `{"t":"x",}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		q, ok := parse(b)
		if !ok {
			return
		}
		var w struct {
			T      string `json:"t"`
			Method string `json:"method"`
			Topic  string `json:"topic"`
			Params struct {
				Name string `json:"name"`
			} `json:"params"`
		}
		if !json.Valid(b) {
			// Numbers and literals are read leniently; every string and
			// the nesting were checked.
			return
		}
		if err := json.Unmarshal(b, &w); err != nil {
			return // a type encoding/json refuses, e.g. a number for a string
		}
		if hasDup(b) {
			return
		}
		if q.t != w.T || q.method != w.Method || q.topic != w.Topic || q.name != w.Params.Name {
			t.Fatalf("parse(%s) = %+v; encoding/json reads %+v", b, q, w)
		}
	})
}

// hasDup reports whether b's top level repeats a key, or names one in a
// case encoding/json folds; the two parsers then may differ.
func hasDup(b []byte) bool {
	seen := map[string]bool{}
	dup := false
	members(b, func(k string, _ []byte) bool {
		l := strings.ToLower(k)
		dup = dup || seen[l] || (l != k)
		seen[l] = true
		return true
	})
	return dup
}
