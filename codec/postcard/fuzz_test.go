package postcard_test

import (
	"bytes"
	"testing"

	"github.com/aimdb-go/aimdb/codec/postcard"
)

// FuzzDecoder reads data as the sequence of types ops names, and checks
// that every value read re-encodes to exactly the bytes it came from: the
// decoder accepts one encoding of each value, the one the encoder writes.
func FuzzDecoder(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}, []byte("\x01\x7f\xff\xac\x02\x01\xff\xff\xff\xff\x0f\x00\x00\x80\x3f"))
	f.Add([]byte{3, 3, 3}, []byte{0x80, 0x00, 0x80, 0x80, 0x04})
	f.Add([]byte{11, 12}, []byte{0x02, 0xc3, 0xa9, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, ops, data []byte) {
		d := postcard.NewDecoder(data)
		var e postcard.Encoder
		for _, op := range ops {
			start := len(data) - d.Remaining()
			e.Reset(e.Bytes()[:0])
			switch op % 14 {
			case 0:
				e.Bool(d.Bool())
			case 1:
				e.U8(d.U8())
			case 2:
				e.I8(d.I8())
			case 3:
				e.U16(d.U16())
			case 4:
				e.I16(d.I16())
			case 5:
				e.U32(d.U32())
			case 6:
				e.I32(d.I32())
			case 7:
				e.U64(d.U64())
			case 8:
				e.I64(d.I64())
			case 9:
				e.F32(d.F32())
			case 10:
				e.F64(d.F64())
			case 11:
				e.Str(d.Str())
			case 12:
				e.ByteSeq(d.ByteSeq())
			case 13:
				e.Option(d.Option())
			}
			if d.Err() != nil {
				return
			}
			if got := data[start : len(data)-d.Remaining()]; !bytes.Equal(e.Bytes(), got) {
				t.Fatalf("op %d: read % x, which re-encodes as % x", op%14, got, e.Bytes())
			}
		}
	})
}

// FuzzContractDecode decodes any bytes with the temperature contract: a
// value it accepts passes the contract's check and round-trips through
// the current version, and a current-version payload re-encodes to its
// own bytes.
func FuzzContractDecode(f *testing.F) {
	for _, s := range []string{
		"02 00 00 ac 41 80 b8 de a9 86 33",
		"01 00 00 ac 41 80 b8 de a9 86 33 01 43",
		"01 00 00 48 42 00 01 46",
		"03 00 00 ac 41 00",
		"02 00 00 96 c3 00",
		"02 00 00 c0 7f 00",
		"",
	} {
		f.Add(hex(f, s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		v, err := temperatures.Decode(payload)
		if err != nil {
			return
		}
		if v.Celsius < -90 || v.Celsius > 70 || v.Celsius != v.Celsius {
			t.Fatalf("Decode(% x) = %+v, which the check refuses", payload, v)
		}
		enc, err := temperatures.Encode(v)
		if err != nil {
			t.Fatalf("Decode(% x) = %+v, which does not encode: %v", payload, v, err)
		}
		if payload[0] == 2 && !bytes.Equal(enc, payload) {
			t.Fatalf("v2 payload % x re-encodes as % x", payload, enc)
		}
		again, err := temperatures.Decode(enc)
		if err != nil || again != v {
			t.Fatalf("Decode(Encode(%+v)) = %+v, %v", v, again, err)
		}
		old, err := temperatures.As(1).Encode(v)
		if err != nil {
			t.Fatalf("As(1).Encode(%+v): %v", v, err)
		}
		if back, err := temperatures.Decode(old); err != nil || back != v {
			t.Fatalf("Decode(As(1).Encode(%+v)) = %+v, %v", v, back, err)
		}
	})
}
