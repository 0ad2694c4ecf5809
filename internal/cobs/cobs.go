// Package cobs is Consistent Overhead Byte Stuffing, the framing of AimX
// on serial lines: each frame is encoded without 0x00 bytes and ends with
// one. It is shared by package aimx and by the small AimX server of
// microcontrollers (aimx/lite), and uses only bytes and strconv.
package cobs

import (
	"bytes"
	"strconv"
)

// Append appends the encoding of p to dst and returns the extended slice.
// The encoding holds no 0x00 byte and is at most len(p)/254+1 bytes
// longer than p; the 0x00 delimiter is not appended.
func Append(dst, p []byte) []byte {
	if need := len(p) + len(p)/254 + 1; cap(dst)-len(dst) < need {
		dst = append(dst[:len(dst):len(dst)], make([]byte, need)...)[:len(dst)]
	}
	code := len(dst) // index of the current block's code byte
	dst = append(dst, 1)
	for i, b := range p {
		if b == 0 {
			code = len(dst)
			dst = append(dst, 1)
			continue
		}
		dst = append(dst, b)
		dst[code]++
		if dst[code] == 0xFF && i+1 < len(p) {
			// A full block of 254 data bytes has no implied zero.
			code = len(dst)
			dst = append(dst, 1)
		}
	}
	return dst
}

// An Error describes an encoding Decode refused.
type Error struct {
	Reason string
}

func (e *Error) Error() string { return "COBS: " + e.Reason }

// Decode appends the decoding of enc, without its 0x00 delimiter, to dst
// and returns the extended slice. It fails with an *Error if enc holds a
// 0x00 byte or ends inside a block; dst then holds what was decoded
// before the error.
func Decode(dst, enc []byte) ([]byte, error) {
	for i := 0; i < len(enc); {
		code := int(enc[i])
		if code == 0 {
			return dst, &Error{"zero byte at offset " + strconv.Itoa(i)}
		}
		i++
		n := code - 1
		if n > len(enc)-i {
			return dst, &Error{"block at offset " + strconv.Itoa(i-1) + " needs " + strconv.Itoa(n) + " bytes, " + strconv.Itoa(len(enc)-i) + " left"}
		}
		block := enc[i : i+n]
		if j := bytes.IndexByte(block, 0); j >= 0 {
			return dst, &Error{"zero byte at offset " + strconv.Itoa(i+j)}
		}
		dst = append(dst, block...)
		i += n
		if code != 0xFF && i < len(enc) {
			dst = append(dst, 0)
		}
	}
	return dst, nil
}
