//go:build !race && !tinygo

// The race detector allocates on its own (and sync.Pool drops items at
// random under it), so allocation gates run only in normal builds.

package codec_test

import (
	"testing"

	"github.com/aimdb-go/aimdb/codec"
)

// TestAppendEncodeAllocs: JSON.AppendEncode into a buffer with room
// allocates only the boxing of the value for encoding/json; Encode, the
// control, allocates its result too.
func TestAppendEncodeAllocs(t *testing.T) {
	buf := make([]byte, 0, 256)
	r := reading{21.5, "s1"}
	if n := testing.AllocsPerRun(1000, func() {
		buf, _ = codec.JSON[reading]{}.AppendEncode(buf[:0], r)
	}); n > 1 {
		t.Errorf("JSON.AppendEncode: %v allocations per value; want at most 1 (the value boxed for encoding/json)", n)
	}
	if n := testing.AllocsPerRun(1000, func() {
		_, _ = codec.JSON[reading]{}.Encode(r)
	}); n < 2 {
		t.Errorf("JSON.Encode: %v allocations per value; the control expects at least 2", n)
	}
}
