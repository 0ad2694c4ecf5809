package aimdb

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A keyTemplate is a parsed family template such as
// "station.{id}.temperature", or the topic of a family link such as
// "station/{id}/temperature": segments separated by sep, each either a
// literal or a capture "{name}" that spans the whole segment.
type keyTemplate struct {
	raw   string
	sep   byte
	segs  []string // literal segments; "" where a capture stands
	caps  []int    // caps[i]: the capture index of segment i, or -1
	names []string // capture names, in order of appearance
}

// maxCaptureLen bounds a captured value, so that a hostile topic cannot
// make huge keys.
const maxCaptureLen = 128

// parseTemplate parses raw with segments separated by sep. It requires at
// least one capture when needCapture is set.
func parseTemplate(raw string, sep byte, needCapture bool) (*keyTemplate, error) {
	t := &keyTemplate{raw: raw, sep: sep}
	if raw == "" {
		return nil, fmt.Errorf("invalid template %q: empty", raw)
	}
	for seg := range strings.SplitSeq(raw, string(sep)) {
		switch {
		case seg == "":
			return nil, fmt.Errorf("invalid template %q: empty segment", raw)
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}"):
			name := seg[1 : len(seg)-1]
			if !validCaptureName(name) {
				return nil, fmt.Errorf("invalid template %q: capture name %q: want letters, digits and '_', not starting with a digit", raw, name)
			}
			if slices.Contains(t.names, name) {
				return nil, fmt.Errorf("invalid template %q: capture {%s} appears twice", raw, name)
			}
			t.segs = append(t.segs, "")
			t.caps = append(t.caps, len(t.names))
			t.names = append(t.names, name)
		case strings.ContainsAny(seg, "{}"):
			return nil, fmt.Errorf("invalid template %q: segment %q: a capture must be a whole segment, as in {name}", raw, seg)
		default:
			t.segs = append(t.segs, seg)
			t.caps = append(t.caps, -1)
		}
	}
	if needCapture && len(t.names) == 0 {
		return nil, fmt.Errorf("invalid template %q: no capture such as {id}; register a record instead", raw)
	}
	return t, nil
}

func validCaptureName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		letter := r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// checkCapture reports whether v can fill a capture: a non-empty key
// segment of at most 128 bytes, without separators, wildcards, braces,
// whitespace or control characters.
func checkCapture(v string) error {
	if v == "" {
		return fmt.Errorf("empty value")
	}
	if len(v) > maxCaptureLen {
		return fmt.Errorf("value of %d bytes; at most %d", len(v), maxCaptureLen)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("value %q is not valid UTF-8", v)
	}
	for _, r := range v {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune("./+#*{}", r) {
			return fmt.Errorf("value %q holds %q", v, r)
		}
	}
	return nil
}

// match returns the captured values of s, if s matches the template.
func (t *keyTemplate) match(s string) ([]string, bool) {
	var vals []string
	rest := s
	for i, lit := range t.segs {
		seg, after, more := strings.Cut(rest, string(t.sep))
		if more != (i < len(t.segs)-1) {
			return nil, false
		}
		if t.caps[i] < 0 {
			if seg != lit {
				return nil, false
			}
		} else {
			if checkCapture(seg) != nil {
				return nil, false
			}
			if vals == nil {
				vals = make([]string, len(t.names))
			}
			vals[t.caps[i]] = seg
		}
		rest = after
	}
	return vals, true
}

// fill returns the template with its captures replaced by vals, in the
// order of t.names.
func (t *keyTemplate) fill(vals []string) string {
	var b strings.Builder
	for i, lit := range t.segs {
		if i > 0 {
			b.WriteByte(t.sep)
		}
		if c := t.caps[i]; c >= 0 {
			b.WriteString(vals[c])
		} else {
			b.WriteString(lit)
		}
	}
	return b.String()
}

// fillNamed fills the template from values named by names.
func (t *keyTemplate) fillNamed(names, vals []string) string {
	mine := make([]string, len(t.names))
	for i, n := range t.names {
		for j, m := range names {
			if m == n {
				mine[i] = vals[j]
			}
		}
	}
	return t.fill(mine)
}

// wildcard returns the template with every capture replaced by w.
func (t *keyTemplate) wildcard(w string) string {
	vals := make([]string, len(t.names))
	for i := range vals {
		vals[i] = w
	}
	return t.fill(vals)
}

// sameCaptures reports whether a and b capture the same set of names.
func sameCaptures(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, n := range a {
		found := false
		for _, m := range b {
			found = found || m == n
		}
		if !found {
			return false
		}
	}
	return true
}

// subsetCaptures reports whether every name of a is in b.
func subsetCaptures(a, b []string) bool {
	for _, n := range a {
		found := false
		for _, m := range b {
			found = found || m == n
		}
		if !found {
			return false
		}
	}
	return true
}
