package aimx_test

import (
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/aimdb-go/aimdb/aimx"
)

// refMatch is the reference for MatchTopic: a direct recursive reading
// of the grammar over split segments.
func refMatch(pattern, topic []string) bool {
	if len(pattern) == 0 {
		return len(topic) == 0
	}
	switch pattern[0] {
	case "#":
		for i := 0; i <= len(topic); i++ {
			if refMatch(pattern[1:], topic[i:]) {
				return true
			}
		}
		return false
	case "*":
		return len(topic) > 0 && refMatch(pattern[1:], topic[1:])
	default:
		return len(topic) > 0 && topic[0] == pattern[0] && refMatch(pattern[1:], topic[1:])
	}
}

func refMatchTopic(pattern, topic string) bool {
	return refMatch(strings.Split(pattern, "."), strings.Split(topic, "."))
}

func TestMatchTopic(t *testing.T) {
	tests := []struct {
		pattern, topic string
		want           bool
	}{
		{"a.b.c", "a.b.c", true},
		{"a.b.c", "a.b.d", false},
		{"a.b", "a.b.c", false},
		{"a.b.c", "a.b", false},
		{"", "", true},
		{"", "a", false},
		// '#'
		{"#", "anything.goes.here", true},
		{"#", "a", true},
		{"#", "", true},
		{"a.#", "a", true},
		{"a.#", "a.b.c", true},
		{"a.#", "b.a", false},
		{"a.#.c", "a.c", true},
		{"a.#.c", "a.x.c", true},
		{"a.#.c", "a.x.y.c", true},
		{"a.#.c", "a.c.b.c", true},
		{"a.#.c", "a.c.b.d", false},
		{"a.#.c", "a.x.c.d", false},
		{"a.#.secret", "a.public", false},
		{"a.#.secret", "b.secret", false},
		{"a.#.b.#.c", "a.x.y.b.z.c", true},
		{"a.#.b.#.c", "a.x.y.b.z.d", false},
		{"a.#.b.#", "a.b", true},
		{"a.#.b.#", "a.x.y", false},
		{"a.#.b.c", "a.b", false},
		{"#.a", "a", true},
		{"#.a", "x.y.a", true},
		{"#.a", "b", false},
		{"#.#", "a.b", true},
		// '*'
		{"temp.*", "temp.vienna", true},
		{"temp.*", "temp", false},
		{"temp.*", "temp.vienna.indoor", false},
		{"*", "a", true},
		{"*", "a.b", false},
		{"*", "", true},
		{"a.*.c.#", "a.b.c.d.e.f", true},
		{"a.*.c.#", "a.b.x.d", false},
		{"*.*", "a.b", true},
		// Wildcards only as whole segments; '/' is ordinary.
		{"sensors*", "sensors.temp", false},
		{"sensors*", "sensorsX", false},
		{"sensors*", "sensors*", true},
		{"a#", "a.b", false},
		{"sensors.#", "sensors/temp/vienna", false},
		{"sensors/#", "sensors/temp", false},
		{"sensors/temp", "sensors/temp", true},
		// The persistence tests of AimDB.
		{"test_record", "testXrecord", false},
		{"sensors.*", "sensors.temp", true},
		{"sensors.*", "sensors.secret.deep", false},
		{"sensors.#", "sensors.temp", true},
		{"sensors.#", "sensors.secret.deep", true},
		{"sensors.#", "sensors_extra.x", false},
		{"sensors.*", "Sensors.temp", false},
		// Empty segments are segments.
		{"a.#", "a.", true},
		{"a.*", "a.", true},
		{"a..b", "a..b", true},
		{"a.*.b", "a..b", true},
	}
	for _, tt := range tests {
		if got := aimx.MatchTopic(tt.pattern, tt.topic); got != tt.want {
			t.Errorf("MatchTopic(%q, %q) = %v, want %v", tt.pattern, tt.topic, got, tt.want)
		}
		if ref := refMatchTopic(tt.pattern, tt.topic); ref != tt.want {
			t.Errorf("reference(%q, %q) = %v, want %v", tt.pattern, tt.topic, ref, tt.want)
		}
	}
}

