package knx

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// KNXnet/IP service types.
const (
	svcConnReq      = 0x0205
	svcConnRes      = 0x0206
	svcConnStateReq = 0x0207
	svcConnStateRes = 0x0208
	svcDiscReq      = 0x0209
	svcDiscRes      = 0x020a
	svcTunnelReq    = 0x0420
	svcTunnelAck    = 0x0421
	svcRoutingInd   = 0x0530
)

// cEMI message codes.
const (
	codeLDataReq = 0x11
	codeLDataInd = 0x29
	codeLDataCon = 0x2e
)

// MaxData is the longest payload of one telegram (an extended frame's
// data octets after the APCI octet).
const MaxData = 254

// parseHeader checks a KNXnet/IP header and returns the service and the
// body, bounded by the header's total length.
func parseHeader(b []byte) (svc uint16, body []byte, err error) {
	if len(b) < 6 {
		return 0, nil, errors.New("knx: datagram shorter than the KNXnet/IP header")
	}
	if b[0] != 6 || b[1] != 0x10 {
		return 0, nil, fmt.Errorf("knx: not a KNXnet/IP 1.0 header (% x)", b[:2])
	}
	svc = uint16(b[2])<<8 | uint16(b[3])
	n := int(b[4])<<8 | int(b[5])
	if n < 6 || n > len(b) {
		return 0, nil, fmt.Errorf("knx: header length %d does not fit the %d-byte datagram", n, len(b))
	}
	return svc, b[6:n], nil
}

// appendHeader appends a KNXnet/IP header for a body of n bytes.
func appendHeader(b []byte, svc uint16, n int) []byte {
	n += 6
	return append(b, 6, 0x10, byte(svc>>8), byte(svc), byte(n>>8), byte(n))
}

// telegram is a group telegram taken from a cEMI L_Data frame.
type telegram struct {
	code  byte   // cEMI message code
	apci  uint16 // the 10-bit APCI
	dst   GroupAddress
	short bool   // a 6-bit value in the APCI octet
	six   byte   // that value
	data  []byte // the data octets of a long telegram
}

// payload returns the telegram's value as links see it: the 6-bit value
// as one byte, or the data octets; buf holds the byte of a short one.
func (t *telegram) payload(buf *[1]byte) []byte {
	if t.short {
		buf[0] = t.six
		return buf[:]
	}
	return t.data
}

// APCI values of group communication.
const (
	apciRead     = 0x000
	apciResponse = 0x040
	apciWrite    = 0x080
)

// parseLData parses a cEMI L_Data frame (.req, .ind or .con) to a group
// address. It refuses what is truncated, longer than it says, addressed
// to an individual address, or not a data PDU; t.data aliases b.
func parseLData(b []byte) (t telegram, err error) {
	if len(b) < 2 {
		return t, errors.New("knx: cEMI frame truncated")
	}
	t.code = b[0]
	switch t.code {
	case codeLDataReq, codeLDataInd, codeLDataCon:
	default:
		return t, fmt.Errorf("knx: cEMI message code %#02x is not L_Data", t.code)
	}
	i := 2 + int(b[1]) // skip additional info
	if len(b) < i+7 {
		return t, errors.New("knx: cEMI L_Data frame truncated")
	}
	ctrl2 := b[i+1]
	if ctrl2&0x80 == 0 {
		return t, errors.New("knx: telegram to an individual address")
	}
	t.dst = GroupAddress(uint16(b[i+4])<<8 | uint16(b[i+5]))
	n := int(b[i+6]) // NPDU length: octets after the TPCI
	rest := b[i+7:]
	if len(rest) != n+1 {
		return t, fmt.Errorf("knx: NPDU length %d does not match the %d octets that follow", n, len(rest)-1)
	}
	if rest[0]&0x80 != 0 {
		return t, errors.New("knx: control PDU, not data")
	}
	if n < 1 {
		return t, errors.New("knx: data PDU without an APCI")
	}
	t.apci = uint16(rest[0]&3)<<8 | uint16(rest[1]&0xc0)
	if n == 1 {
		t.short = true
		t.six = rest[1] & 0x3f
	} else {
		t.data = rest[2:]
	}
	return t, nil
}

