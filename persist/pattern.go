package persist

import (
	"fmt"
	"strings"
)

// Match reports whether key matches pattern (see Query.Pattern). Matching
// is case-sensitive; "*" and "#" are wildcards only as whole segments.
func Match(pattern, key string) bool {
	if pattern == "" || pattern == "#" {
		return true
	}
	return match(strings.Split(pattern, "."), strings.Split(key, "."))
}

func match(p, k []string) bool {
	for len(p) > 0 {
		switch p[0] {
		case "#":
			for i := 0; i <= len(k); i++ {
				if match(p[1:], k[i:]) {
					return true
				}
			}
			return false
		case "*":
			if len(k) == 0 {
				return false
			}
		default:
			if len(k) == 0 || k[0] != p[0] {
				return false
			}
		}
		p, k = p[1:], k[1:]
	}
	return len(k) == 0
}

// IsLiteral reports whether pattern has no wildcard segment: it matches
// the one key equal to it.
func IsLiteral(pattern string) bool {
	return pattern != "" && LiteralPrefix(pattern) == pattern
}

// LiteralPrefix returns the text of pattern before its first wildcard
// segment, without the "." before it: every key pattern matches starts
// with it ("sensors.*" → "sensors", "#" → ""). ("sensors.#" matches
// "sensors" itself.)
func LiteralPrefix(pattern string) string {
	segs := strings.Split(pattern, ".")
	n := 0
	for i, s := range segs {
		if s == "*" || s == "#" {
			return pattern[:max(n-1, 0)]
		}
		n += len(s)
		if i < len(segs)-1 {
			n++
		}
	}
	return pattern
}

// ValidatePattern reports a pattern with an empty segment, wrapping
// ErrInvalid.
func ValidatePattern(pattern string) error {
	if pattern == "" {
		return nil
	}
	for s := range strings.SplitSeq(pattern, ".") {
		if s == "" {
			return fmt.Errorf("%w pattern %q: empty segment", ErrInvalid, pattern)
		}
	}
	return nil
}
