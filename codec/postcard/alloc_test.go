//go:build !race && !tinygo

// The race detector allocates on its own, so the allocation gate runs only
// in builds without it (.ci/run runs those too); TinyGo has its own escape
// analysis and allocator, so it does not apply there.

package postcard_test

import (
	"testing"

	"github.com/aimdb-go/aimdb/codec/postcard"
)

func TestEncodeAllocatesNothing(t *testing.T) {
	v := temperatureV2{Celsius: 21.5, Timestamp: 1754044800000}
	buf := make([]byte, 0, 64)
	var e postcard.Encoder
	allocs := testing.AllocsPerRun(1000, func() {
		e.Reset(buf[:0])
		e.U32(2)
		v.MarshalPostcard(&e)
	})
	if allocs != 0 {
		t.Errorf("Encoder into a reused buffer: %v allocations a value; want 0", allocs)
	}
	allocs = testing.AllocsPerRun(1000, func() {
		e.Reset(buf[:0])
		if err := temperatures.EncodeTo(&e, v); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ContractCodec.EncodeTo into a reused buffer: %v allocations a value; want 0", allocs)
	}
	h := humidityV1{Percent: 58.2, Timestamp: 1}
	allocs = testing.AllocsPerRun(1000, func() {
		e.Reset(buf[:0])
		postcard.Of[humidityV1]().EncodeTo(&e, h)
	})
	if allocs != 0 {
		t.Errorf("Codec.EncodeTo into a reused buffer: %v allocations a value; want 0", allocs)
	}
}
