package knx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
)

// The DPT codecs turn Go values into the payload of a KNX telegram and
// back, as link codecs: the payload is the telegram's data octets, or one
// byte holding the 6-bit value of a short telegram. Each Decode refuses a
// payload of the wrong length or a value out of its datapoint type's
// range, so a malformed telegram is counted in the link's decode_errors
// and never stored.

// Bool is DPT 1.001 (switch) and every DPT 1.x: false and true as one
// bit, sent in a short telegram. Decode refuses a value other than 0 or 1.
type Bool struct{}

// Encode implements aimdb.Codec.
func (Bool) Encode(v bool) ([]byte, error) {
	if v {
		return []byte{1}, nil
	}
	return []byte{0}, nil
}

// Decode implements aimdb.Codec.
func (Bool) Decode(b []byte) (bool, error) {
	if len(b) != 1 || b[0] > 1 {
		return false, fmt.Errorf("knx: DPT 1: want one byte 0 or 1, have % x", b)
	}
	return b[0] == 1, nil
}

// Percent is DPT 5.001 (scaling): 0 to 100 % in one octet (raw·100/255).
// Encode rounds to the nearest step and refuses values outside 0–100 and
// NaN. Send it with frame=long: the auto rule would send values below
// 25 % as a short telegram.
type Percent struct{}

// Encode implements aimdb.Codec.
func (Percent) Encode(v float64) ([]byte, error) {
	if !(v >= 0 && v <= 100) {
		return nil, fmt.Errorf("knx: DPT 5.001: %v is outside 0-100 %%", v)
	}
	return []byte{byte(math.Round(v * 255 / 100))}, nil
}

// Decode implements aimdb.Codec.
func (Percent) Decode(b []byte) (float64, error) {
	if len(b) != 1 {
		return 0, fmt.Errorf("knx: DPT 5.001: want 1 byte, have %d", len(b))
	}
	return float64(b[0]) * 100 / 255, nil
}

// Uint8 is DPT 5.010 (counter pulses, 0–255) and the other unscaled DPT
// 5.x. Send it with frame=long.
type Uint8 struct{}

// Encode implements aimdb.Codec.
func (Uint8) Encode(v uint8) ([]byte, error) { return []byte{v}, nil }

// Decode implements aimdb.Codec.
func (Uint8) Decode(b []byte) (uint8, error) {
	if len(b) != 1 {
		return 0, fmt.Errorf("knx: DPT 5: want 1 byte, have %d", len(b))
	}
	return b[0], nil
}

// Uint16 is DPT 7.001 (pulses, 0–65535) and the other DPT 7.x: two
// octets, big-endian.
type Uint16 struct{}

// Encode implements aimdb.Codec.
func (Uint16) Encode(v uint16) ([]byte, error) { return binary.BigEndian.AppendUint16(nil, v), nil }

// Decode implements aimdb.Codec.
func (Uint16) Decode(b []byte) (uint16, error) {
	if len(b) != 2 {
		return 0, fmt.Errorf("knx: DPT 7: want 2 bytes, have %d", len(b))
	}
	return binary.BigEndian.Uint16(b), nil
}

// Uint32 is DPT 12.001 (counter pulses) and the other DPT 12.x: four
// octets, big-endian.
type Uint32 struct{}

// Encode implements aimdb.Codec.
func (Uint32) Encode(v uint32) ([]byte, error) { return binary.BigEndian.AppendUint32(nil, v), nil }

// Decode implements aimdb.Codec.
func (Uint32) Decode(b []byte) (uint32, error) {
	if len(b) != 4 {
		return 0, fmt.Errorf("knx: DPT 12: want 4 bytes, have %d", len(b))
	}
	return binary.BigEndian.Uint32(b), nil
}

// Int32 is DPT 13.001 (counter pulses) and the other DPT 13.x: four
// octets, two's complement, big-endian.
type Int32 struct{}

// Encode implements aimdb.Codec.
func (Int32) Encode(v int32) ([]byte, error) {
	return binary.BigEndian.AppendUint32(nil, uint32(v)), nil
}

// Decode implements aimdb.Codec.
func (Int32) Decode(b []byte) (int32, error) {
	if len(b) != 4 {
		return 0, fmt.Errorf("knx: DPT 13: want 4 bytes, have %d", len(b))
	}
	return int32(binary.BigEndian.Uint32(b)), nil
}

// Float32 is DPT 14.x (physical values, such as 14.056 power in W):
// IEEE 754 single precision, big-endian. Every float32, NaN included,
// round-trips bit for bit.
type Float32 struct{}

// Encode implements aimdb.Codec.
func (Float32) Encode(v float32) ([]byte, error) {
	return binary.BigEndian.AppendUint32(nil, math.Float32bits(v)), nil
}

// Decode implements aimdb.Codec.
func (Float32) Decode(b []byte) (float32, error) {
	if len(b) != 4 {
		return 0, fmt.Errorf("knx: DPT 14: want 4 bytes, have %d", len(b))
	}
	return math.Float32frombits(binary.BigEndian.Uint32(b)), nil
}

