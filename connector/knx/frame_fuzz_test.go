package knx

import (
	"bytes"
	"testing"
)

// FuzzParseFrame feeds arbitrary datagrams through the header and cEMI
// parsers: no panic, nothing read beyond the frame, and a telegram that
// parses re-encodes to the same group address and value.
func FuzzParseFrame(f *testing.F) {
	good := appendHeader(nil, svcTunnelReq, 4+13)
	good = append(good, 4, 1, 0, 0)
	good = appendLData(good, codeLDataInd, 0, 0x4900, apciWrite, false, []byte{0x0c, 0x33})
	f.Add(good)
	f.Add(good[:len(good)-1])
	short := appendHeader(nil, svcTunnelReq, 4+11)
	short = append(short, 4, 1, 0, 0)
	short = appendLData(short, codeLDataInd, 0, 0x0a04, apciWrite, true, []byte{1})
	f.Add(short)
	f.Add([]byte{6, 0x10, 4, 0x20, 0, 6})
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		svc, body, err := parseHeader(b)
		if err != nil || svc != svcTunnelReq || len(body) < 4 {
			return
		}
		tg, err := parseLData(body[4:])
		if !bytes.Equal(b, orig) {
			t.Fatal("the parser changed its input")
		}
		if err != nil {
			return
		}
		var one [1]byte
		p := tg.payload(&one)
		if tg.short && (len(p) != 1 || p[0] > 63) || !tg.short && len(p) > 255 {
			t.Fatalf("payload % x (short %v)", p, tg.short)
		}
		re := appendLData(nil, tg.code, 0, tg.dst, tg.apci, tg.short, p)
		back, err := parseLData(re)
		if err != nil {
			t.Fatalf("re-encoded telegram % x does not parse: %v", re, err)
		}
		if back.dst != tg.dst || back.apci != tg.apci || back.short != tg.short || !bytes.Equal(back.payload(&one), p) {
			t.Fatalf("round trip: %+v → % x → %+v", tg, re, back)
		}
	})
}

// FuzzParseGroupAddress: a group address that parses formats to a form
// that parses to the same address, and filters never panic.
func FuzzParseGroupAddress(f *testing.F) {
	for _, s := range []string{"1/2/3", "31/7/255", "1/2047", "9/1/+", "9/#", "01/2/3", "", "/", "1//2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = canonicalFilter(s)
		a, err := ParseGroupAddress(s)
		if err != nil {
			return
		}
		b, err := ParseGroupAddress(a.String())
		if err != nil || b != a {
			t.Fatalf("%q → %v → %v, %v", s, a, b, err)
		}
	})
}
