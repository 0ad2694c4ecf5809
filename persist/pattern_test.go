package persist_test

import (
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb/persist"
)

func TestLiteralPrefix(t *testing.T) {
	for _, tc := range []struct{ pattern, want string }{
		{"sensors.*", "sensors"}, {"#", ""}, {"*.x", ""}, {"a.b.c", "a.b.c"}, {"a.b.#", "a.b"}, {"a.*.c", "a"}, {"sensors*", "sensors*"},
	} {
		if got := persist.LiteralPrefix(tc.pattern); got != tc.want {
			t.Errorf("LiteralPrefix(%q) = %q, want %q", tc.pattern, got, tc.want)
		}
	}
}

// FuzzMatch checks that every key a pattern matches starts with the
// pattern's literal prefix, which the SQL backends rely on to narrow a
// query by index, and that a literal pattern matches only itself.
func FuzzMatch(f *testing.F) {
	f.Add("sensors.#", "sensors")
	f.Add("a.#.c", "a.x.y.c")
	f.Add("*.temp", "x.temp")
	f.Fuzz(func(t *testing.T, pattern, key string) {
		if persist.ValidatePattern(pattern) != nil {
			return
		}
		if persist.Match(pattern, key) && !strings.HasPrefix(key, persist.LiteralPrefix(pattern)) {
			t.Errorf("Match(%q, %q) but the key lacks the prefix %q", pattern, key, persist.LiteralPrefix(pattern))
		}
		if persist.IsLiteral(pattern) && persist.Match(pattern, key) != (pattern == key) {
			t.Errorf("literal %q: Match(%q) = %v", pattern, key, persist.Match(pattern, key))
		}
	})
}