func TestMatchTopicAllocs(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		aimx.MatchTopic("a.#.b.*.c", "a.x.y.b.z.c")
		aimx.PatternContains("a.#.b.*", "a.*.b.#.b.x")
	})
	if allocs != 0 {
		t.Errorf("MatchTopic and PatternContains allocate %v times, want 0", allocs)
	}
}

func TestIsWildcard(t *testing.T) {
	tests := []struct {
		pattern string
		want    bool
	}{
		{"#", true},
		{"sensors.#", true},
		{"a.*.c", true},
		{"temp.*", true},
		{"sensors*", true},
		{"temp.vienna", false},
		{"sensors/temp", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := aimx.IsWildcard(tt.pattern); got != tt.want {
			t.Errorf("IsWildcard(%q) = %v, want %v", tt.pattern, got, tt.want)
		}
	}
}

func TestPatternContains(t *testing.T) {
	tests := []struct {
		grant, requested string
		want             bool
	}{
		// Identical patterns.
		{"a.b", "a.b", true},
		{"a.*.c", "a.*.c", true},
		{"sensors.#", "sensors.#", true},
		{"#", "#", true},
		{"a.#.b", "a.#.b", true},
		// '#' grants.
		{"#", "sensors.#", true},
		{"#", "anything.deep.here", true},
		{"#", "*", true},
		{"#", "", true},
		{"sensors.#", "sensors", true},
		{"sensors.#", "sensors.temp", true},
		{"sensors.#", "sensors.*", true},
		{"sensors.#", "sensors.temp.#", true},
		{"a.#", "a.*.b", true},
		{"a.#.secret", "a.secret", true},
		{"a.#.secret", "a.b.secret", true},
		{"a.#.secret", "a.*.secret", true},
		{"a.#.secret", "a.#.secret", true},
		{"#.x", "*.#.x", true},
		// A literal inside a '*'.
		{"sensors.*", "sensors.temp", true},
		{"sensors.*", "sensors.*", true},
		{"*.*", "a.*", true},
		// Denied.
		{"sensors.*", "sensors.#", false},
		{"sensors.*", "sensors.temp.vienna", false},
		{"sensors.#", "commands.#", false},
		{"sensors.temp", "sensors.humidity", false},
		{"a.b.c", "a.b", false},
		{"sensors.temp", "sensors.*", false},
		{"sensors.temp", "sensors.#", false},
		{"a.#.secret", "a.public", false},
		{"a.#.secret", "a.#", false},
		{"a.#.secret", "a.*", false},
		{"a.*", "#", false},
		{"*", "#", false},
		{"a.#", "#", false},
		{"a.#", "#.a", false},
		// Conservative: containment holds, but the answer is false.
		{"a.*.#", "a.#.a", false},
	}
	for _, tt := range tests {
		if got := aimx.PatternContains(tt.grant, tt.requested); got != tt.want {
			t.Errorf("PatternContains(%q, %q) = %v, want %v", tt.grant, tt.requested, got, tt.want)
		}
	}
}

// A concrete request is contained exactly when the grant matches it.
func TestPatternContainsConcrete(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		grant := patternGen.Draw(t, "grant")
		topic := topicGen.Draw(t, "topic")
		if aimx.IsWildcard(topic) {
			return // a request, not a concrete topic
		}
		if got, want := aimx.PatternContains(grant, topic), aimx.MatchTopic(grant, topic); got != want {
			t.Fatalf("PatternContains(%q, %q) = %v, MatchTopic = %v", grant, topic, got, want)
		}
	})
}

var (
	// Segments of patterns and topics; "" makes empty segments.
	patternGen = rapid.Custom(func(t *rapid.T) string {
		segs := rapid.SliceOfN(rapid.SampledFrom([]string{"a", "b", "c", "", "*", "#", "*", "#", "a*"}), 1, 6).Draw(t, "segs")
		return strings.Join(segs, ".")
	})
	topicGen = rapid.Custom(func(t *rapid.T) string {
		// "*" and "#" are literal in topics; "z" is in no pattern.
		segs := rapid.SliceOfN(rapid.SampledFrom([]string{"a", "b", "c", "", "z", "*", "#", "a*"}), 1, 7).Draw(t, "segs")
		return strings.Join(segs, ".")
	})
)

func TestMatchTopicAgainstReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		pattern := patternGen.Draw(t, "pattern")
		topic := topicGen.Draw(t, "topic")
		if got, want := aimx.MatchTopic(pattern, topic), refMatchTopic(pattern, topic); got != want {
			t.Fatalf("MatchTopic(%q, %q) = %v, reference %v", pattern, topic, got, want)
		}
	})
}

