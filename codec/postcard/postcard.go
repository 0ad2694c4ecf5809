// Package postcard reads and writes Postcard, the compact binary format
// of Rust's postcard crate (1.x), byte for byte, for the serde data
// model: Rust microcontrollers and Go programs exchange the same bytes.
//
// # Format
//
// Postcard writes no field names, no struct framing and no type tags:
// a struct is its fields in order, and each value is
//
//	bool              one byte, 0 or 1
//	u8, i8            one byte as it is
//	u16, u32, u64     varint: LEB128, 7 bits a byte, least significant first
//	usize             varint (u64 here; u32 on a 32-bit Rust target)
//	i16, i32, i64     zig-zag (0, -1, 1, -2 … → 0, 1, 2, 3 …), then varint
//	f32, f64          IEEE 754, little-endian
//	Option            tag byte 0 (None) or 1 (Some) then the value
//	str, bytes, seq   varint length, then the bytes or the elements
//	enum              varint variant index (u32), then the variant's data
//
// 128-bit integers and char are not supported.
//
// # Encoding by hand
//
// A type implements Marshaler and Unmarshaler by writing and reading its
// fields in declaration order, so nothing is reflected on at run time and
// a microcontroller carries only the code it calls:
//
//	func (t Temperature) MarshalPostcard(e *postcard.Encoder) {
//		e.F32(t.Celsius)
//		e.U64(t.Timestamp)
//	}
//
//	func (t *Temperature) UnmarshalPostcard(d *postcard.Decoder) error {
//		t.Celsius = d.Field("celsius").F32()
//		t.Timestamp = d.Field("timestamp").U64()
//		return d.Err()
//	}
//
// An Encoder appends to a buffer it is given and allocates nothing when
// the buffer is large enough. A Decoder reads from a byte slice and keeps
// the first error, so that a type reads all its fields and checks once.
//
// # Strictness
//
// The decoder refuses what postcard refuses: a varint longer than its
// type allows, a varint whose value does not fit its type (a u16 above
// 65535), truncated input, a bool or Option tag other than 0 or 1, a
// string that is not UTF-8. It also refuses a varint written with
// redundant bytes (0x80 0x00 for 0), which postcard accepts but never
// writes, so that every value has one encoding; and Codec refuses bytes
// after the value, which postcard's from_bytes ignores.
//
// Codec wraps a Marshaler as an aimdb.Codec; For does the same for a data
// contract (package contract), with its version as the first varint.
package postcard

import (
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf8"
)

// A Marshaler writes itself to an Encoder.
type Marshaler interface {
	MarshalPostcard(e *Encoder)
}

// An Unmarshaler reads itself from a Decoder. It returns d.Err() after
// reading its fields, or an error of its own for a value it refuses.
type Unmarshaler interface {
	UnmarshalPostcard(d *Decoder) error
}

// An Encoder appends Postcard values to a byte slice. The zero value
// writes to a new slice; Reset gives it a buffer to reuse.
type Encoder struct {
	b []byte
}

// NewEncoder returns an Encoder that appends to buf.
func NewEncoder(buf []byte) *Encoder { return &Encoder{b: buf} }

// Reset makes e append to buf, dropping what it held.
func (e *Encoder) Reset(buf []byte) { e.b = buf }

// Bytes returns the buffer with everything written so far.
func (e *Encoder) Bytes() []byte { return e.b }

// Bool writes v as one byte, 0 or 1.
func (e *Encoder) Bool(v bool) {
	var b byte
	if v {
		b = 1
	}
	e.b = append(e.b, b)
}

// U8 writes v as one byte.
func (e *Encoder) U8(v uint8) { e.b = append(e.b, v) }

// I8 writes v as one byte, two's complement.
func (e *Encoder) I8(v int8) { e.b = append(e.b, byte(v)) }

// U16 writes v as a varint.
func (e *Encoder) U16(v uint16) { e.b = binary.AppendUvarint(e.b, uint64(v)) }

// U32 writes v as a varint.
func (e *Encoder) U32(v uint32) { e.b = binary.AppendUvarint(e.b, uint64(v)) }

// U64 writes v as a varint.
func (e *Encoder) U64(v uint64) { e.b = binary.AppendUvarint(e.b, v) }

// I16 writes v zig-zag encoded as a varint.
func (e *Encoder) I16(v int16) { e.I64(int64(v)) }

