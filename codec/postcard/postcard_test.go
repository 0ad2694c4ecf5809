package postcard_test

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb/codec/postcard"
)

// hex parses "01 ab" into bytes.
func hex(t testing.TB, s string) []byte {
	t.Helper()
	var b []byte
	for f := range strings.FieldsSeq(s) {
		var v byte
		for _, c := range []byte(f) {
			switch {
			case c >= '0' && c <= '9':
				v = v<<4 | (c - '0')
			case c >= 'a' && c <= 'f':
				v = v<<4 | (c - 'a' + 10)
			default:
				t.Fatalf("bad hex %q", f)
			}
		}
		b = append(b, v)
	}
	return b
}

// Each primitive against the bytes the format description gives.
func TestPrimitives(t *testing.T) {
	tests := []struct {
		name  string
		enc   func(e *postcard.Encoder)
		dec   func(d *postcard.Decoder) any
		value any
		want  string
	}{
		{"bool false", func(e *postcard.Encoder) { e.Bool(false) }, func(d *postcard.Decoder) any { return d.Bool() }, false, "00"},
		{"bool true", func(e *postcard.Encoder) { e.Bool(true) }, func(d *postcard.Decoder) any { return d.Bool() }, true, "01"},
		{"u8 255 is raw", func(e *postcard.Encoder) { e.U8(255) }, func(d *postcard.Decoder) any { return d.U8() }, uint8(255), "ff"},
		{"i8 -1 is raw two's complement", func(e *postcard.Encoder) { e.I8(-1) }, func(d *postcard.Decoder) any { return d.I8() }, int8(-1), "ff"},
		{"u16 0", func(e *postcard.Encoder) { e.U16(0) }, func(d *postcard.Decoder) any { return d.U16() }, uint16(0), "00"},
		{"u16 127: one byte", func(e *postcard.Encoder) { e.U16(127) }, func(d *postcard.Decoder) any { return d.U16() }, uint16(127), "7f"},
		// 128 = 1·2⁷ + 0: low group 0 with the continuation bit, then 1.
		{"u16 128", func(e *postcard.Encoder) { e.U16(128) }, func(d *postcard.Decoder) any { return d.U16() }, uint16(128), "80 01"},
		// 300 = 0b10_0101100: groups 0101100 (0x2c|0x80), 10 (0x02).
		{"u16 300", func(e *postcard.Encoder) { e.U16(300) }, func(d *postcard.Decoder) any { return d.U16() }, uint16(300), "ac 02"},
		// 65535 = 16 ones: 7 ones, 7 ones, 2 ones (0x03).
		{"u16 max", func(e *postcard.Encoder) { e.U16(65535) }, func(d *postcard.Decoder) any { return d.U16() }, uint16(65535), "ff ff 03"},
		// 2³²−1: four groups of 7 ones, then 4 ones (0x0f).
		{"u32 max", func(e *postcard.Encoder) { e.U32(math.MaxUint32) }, func(d *postcard.Decoder) any { return d.U32() }, uint32(math.MaxUint32), "ff ff ff ff 0f"},
		// 2⁶⁴−1: nine groups of 7 ones, then 1 one.
		{"u64 max", func(e *postcard.Encoder) { e.U64(math.MaxUint64) }, func(d *postcard.Decoder) any { return d.U64() }, uint64(math.MaxUint64), "ff ff ff ff ff ff ff ff ff 01"},
		// Zig-zag: 0→0, -1→1, 1→2, -2→3, …
		{"i16 0", func(e *postcard.Encoder) { e.I16(0) }, func(d *postcard.Decoder) any { return d.I16() }, int16(0), "00"},
		{"i16 -1", func(e *postcard.Encoder) { e.I16(-1) }, func(d *postcard.Decoder) any { return d.I16() }, int16(-1), "01"},
		{"i16 1", func(e *postcard.Encoder) { e.I16(1) }, func(d *postcard.Decoder) any { return d.I16() }, int16(1), "02"},
		{"i16 -64 → 127", func(e *postcard.Encoder) { e.I16(-64) }, func(d *postcard.Decoder) any { return d.I16() }, int16(-64), "7f"},
		{"i16 64 → 128", func(e *postcard.Encoder) { e.I16(64) }, func(d *postcard.Decoder) any { return d.I16() }, int16(64), "80 01"},
		// -32768 → 65535; 32767 → 65534 (0xfe with continuation, …).
		{"i16 min", func(e *postcard.Encoder) { e.I16(math.MinInt16) }, func(d *postcard.Decoder) any { return d.I16() }, int16(math.MinInt16), "ff ff 03"},
		{"i16 max", func(e *postcard.Encoder) { e.I16(math.MaxInt16) }, func(d *postcard.Decoder) any { return d.I16() }, int16(math.MaxInt16), "fe ff 03"},
		{"i32 min", func(e *postcard.Encoder) { e.I32(math.MinInt32) }, func(d *postcard.Decoder) any { return d.I32() }, int32(math.MinInt32), "ff ff ff ff 0f"},
		{"i64 min", func(e *postcard.Encoder) { e.I64(math.MinInt64) }, func(d *postcard.Decoder) any { return d.I64() }, int64(math.MinInt64), "ff ff ff ff ff ff ff ff ff 01"},
		{"i64 max", func(e *postcard.Encoder) { e.I64(math.MaxInt64) }, func(d *postcard.Decoder) any { return d.I64() }, int64(math.MaxInt64), "fe ff ff ff ff ff ff ff ff 01"},
		// 1.0f32 = 0x3f800000, little-endian.
		{"f32 1", func(e *postcard.Encoder) { e.F32(1) }, func(d *postcard.Decoder) any { return d.F32() }, float32(1), "00 00 80 3f"},
		// 1.0f64 = 0x3ff0000000000000, little-endian.
		{"f64 1", func(e *postcard.Encoder) { e.F64(1) }, func(d *postcard.Decoder) any { return d.F64() }, float64(1), "00 00 00 00 00 00 f0 3f"},
		{"f64 -2.5", func(e *postcard.Encoder) { e.F64(-2.5) }, func(d *postcard.Decoder) any { return d.F64() }, float64(-2.5), "00 00 00 00 00 00 04 c0"},
		// str: varint length 2, then the UTF-8 bytes of "hé" (h, é = c3 a9): 3 bytes.
		{"str", func(e *postcard.Encoder) { e.Str("hé") }, func(d *postcard.Decoder) any { return d.Str() }, "hé", "03 68 c3 a9"},
		{"empty str", func(e *postcard.Encoder) { e.Str("") }, func(d *postcard.Decoder) any { return d.Str() }, "", "00"},
		{"bytes", func(e *postcard.Encoder) { e.ByteSeq([]byte{1, 2}) }, func(d *postcard.Decoder) any { return string(d.ByteSeq()) }, "\x01\x02", "02 01 02"},
		// Option<u16>: None is tag 0; Some(300) is tag 1 then the varint.
		{"option none", func(e *postcard.Encoder) { e.Option(false) }, func(d *postcard.Decoder) any { return d.Option() }, false, "00"},
		{"option some u16", func(e *postcard.Encoder) { e.Option(true); e.U16(300) }, func(d *postcard.Decoder) any {
			if !d.Option() {
				return nil
			}
			return d.U16()
		}, uint16(300), "01 ac 02"},
		// An enum variant is its index as a varint: variant 2 of a unit enum.
		{"enum variant", func(e *postcard.Encoder) { e.Variant(2) }, func(d *postcard.Decoder) any { return d.Variant() }, uint32(2), "02"},
		// Vec<i16> [-1, 1]: length 2, then each zig-zag varint.
		{"seq", func(e *postcard.Encoder) { e.Len(2); e.I16(-1); e.I16(1) }, func(d *postcard.Decoder) any {
			n := d.Len()
			var s []int16
			for range n {
				s = append(s, d.I16())
			}
			return len(s) == 2 && s[0] == -1 && s[1] == 1
		}, true, "02 01 02"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e postcard.Encoder
			tt.enc(&e)
			want := hex(t, tt.want)
			if !bytes.Equal(e.Bytes(), want) {
				t.Errorf("encoded % x; want % x", e.Bytes(), want)
			}
			d := postcard.NewDecoder(want)
			got := tt.dec(d)
			if d.Err() != nil || got != tt.value || d.Remaining() != 0 {
				t.Errorf("decoded %v (%T), err %v, %d bytes left; want %v", got, got, d.Err(), d.Remaining(), tt.value)
			}
		})
	}
}