// expandPattern draws a topic that pattern matches: each "*" becomes one
// literal segment and each "#" zero to three.
func expandPattern(t *rapid.T, pattern string) string {
	var segs []string
	for seg := range strings.SplitSeq(pattern, ".") {
		switch seg {
		case "*":
			segs = append(segs, topicSegGen.Draw(t, "star"))
		case "#":
			n := rapid.IntRange(0, 3).Draw(t, "hash")
			for range n {
				segs = append(segs, topicSegGen.Draw(t, "hashseg"))
			}
		default:
			segs = append(segs, seg)
		}
	}
	// No segments at all joins to "", the topic of one empty segment,
	// which every pattern that can expand to nothing also matches.
	return strings.Join(segs, ".")
}

var topicSegGen = rapid.SampledFrom([]string{"a", "b", "c", "", "z", "*", "#"})

// Soundness: when PatternContains(grant, requested) holds, every topic
// that requested matches is matched by grant.
func TestPatternContainsSound(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		grant := patternGen.Draw(t, "grant")
		requested := patternGen.Draw(t, "requested")
		if !aimx.PatternContains(grant, requested) {
			return
		}
		for range 20 {
			topic := expandPattern(t, requested)
			if !aimx.MatchTopic(requested, topic) {
				t.Fatalf("expansion %q of %q does not match it", topic, requested)
			}
			if !aimx.MatchTopic(grant, topic) {
				t.Fatalf("PatternContains(%q, %q) but %q matches only the request", grant, requested, topic)
			}
		}
	})
}

// Soundness again, biased towards contained pairs: the request is the
// grant with each wildcard narrowed at random.
func TestPatternContainsNarrowed(t *testing.T) {
	narrow := map[string][]string{
		"#": {"#", "*", "a", "*.#", "#.b", ""},
		"*": {"*", "a", "b"},
	}
	rapid.Check(t, func(t *rapid.T) {
		grant := patternGen.Draw(t, "grant")
		var segs []string
		for seg := range strings.SplitSeq(grant, ".") {
			if alts, ok := narrow[seg]; ok {
				if s := rapid.SampledFrom(alts).Draw(t, "narrow"); s != "" {
					segs = append(segs, s)
				}
				continue
			}
			segs = append(segs, seg)
		}
		requested := strings.Join(segs, ".")
		if !aimx.PatternContains(grant, requested) {
			return
		}
		for range 20 {
			topic := expandPattern(t, requested)
			if !aimx.MatchTopic(grant, topic) {
				t.Fatalf("PatternContains(%q, %q) but %q matches only the request", grant, requested, topic)
			}
		}
	})
}

func FuzzMatchTopic(f *testing.F) {
	f.Add("a.#.c", "a.x.y.c")
	f.Add("sensors.*", "sensors.secret.deep")
	f.Add("#", "")
	f.Add("a.*.#", "a.#.a")
	f.Fuzz(func(t *testing.T, pattern, topic string) {
		if strings.Count(pattern, ".") > 12 || strings.Count(topic, ".") > 12 {
			return // keep the exponential reference fast
		}
		got := aimx.MatchTopic(pattern, topic)
		if want := refMatchTopic(pattern, topic); got != want {
			t.Fatalf("MatchTopic(%q, %q) = %v, reference %v", pattern, topic, got, want)
		}
		if pattern == topic && !got {
			t.Fatalf("MatchTopic(%q, itself) = false", pattern)
		}
		if !aimx.IsWildcard(pattern) && got != (pattern == topic) {
			t.Fatalf("MatchTopic(%q, %q) = %v without wildcards", pattern, topic, got)
		}
		// PatternContains never panics; it equals MatchTopic on a topic
		// without wildcards and holds for equal patterns.
		c := aimx.PatternContains(pattern, topic)
		if !aimx.IsWildcard(topic) && c != got {
			t.Fatalf("PatternContains(%q, %q) = %v, MatchTopic = %v", pattern, topic, c, got)
		}
		if !aimx.PatternContains(pattern, pattern) {
			t.Fatalf("PatternContains(%q, itself) = false", pattern)
		}
	})
}