// I32 writes v zig-zag encoded as a varint.
func (e *Encoder) I32(v int32) { e.I64(int64(v)) }

// I64 writes v zig-zag encoded as a varint.
func (e *Encoder) I64(v int64) { e.b = binary.AppendUvarint(e.b, uint64(v<<1)^uint64(v>>63)) }

// F32 writes v as 4 bytes, little-endian.
func (e *Encoder) F32(v float32) { e.b = binary.LittleEndian.AppendUint32(e.b, math.Float32bits(v)) }

// F64 writes v as 8 bytes, little-endian.
func (e *Encoder) F64(v float64) { e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v)) }

// Len writes the length of a sequence, string or map (a usize varint).
func (e *Encoder) Len(n int) { e.b = binary.AppendUvarint(e.b, uint64(n)) }

// Str writes s as its length and its bytes. s should be UTF-8: a decoder
// refuses anything else.
func (e *Encoder) Str(s string) {
	e.Len(len(s))
	e.b = append(e.b, s...)
}

// ByteSeq writes v as its length and its bytes (serde's bytes, or a
// Vec<u8>).
func (e *Encoder) ByteSeq(v []byte) {
	e.Len(len(v))
	e.b = append(e.b, v...)
}

// Option writes the tag of an Option: 1 for Some, after which the caller
// writes the value, or 0 for None.
func (e *Encoder) Option(some bool) { e.Bool(some) }

// Variant writes the index of an enum variant, after which the caller
// writes the variant's fields.
func (e *Encoder) Variant(i uint32) { e.U32(i) }

// A Decoder reads Postcard values from a byte slice. It keeps the first
// error: after one, every read returns the zero value, and Err reports
// it. The zero value reads from an empty slice; Reset gives it input.
type Decoder struct {
	b     []byte
	off   int
	field string
	err   *Error
}

// NewDecoder returns a Decoder that reads b.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// Reset makes d read b from its start and forget its error.
func (d *Decoder) Reset(b []byte) { *d = Decoder{b: b} }

// Err returns the first error of a read, or nil. It is an *Error.
func (d *Decoder) Err() error {
	if d.err == nil {
		return nil
	}
	return d.err
}

// Remaining returns the number of bytes not read yet.
func (d *Decoder) Remaining() int { return len(d.b) - d.off }

// Field names the field the next reads belong to, for error messages,
// and returns d: t.Celsius = d.Field("celsius").F32().
func (d *Decoder) Field(name string) *Decoder {
	d.field = name
	return d
}

// An Error is input a Decoder refuses: where, in which field if one was
// named, and what is wrong.
type Error struct {
	Offset int    // the offset of the value at fault in the input
	Field  string // the field named by Decoder.Field, "" if none
	Msg    string
}

func (e *Error) Error() string {
	s := "postcard: "
	if e.Field != "" {
		s += "field " + strconv.Quote(e.Field) + " at "
	}
	return s + "byte " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

// Fail records err as d's error, unless it has one already, with the
// current offset and field. Unmarshalers use it to refuse a value.
func (d *Decoder) Fail(msg string) {
	d.failAt(d.off, msg)
}

func (d *Decoder) failAt(off int, msg string) {
	if d.err == nil {
		d.err = &Error{Offset: off, Field: d.field, Msg: msg}
	}
}

// take returns the next n bytes of a value of type what, or nil.
func (d *Decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if d.Remaining() < n {
		d.failAt(d.off, "truncated: "+what+" needs "+strconv.Itoa(n)+" bytes, "+strconv.Itoa(d.Remaining())+" left")
		return nil
	}
	b := d.b[d.off : d.off+n]
	d.off += n
	return b
}

// varint reads a varint of at most maxBytes bytes whose value is at most
// max, for a value of type what.
func (d *Decoder) varint(maxBytes int, max uint64, what string) uint64 {
	if d.err != nil {
		return 0
	}
	start := d.off
	var v uint64
	for i := 0; ; i++ {
		if d.off >= len(d.b) {
			d.failAt(start, "truncated: "+what+" varint ends after "+strconv.Itoa(i)+" bytes")
			return 0
		}
		c := d.b[d.off]
		d.off++
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			switch {
			case c == 0 && i > 0:
				d.failAt(start, what+" varint has redundant bytes (a trailing 0x00)")
			case v > max:
				d.failAt(start, what+" varint "+strconv.FormatUint(v, 10)+" is out of range (above "+strconv.FormatUint(max, 10)+")")
			case i == maxBytes-1 && uint64(c) > max>>(7*i):
				// A u64's tenth byte holds one bit; the others fell off
				// v, so it cannot be shown.
				d.failAt(start, what+" varint is out of range (above "+strconv.FormatUint(max, 10)+")")
			default:
				return v
			}
			return 0
		}
		if i == maxBytes-1 {
			d.failAt(start, what+" varint is longer than "+strconv.Itoa(maxBytes)+" bytes")
			return 0
		}
	}
}

