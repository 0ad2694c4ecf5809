package aimdb

import (
	"strings"
	"testing"
)

// FuzzTemplate parses templates and matches keys against them: no panic,
// a parsed template fills and matches back its own values, and a match
// only ever captures valid segments.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"station.{id}.temperature", "a.{x}.b.{y}", "{a}", "a.{1}", "a.x{id}", "a..{b}", "{a}.{a}", "a.{}"} {
		f.Add(s, "station.17.temperature", "17")
	}
	f.Fuzz(func(t *testing.T, tmpl, key, val string) {
		tp, err := parseTemplate(tmpl, '.', true)
		if err != nil {
			return
		}
		if vals, ok := tp.match(key); ok {
			for _, v := range vals {
				if checkCapture(v) != nil {
					t.Fatalf("match(%q) captured an invalid value %q", key, v)
				}
			}
			if got := tp.fill(vals); got != key {
				t.Fatalf("fill(match(%q)) = %q", key, got)
			}
		}
		if checkCapture(val) != nil {
			return
		}
		vals := make([]string, len(tp.names))
		for i := range vals {
			vals[i] = val
		}
		k := tp.fill(vals)
		got, ok := tp.match(k)
		if !ok {
			t.Fatalf("template %q does not match its own instance %q", tmpl, k)
		}
		if strings.Join(got, "\x00") != strings.Join(vals, "\x00") {
			t.Fatalf("match(%q) = %q; want %q", k, got, vals)
		}
	})
}
