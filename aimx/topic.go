package aimx

import "strings"

// MatchTopic reports whether topic, a record key, matches pattern, with
// the grammar of RabbitMQ topic exchanges. Both are split into segments
// at '.'; '/' is an ordinary character. A "*" segment of pattern matches
// exactly one segment of topic; a "#" segment matches zero or more, and
// matching continues after it, so "a.#.c" matches "a.c", "a.x.c" and
// "a.x.y.c". "#" alone matches every topic, and "a.#" matches "a" itself
// and every topic under "a.". Any other segment, including one like
// "sensors*", matches only an equal segment; the comparison is
// case-sensitive. MatchTopic does not allocate.
func MatchTopic(pattern, topic string) bool {
	return topicWalk(pattern, topic, false)
}

// IsWildcard reports whether pattern contains '*' or '#' anywhere, that
// is whether subscribing to it means matching it against the record keys
// rather than resolving one key. A pattern like "sensors*", which
// [MatchTopic] treats as a literal, still counts as a wildcard here, as
// it does in AimDB's Rust implementation.
func IsWildcard(pattern string) bool {
	return strings.ContainsAny(pattern, "*#")
}

// PatternContains reports whether every topic that requested matches is
// also matched by grant: it answers whether a client granted grant may
// subscribe to requested. So a grant "a.*" does not cover a request
// "a.#", a grant "#" covers every request, and "a.#" covers "a.*.b".
// When requested has no wildcard segment, PatternContains(grant,
// requested) equals MatchTopic(grant, requested).
//
// The answer is conservative: it is never true when containment does
// not hold, but it may be false in corner cases where a "*" of grant
// meets a "#" of requested that a later segment constrains, such as
// grant "a.*.#" and request "a.#.a". Grants where no "*" meets a "#"
// of the request are decided exactly. The running time is bounded by
// the product of the segment counts.
func PatternContains(grant, requested string) bool {
	return topicWalk(grant, requested, true)
}

// topicWalk matches the segments of subject against pattern, where a
// "#" of pattern absorbs zero or more subject segments. With contain
// false the subject is a topic and every segment is a literal; with
// contain true it is a pattern, and a pattern segment covers a subject
// segment only if every topic segment the latter admits is admitted by
// the former. Only the most recent "#" is kept as a backtracking point,
// as in glob matching, which is enough because a "#" can absorb any run.
//
// Positions are byte offsets of the next segment; an offset past the end
// of the string means that no segment is left.
func topicWalk(pattern, subject string, contain bool) bool {
	pi, si := 0, 0
	backP, backS := -1, -1 // the pattern after the last "#", and where that "#" stops absorbing
	for {
		if pi <= len(pattern) {
			p, pn := topicSegment(pattern, pi)
			if p == "#" {
				if pn > len(pattern) {
					return true // a final "#" absorbs the rest
				}
				pi, backP, backS = pn, pn, si
				continue
			}
			if si <= len(subject) {
				s, sn := topicSegment(subject, si)
				if topicCovers(p, s, contain) {
					pi, si = pn, sn
					continue
				}
			}
		} else if si > len(subject) {
			return true // both exhausted together
		}
		// A mismatch, or one side ran out: let the last "#" absorb one
		// more subject segment and retry what follows it.
		if backP < 0 || backS > len(subject) {
			return false
		}
		_, backS = topicSegment(subject, backS)
		pi, si = backP, backS
	}
}

// topicSegment returns the segment of s that starts at byte offset i and
// the offset of the next one, which is len(s)+1 after the last segment.
func topicSegment(s string, i int) (string, int) {
	if j := strings.IndexByte(s[i:], '.'); j >= 0 {
		return s[i : i+j], i + j + 1
	}
	return s[i:], len(s) + 1
}

// topicCovers reports whether the pattern segment p, which is not "#",
// covers the subject segment s.
func topicCovers(p, s string, contain bool) bool {
	if p == "*" {
		// A "*" covers one segment: any topic segment, or a requested
		// "*" or literal, but not a requested "#", which may be zero or
		// several segments.
		return !contain || s != "#"
	}
	// A literal covers only itself; a requested "*" or "#" in its place
	// would reach topics the literal does not.
	return p == s
}