// Bool reads one byte, 0 or 1.
func (d *Decoder) Bool() bool {
	b := d.take(1, "bool")
	if b == nil {
		return false
	}
	if b[0] > 1 {
		d.failAt(d.off-1, "bool byte "+strconv.Itoa(int(b[0]))+" is not 0 or 1")
		return false
	}
	return b[0] == 1
}

// U8 reads one byte.
func (d *Decoder) U8() uint8 {
	b := d.take(1, "u8")
	if b == nil {
		return 0
	}
	return b[0]
}

// I8 reads one byte, two's complement.
func (d *Decoder) I8() int8 { return int8(d.U8()) }

// U16 reads a varint of at most 3 bytes, at most 65535.
func (d *Decoder) U16() uint16 { return uint16(d.varint(3, math.MaxUint16, "u16")) }

// U32 reads a varint of at most 5 bytes, at most 2³²−1.
func (d *Decoder) U32() uint32 { return uint32(d.varint(5, math.MaxUint32, "u32")) }

// U64 reads a varint of at most 10 bytes.
func (d *Decoder) U64() uint64 { return d.varint(10, math.MaxUint64, "u64") }

func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// I16 reads a zig-zag varint of at most 3 bytes.
func (d *Decoder) I16() int16 { return int16(unzigzag(d.varint(3, math.MaxUint16, "i16"))) }

// I32 reads a zig-zag varint of at most 5 bytes.
func (d *Decoder) I32() int32 { return int32(unzigzag(d.varint(5, math.MaxUint32, "i32"))) }

// I64 reads a zig-zag varint of at most 10 bytes.
func (d *Decoder) I64() int64 { return unzigzag(d.varint(10, math.MaxUint64, "i64")) }

// F32 reads 4 bytes, little-endian.
func (d *Decoder) F32() float32 {
	b := d.take(4, "f32")
	if b == nil {
		return 0
	}
	return math.Float32frombits(binary.LittleEndian.Uint32(b))
}

// F64 reads 8 bytes, little-endian.
func (d *Decoder) F64() float64 {
	b := d.take(8, "f64")
	if b == nil {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b))
}

// Len reads the length of a sequence, string or map: a usize varint. A
// length above the bytes left is refused, because every element takes a
// byte at least (sequences of zero-sized values are not supported).
func (d *Decoder) Len() int {
	start := d.off
	n := d.varint(10, math.MaxUint64, "length")
	if d.err == nil && n > uint64(d.Remaining()) {
		d.failAt(start, "length "+strconv.FormatUint(n, 10)+" is more than the "+strconv.Itoa(d.Remaining())+" bytes left")
		return 0
	}
	return int(n)
}

// Str reads a length and that many bytes of UTF-8.
func (d *Decoder) Str() string {
	n := d.Len()
	start := d.off
	b := d.take(n, "string")
	if b == nil {
		return ""
	}
	if !utf8.Valid(b) {
		d.failAt(start, "string is not valid UTF-8")
		return ""
	}
	return string(b)
}

// ByteSeq reads a length and that many bytes. The result shares the
// input's memory; copy it to keep it past the input's life.
func (d *Decoder) ByteSeq() []byte {
	return d.take(d.Len(), "bytes")
}

// Option reads the tag of an Option: true for Some, after which the
// caller reads the value.
func (d *Decoder) Option() bool {
	b := d.take(1, "option tag")
	if b == nil {
		return false
	}
	if b[0] > 1 {
		d.failAt(d.off-1, "option tag "+strconv.Itoa(int(b[0]))+" is not 0 (None) or 1 (Some)")
		return false
	}
	return b[0] == 1
}

// Variant reads the index of an enum variant (a u32 varint).
func (d *Decoder) Variant() uint32 { return uint32(d.varint(5, math.MaxUint32, "variant")) }
