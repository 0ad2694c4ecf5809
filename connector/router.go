package connector

import "strings"

// A TopicRouter holds topic filters, each with a value, and finds the
// values of every filter that matches a topic, exactly as MatchTopic
// would find them one filter at a time. Filters without wildcards sit in
// a map and wildcard filters in a tree of levels, so a match costs one
// map lookup and a walk down as many levels as the topic has, however
// many filters there are. (Strings that ValidFilter rejects are kept
// apart and tried with MatchTopic one by one, so that even they match as
// MatchTopic says.)
//
// The zero value is an empty router. It is not safe for concurrent use:
// guard it with a lock if filters are added while others match.
type TopicRouter[V any] struct {
	exact   map[string][]V
	root    *routerNode[V]
	invalid []routerEntry[V]
	n       int
}

type routerNode[V any] struct {
	children map[string]*routerNode[V] // by literal level
	plus     *routerNode[V]            // a "+" level
	end      []V                       // filters that end at this level
	hash     []V                       // filters whose next, last level is "#"
}

type routerEntry[V any] struct {
	filter string
	v      V
}

// Add adds filter with its value. Adding a filter twice keeps both
// values; Match returns each.
func (r *TopicRouter[V]) Add(filter string, v V) {
	r.n++
	switch {
	case !ValidFilter(filter):
		r.invalid = append(r.invalid, routerEntry[V]{filter, v})
	case !HasWildcard(filter):
		if r.exact == nil {
			r.exact = map[string][]V{}
		}
		r.exact[filter] = append(r.exact[filter], v)
	default:
		if r.root == nil {
			r.root = &routerNode[V]{}
		}
		n := r.root
		for {
			lvl, rest, more := strings.Cut(filter, "/")
			if lvl == "#" { // ValidFilter: "#" is the last level
				n.hash = append(n.hash, v)
				return
			}
			n = n.child(lvl)
			if !more {
				n.end = append(n.end, v)
				return
			}
			filter = rest
		}
	}
}

func (n *routerNode[V]) child(lvl string) *routerNode[V] {
	if lvl == "+" {
		if n.plus == nil {
			n.plus = &routerNode[V]{}
		}
		return n.plus
	}
	c := n.children[lvl]
	if c == nil {
		if n.children == nil {
			n.children = map[string]*routerNode[V]{}
		}
		c = &routerNode[V]{}
		n.children[lvl] = c
	}
	return c
}

// Len returns the number of filters added.
func (r *TopicRouter[V]) Len() int { return r.n }

// HasWildcards reports whether a filter with a wildcard (or one that
// ValidFilter rejects) was added: if not, only a filter equal to a topic
// matches it.
func (r *TopicRouter[V]) HasWildcards() bool { return r.root != nil || len(r.invalid) > 0 }

// Match appends to dst the value of every filter that matches topic and
// returns the extended slice; it allocates nothing when dst has room.
// The order of the values is unspecified.
func (r *TopicRouter[V]) Match(topic string, dst []V) []V {
	dst = append(dst, r.exact[topic]...)
	if r.root != nil {
		// A topic starting with '$' is not matched by a filter starting
		// with a wildcard.
		dst = r.root.match(topic, false, strings.HasPrefix(topic, "$"), dst)
	}
	for _, e := range r.invalid {
		if MatchTopic(e.filter, topic) {
			dst = append(dst, e.v)
		}
	}
	return dst
}

// match appends the values of the filters below n that match the rest
// of a topic: rest holds its remaining levels, or none when done.
// noWild skips n's wildcards.
func (n *routerNode[V]) match(rest string, done, noWild bool, dst []V) []V {
	if !noWild {
		dst = append(dst, n.hash...) // "a/#" also matches "a"
	}
	if done {
		return append(dst, n.end...)
	}
	lvl, next, more := strings.Cut(rest, "/")
	if c := n.children[lvl]; c != nil {
		dst = c.match(next, !more, false, dst)
	}
	if n.plus != nil && !noWild {
		dst = n.plus.match(next, !more, false, dst)
	}
	return dst
}

// FiltersOverlap reports whether some topic matches both filters, as
// MatchTopic decides: "station/+/t" and "station/#" overlap, "station/+/t"
// and "station/+/h" do not, and neither do "+/x" and "$SYS/x" (a topic
// starting with '$' is not matched by a filter starting with a wildcard).
// It reports true for a string that ValidFilter rejects.
func FiltersOverlap(a, b string) bool {
	if !ValidFilter(a) || !ValidFilter(b) {
		return true
	}
	wild := func(l string) bool { return l == "+" || l == "#" }
	for first := true; ; first = false {
		x, arest, amore := strings.Cut(a, "/")
		y, brest, bmore := strings.Cut(b, "/")
		if first && (wild(x) && strings.HasPrefix(y, "$") || wild(y) && strings.HasPrefix(x, "$")) {
			return false
		}
		if x == "#" || y == "#" {
			return true
		}
		if x != y && x != "+" && y != "+" {
			return false
		}
		switch {
		case !amore && !bmore:
			return true
		case !amore: // "a" and "a/#": the topic "a"
			return brest == "#"
		case !bmore:
			return arest == "#"
		}
		a, b = arest, brest
	}
}