// appendLData appends a cEMI L_Data frame from the individual address
// src (0.0.0 in a tunnel: the server fills in its own) to dst:
// standard frame up to 15 data octets, extended beyond; a short telegram
// carries data[0] (< 64) in the APCI octet.
func appendLData(b []byte, code byte, src uint16, dst GroupAddress, apci uint16, short bool, data []byte) []byte {
	ctrl1 := byte(0xbc) // standard frame, no repeat, broadcast, low priority
	if !short && len(data) > 15 {
		ctrl1 = 0x3c // extended frame
	}
	b = append(b, code, 0, ctrl1, 0xe0, byte(src>>8), byte(src), byte(dst>>8), byte(dst))
	if short {
		return append(b, 1, byte(apci>>8)&3, byte(apci)&0xc0|data[0]&0x3f)
	}
	b = append(b, byte(1+len(data)), byte(apci>>8)&3, byte(apci)&0xc0)
	return append(b, data...)
}

// A GroupAddress is a KNX group address, 5/3/8 bits main/middle/sub.
type GroupAddress uint16

// String formats a as main/middle/sub in decimal ("9/1/0"), the form
// inbound messages carry as their topic.
func (a GroupAddress) String() string {
	return strconv.Itoa(int(a>>11)) + "/" + strconv.Itoa(int(a>>8&7)) + "/" + strconv.Itoa(int(a&0xff))
}

// ParseGroupAddress parses a group address in three-level form
// main/middle/sub (0-31/0-7/0-255) or two-level form main/sub
// (0-31/0-2047).
func ParseGroupAddress(s string) (GroupAddress, error) {
	parts := strings.Split(s, "/")
	num := func(p string, max int) (int, bool) {
		if p == "" || len(p) > 4 {
			return 0, false
		}
		for _, c := range p {
			if c < '0' || c > '9' {
				return 0, false
			}
		}
		v, err := strconv.Atoi(p)
		return v, err == nil && v <= max
	}
	switch len(parts) {
	case 3:
		m, ok1 := num(parts[0], 31)
		mid, ok2 := num(parts[1], 7)
		sub, ok3 := num(parts[2], 255)
		if ok1 && ok2 && ok3 {
			return GroupAddress(m<<11 | mid<<8 | sub), nil
		}
	case 2:
		m, ok1 := num(parts[0], 31)
		sub, ok2 := num(parts[1], 2047)
		if ok1 && ok2 {
			return GroupAddress(m<<11 | sub), nil
		}
	}
	return 0, fmt.Errorf("knx: group address %q: want main/middle/sub (0-31/0-7/0-255) or main/sub (0-31/0-2047)", s)
}

// canonicalFilter returns the inbound filter of a link topic: a group
// address in three-level form, or a filter whose levels are numbers in
// range or the wildcards '+' and a final '#'.
func canonicalFilter(topic string) (string, error) {
	if !strings.ContainsAny(topic, "+#") {
		a, err := ParseGroupAddress(topic)
		if err != nil {
			return "", err
		}
		return a.String(), nil
	}
	parts := strings.Split(topic, "/")
	max := []int{31, 7, 255}
	if len(parts) > 3 {
		return "", fmt.Errorf("knx: group address filter %q has more than three levels", topic)
	}
	for i, p := range parts {
		switch {
		case p == "+":
		case p == "#" && i == len(parts)-1:
		default:
			v, err := strconv.Atoi(p)
			if err != nil || v < 0 || v > max[i] || strconv.Itoa(v) != p {
				return "", fmt.Errorf("knx: group address filter %q: level %q is not a number in 0-%d, '+' or a final '#'", topic, p, max[i])
			}
		}
	}
	if len(parts) < 3 && parts[len(parts)-1] != "#" {
		return "", fmt.Errorf("knx: group address filter %q: want three levels or a final '#'", topic)
	}
	return topic, nil
}
