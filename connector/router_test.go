package connector_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb/connector"
	"pgregory.net/rapid"
)

// naive returns the indexes of the filters that match topic, one
// MatchTopic call per filter: what a TopicRouter must return.
func naive(filters []string, topic string) []int {
	var got []int
	for i, f := range filters {
		if connector.MatchTopic(f, topic) {
			got = append(got, i)
		}
	}
	return got
}

// routed returns the indexes the router holding filters (value: index)
// matches for topic, sorted.
func routed(r *connector.TopicRouter[int], topic string) []int {
	got := r.Match(topic, nil)
	slices.Sort(got)
	return got
}

func newRouter(filters []string) *connector.TopicRouter[int] {
	r := &connector.TopicRouter[int]{}
	for i, f := range filters {
		r.Add(f, i)
	}
	return r
}

func TestTopicRouter(t *testing.T) {
	filters := []string{
		"a/b", "a/b", "a/+", "a/#", "#", "+", "+/+", "+/#", "a/+/c", "$SYS/#", "$SYS/+",
		"station/+/temperature", "station/7/temperature", "a/", "/a", "", "a+", "a/#/b", "#/a",
	}
	r := newRouter(filters)
	if r.Len() != len(filters) || !r.HasWildcards() {
		t.Fatalf("Len %d, HasWildcards %v", r.Len(), r.HasWildcards())
	}
	for _, topic := range []string{
		"a", "a/b", "a/c", "a/b/c", "a/", "/a", "", "/", "$SYS", "$SYS/x", "$SYS/x/y",
		"station/7/temperature", "station/8/temperature", "station/7/humidity", "a+", "a/#/b", "#",
	} {
		if got, want := routed(r, topic), naive(filters, topic); !slices.Equal(got, want) {
			t.Errorf("topic %q: router matched %v; MatchTopic matches %v", topic, got, want)
		}
	}
	var exact connector.TopicRouter[int]
	exact.Add("a/b", 1)
	if exact.HasWildcards() {
		t.Error("a router of exact filters reports wildcards")
	}
	if got := exact.Match("a/b", make([]int, 0, 4)); !slices.Equal(got, []int{1}) {
		t.Errorf("exact match: %v", got)
	}
}

// levels are the topic and filter levels of the property test: few, so
// that random filters and topics often meet.
var levels = []string{"a", "b", "", "$x", "+", "#", "a+", "$"}

func genPath(t *rapid.T, label string) string {
	n := rapid.IntRange(1, 4).Draw(t, label+"-levels")
	parts := make([]string, n)
	for i := range parts {
		parts[i] = rapid.SampledFrom(levels).Draw(t, label)
	}
	return strings.Join(parts, "/")
}

// TestTopicRouterMatchesNaiveScan checks, over random filters and topics
// (valid filters or not, '$' topics, empty levels), that the router
// finds exactly the filters a MatchTopic scan finds.
func TestTopicRouterMatchesNaiveScan(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		filters := make([]string, rapid.IntRange(0, 30).Draw(t, "filters"))
		for i := range filters {
			filters[i] = genPath(t, "filter")
		}
		r := newRouter(filters)
		for range 20 {
			topic := genPath(t, "topic")
			if got, want := routed(r, topic), naive(filters, topic); !slices.Equal(got, want) {
				t.Fatalf("topic %q, filters %q: router matched %v; MatchTopic matches %v", topic, filters, got, want)
			}
		}
	})
}

// FuzzTopicRouter compares the router with a MatchTopic scan on filters
// and a topic taken from arbitrary text: the lines before the last are
// filters, the last line the topic.
func FuzzTopicRouter(f *testing.F) {
	f.Add("a/+\na/#\n#\na/b")
	f.Add("+/+\n$SYS/#\n$SYS/x")
	f.Add("a//b\n+/+/+\n/\n//")
	f.Fuzz(func(t *testing.T, s string) {
		lines := strings.Split(s, "\n")
		filters, topic := lines[:len(lines)-1], lines[len(lines)-1]
		if got, want := routed(newRouter(filters), topic), naive(filters, topic); !slices.Equal(got, want) {
			t.Fatalf("topic %q, filters %q: router matched %v; MatchTopic matches %v", topic, filters, got, want)
		}
	})
}

// TestFiltersOverlapMatchesSearch checks FiltersOverlap against a search
// for a topic both filters match, over random valid filters and every
// topic of up to four levels made of their literal levels and one other.
func TestFiltersOverlapMatchesSearch(t *testing.T) {
	var topics []string
	alphabet := []string{"a", "b", "$x", "", "z"}
	var build func(prefix string, n int)
	build = func(prefix string, n int) {
		for _, l := range alphabet {
			topic := l
			if n > 0 {
				topic = prefix + "/" + l
			}
			topics = append(topics, topic)
			if n < 3 {
				build(topic, n+1)
			}
		}
	}
	build("", 0)
	filterLevels := []string{"a", "b", "$x", "", "+", "#"}
	gen := rapid.Custom(func(t *rapid.T) string {
		for {
			n := rapid.IntRange(1, 3).Draw(t, "levels")
			parts := make([]string, n)
			for i := range parts {
				parts[i] = rapid.SampledFrom(filterLevels).Draw(t, "level")
			}
			if f := strings.Join(parts, "/"); connector.ValidFilter(f) {
				return f
			}
		}
	})
	rapid.Check(t, func(t *rapid.T) {
		a, b := gen.Draw(t, "a"), gen.Draw(t, "b")
		witness := ""
		found := false
		for _, topic := range topics {
			if connector.MatchTopic(a, topic) && connector.MatchTopic(b, topic) {
				witness, found = topic, true
				break
			}
		}
		if got := connector.FiltersOverlap(a, b); got != found {
			t.Fatalf("FiltersOverlap(%q, %q) = %v; a topic matching both: %v %q", a, b, got, found, witness)
		}
	})
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"station/+/t", "station/#", true},
		{"station/+/t", "station/+/h", false},
		{"station/7/t", "station/+/t", true},
		{"+/x", "$SYS/x", false},
		{"a", "a/#", true},
		{"a/+/#", "a", false},
		{"a+", "b", true}, // not a valid filter: may overlap
	} {
		if got := connector.FiltersOverlap(tt.a, tt.b); got != tt.want {
			t.Errorf("FiltersOverlap(%q, %q) = %v; want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func BenchmarkTopicRouter(b *testing.B) {
	for _, n := range []int{10, 1_000, 100_000} {
		var r connector.TopicRouter[int]
		for i := range n {
			r.Add(fmt.Sprintf("station/%d/temperature", i), i)
		}
		r.Add("station/+/humidity", -1)
		dst := make([]int, 0, 4)
		b.Run(fmt.Sprintf("exact=%d", n), func(b *testing.B) {
			for b.Loop() {
				dst = r.Match("station/7/temperature", dst[:0])
			}
		})
	}
}