// Float16 is DPT 9.x, KNX's two-octet float: value = 0.01·M·2^E with a
// 12-bit two's complement mantissa M and a 4-bit exponent E. Min and Max
// bound the values Encode and Decode accept (both zero: the format's
// whole range, −671088.64 to 670433.28; the raw value 0x7FFF that would
// be 670760.96 means "invalid data"). Encode picks the smallest
// exponent that holds the value and rounds half away from zero, as
// AimDB's Rust helpers do; Decode refuses 0x7FFF.
type Float16 struct {
	DPT      string // named in errors ("9.001")
	Min, Max float64
}

// Temperature is DPT 9.001, °C from −273 to 670433.28.
var Temperature = Float16{DPT: "9.001", Min: -273, Max: float16Max}

// Humidity is DPT 9.007, % from 0 to 670433.28.
var Humidity = Float16{DPT: "9.007", Min: 0, Max: float16Max}

const (
	float16Min = -671088.64
	float16Max = 670433.28 // 0x7FFE
)

func (f Float16) bounds() (lo, hi float64) {
	if f.Min == 0 && f.Max == 0 {
		return float16Min, float16Max
	}
	return f.Min, f.Max
}

func (f Float16) name() string {
	if f.DPT == "" {
		return "DPT 9"
	}
	return "DPT " + f.DPT
}

// Encode implements aimdb.Codec.
func (f Float16) Encode(v float64) ([]byte, error) {
	lo, hi := f.bounds()
	if !(v >= lo && v <= hi) {
		return nil, fmt.Errorf("knx: %s: %v is outside %v to %v", f.name(), v, lo, hi)
	}
	raw, ok := encodeFloat16(v)
	if !ok {
		return nil, fmt.Errorf("knx: %s: %v does not fit two octets", f.name(), v)
	}
	return []byte{byte(raw >> 8), byte(raw)}, nil
}

func encodeFloat16(v float64) (uint16, bool) {
	x := v * 100
	for e := range 16 {
		m := math.Round(x / float64(int(1)<<e))
		if m >= -2048 && m <= 2047 {
			mi := int(m)
			raw := uint16(e) << 11
			if mi < 0 {
				raw |= 0x8000 | uint16(mi+2048)&0x7ff
			} else {
				raw |= uint16(mi)
			}
			if raw == 0x7fff {
				return 0, false
			}
			return raw, true
		}
	}
	return 0, false
}

func decodeFloat16(raw uint16) float64 {
	e := int(raw >> 11 & 0xf)
	m := int(raw & 0x7ff)
	if raw&0x8000 != 0 {
		m -= 2048
	}
	return 0.01 * float64(m) * float64(int(1)<<e)
}

// Decode implements aimdb.Codec.
func (f Float16) Decode(b []byte) (float64, error) {
	if len(b) != 2 {
		return 0, fmt.Errorf("knx: %s: want 2 bytes, have %d", f.name(), len(b))
	}
	raw := uint16(b[0])<<8 | uint16(b[1])
	if raw == 0x7fff {
		return 0, fmt.Errorf("knx: %s: invalid data (0x7FFF)", f.name())
	}
	v := decodeFloat16(raw)
	if lo, hi := f.bounds(); v < lo || v > hi {
		return 0, fmt.Errorf("knx: %s: %v is outside %v to %v", f.name(), v, lo, hi)
	}
	return v, nil
}

// String is DPT 16.000: up to 14 ASCII characters in 14 octets, padded
// with NUL. Encode refuses longer or non-ASCII text and NUL; Decode
// refuses anything but 14 octets of ASCII with only NULs after the first.
type String struct{}

// Encode implements aimdb.Codec.
func (String) Encode(s string) ([]byte, error) {
	if len(s) > 14 {
		return nil, fmt.Errorf("knx: DPT 16.000: %d characters; at most 14", len(s))
	}
	b := make([]byte, 14)
	for i := 0; i < len(s); i++ {
		if s[i] == 0 || s[i] > 0x7f {
			return nil, errors.New("knx: DPT 16.000: text holds NUL or non-ASCII characters")
		}
		b[i] = s[i]
	}
	return b, nil
}

// Decode implements aimdb.Codec.
func (String) Decode(b []byte) (string, error) {
	if len(b) != 14 {
		return "", fmt.Errorf("knx: DPT 16.000: want 14 bytes, have %d", len(b))
	}
	s := string(b)
	text, pad, _ := strings.Cut(s, "\x00")
	if strings.Trim(pad, "\x00") != "" {
		return "", errors.New("knx: DPT 16.000: characters after NUL padding")
	}
	for i := 0; i < len(text); i++ {
		if text[i] > 0x7f {
			return "", errors.New("knx: DPT 16.000: non-ASCII character")
		}
	}
	return text, nil
}