// Input the decoder refuses, and the error it gives.
func TestRefusals(t *testing.T) {
	tests := []struct {
		name string
		in   string
		dec  func(d *postcard.Decoder)
		want string
	}{
		{"empty", "", func(d *postcard.Decoder) { d.U32() }, "postcard: byte 0: truncated: u32 varint ends after 0 bytes"},
		{"varint cut", "80 80", func(d *postcard.Decoder) { d.U32() }, "postcard: byte 0: truncated: u32 varint ends after 2 bytes"},
		{"u16 four bytes", "80 80 80 00", func(d *postcard.Decoder) { d.U16() }, "postcard: byte 0: u16 varint is longer than 3 bytes"},
		{"u32 six bytes", "ff ff ff ff ff 01", func(d *postcard.Decoder) { d.U32() }, "u32 varint is longer than 5 bytes"},
		{"u64 eleven bytes", "ff ff ff ff ff ff ff ff ff ff 01", func(d *postcard.Decoder) { d.U64() }, "u64 varint is longer than 10 bytes"},
		{"u16 65536", "80 80 04", func(d *postcard.Decoder) { d.U16() }, "postcard: byte 0: u16 varint 65536 is out of range (above 65535)"},
		{"u32 2^32", "80 80 80 80 10", func(d *postcard.Decoder) { d.U32() }, "u32 varint 4294967296 is out of range (above 4294967295)"},
		{"u64 2^64", "80 80 80 80 80 80 80 80 80 02", func(d *postcard.Decoder) { d.U64() }, "u64 varint is out of range (above 18446744073709551615)"},
		{"i16 out of range", "80 80 04", func(d *postcard.Decoder) { d.I16() }, "i16 varint 65536 is out of range"},
		{"redundant zero", "80 00", func(d *postcard.Decoder) { d.U32() }, "u32 varint has redundant bytes (a trailing 0x00)"},
		{"redundant zeros", "81 80 00", func(d *postcard.Decoder) { d.U64() }, "u64 varint has redundant bytes"},
		{"bool 2", "02", func(d *postcard.Decoder) { d.Bool() }, "postcard: byte 0: bool byte 2 is not 0 or 1"},
		{"option 2", "02", func(d *postcard.Decoder) { d.Option() }, "option tag 2 is not 0 (None) or 1 (Some)"},
		{"f32 cut", "00 00 80", func(d *postcard.Decoder) { d.F32() }, "postcard: byte 0: truncated: f32 needs 4 bytes, 3 left"},
		{"f64 cut", "00", func(d *postcard.Decoder) { d.F64() }, "truncated: f64 needs 8 bytes, 1 left"},
		{"u8 none", "", func(d *postcard.Decoder) { d.U8() }, "truncated: u8 needs 1 bytes, 0 left"},
		{"str not UTF-8", "02 c3 28", func(d *postcard.Decoder) { d.Str() }, "postcard: byte 1: string is not valid UTF-8"},
		{"str longer than input", "05 61 62", func(d *postcard.Decoder) { d.Str() }, "postcard: byte 0: length 5 is more than the 2 bytes left"},
		{"huge length", "ff ff ff ff ff ff ff ff ff 01", func(d *postcard.Decoder) { d.ByteSeq() }, "length 18446744073709551615 is more than the 0 bytes left"},
		{"field named", "00 00", func(d *postcard.Decoder) { d.Field("celsius").F32() }, `postcard: field "celsius" at byte 0: truncated: f32 needs 4 bytes, 2 left`},
		{"first error kept", "02", func(d *postcard.Decoder) { d.Bool(); d.F64() }, "bool byte 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := postcard.NewDecoder(hex(t, tt.in))
			tt.dec(d)
			if err := d.Err(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Err() = %v; want it to contain %q", err, tt.want)
			}
		})
	}
}

// Every integer round-trips, at the edges of each varint length.
func TestVarintRoundTrip(t *testing.T) {
	var e postcard.Encoder
	var d postcard.Decoder
	for shift := range 64 {
		for _, delta := range []int64{-1, 0, 1} {
			u := uint64(1)<<shift + uint64(delta)
			e.Reset(nil)
			e.U64(u)
			e.I64(int64(u))
			e.I64(-int64(u))
			d.Reset(e.Bytes())
			if a, b, c := d.U64(), d.I64(), d.I64(); d.Err() != nil || a != u || b != int64(u) || c != -int64(u) || d.Remaining() != 0 {
				t.Errorf("%d: read %d %d %d, %v", u, a, b, c, d.Err())
			}
		}
	}
}
