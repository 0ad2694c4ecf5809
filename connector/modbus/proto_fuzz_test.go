package modbus

import (
	"errors"
	"testing"

	"github.com/aimdb-go/aimdb/connector"
)

// FuzzResponse checks arbitrary response PDUs and frames against every
// kind of request: no panic; a response either checks or is an
// *ExceptionError or a protocol error.
func FuzzResponse(f *testing.F) {
	f.Add([]byte{3, 4, 0x41, 0xac, 0, 0})
	f.Add([]byte{0x83, 2})
	f.Add([]byte{1, 1, 1})
	f.Add(appendRTU(nil, 1, []byte{3, 2, 0, 7}))
	f.Add(appendTCP(nil, 1, 1, []byte{3, 2, 0, 7}))
	reqs := [][]byte{
		readPDU(fnReadCoils, 0, 1), readPDU(fnReadDiscrete, 5, 9), readPDU(fnReadHolding, 0, 2),
		readPDU(fnReadInput, 0, 4), writeCoilPDU(3, true), writeRegistersPDU(0, []uint16{1}),
		writeRegistersPDU(0, []uint16{1, 2}),
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, req := range reqs {
			data, err := checkResponse(req, b)
			var ex *ExceptionError
			if err != nil && !errors.As(err, &ex) && !errors.Is(err, ErrProtocol) {
				t.Fatalf("checkResponse: unexpected error kind %v", err)
			}
			if err == nil && len(data) > len(b) {
				t.Fatal("data beyond the response")
			}
		}
		if u, pdu, err := parseRTU(b); err == nil {
			if back := appendRTU(nil, u, pdu); string(back) != string(b) {
				t.Fatalf("RTU round trip % x → % x", b, back)
			}
		}
		_, _ = rtuResponseLen(b)
		_, _, _, _ = parseMBAP(b)
	})
}

// FuzzLink parses link URLs and encodes and decodes payloads with them:
// no panic, and a value that encodes decodes to the same text form.
func FuzzLink(f *testing.F) {
	f.Add("1/holding/40001?type=float32&order=CDAB", "21.5")
	f.Add("1/holding/40001?type=int16&scale=0.1&offset=-1", "20.5")
	f.Add("1/coil/00001", "true")
	f.Add("1/holding/@65535?type=uint16", "65535")
	f.Fuzz(func(t *testing.T, topic, payload string) {
		l, err := connector.ParseLink("modbus://" + topic)
		if err != nil {
			return
		}
		sp, err := parseSpec(l, "")
		if err != nil {
			return
		}
		regs, bit, err := sp.encode([]byte(payload))
		if err != nil {
			return
		}
		if sp.typ == "bool" {
			_ = bit
			return
		}
		if len(regs) != sp.words {
			t.Fatalf("%d registers for %s", len(regs), sp.typ)
		}
		var data []byte
		for _, r := range regs {
			data = append(data, byte(r>>8), byte(r))
		}
		p := sp.decode(data)
		regs2, _, err := sp.encode(p)
		if err != nil && string(p) != "null" {
			t.Fatalf("%s: %q → % x → %q, which does not encode: %v", topic, payload, data, p, err)
		}
		if err == nil && sp.scale == 1 && sp.offset == 0 && string(u16s(regs2)) != string(data) {
			t.Fatalf("%s: %q → % x → %q → % x", topic, payload, data, p, u16s(regs2))
		}
	})
}

func u16s(v []uint16) []byte {
	var b []byte
	for _, x := range v {
		b = append(b, byte(x>>8), byte(x))
	}
	return b
}

func TestFrameGap(t *testing.T) {
	for baud, want := range map[int]string{9600: "4.010416ms", 19200: "2.005208ms", 115200: "1.75ms"} {
		if got := frameGap(baud).String(); got != want {
			t.Errorf("frameGap(%d) = %s; want %s", baud, got, want)
		}
	}
}

func TestCRC(t *testing.T) {
	// Modbus over serial line v1.02, 6.2.2: the frame 01 03 00 00 00 0a
	// has the CRC c5 cd (low byte first).
	f := appendRTU(nil, 1, []byte{3, 0, 0, 0, 0x0a})
	if got := f[len(f)-2:]; got[0] != 0xc5 || got[1] != 0xcd {
		t.Errorf("CRC % x; want c5 cd", got)
	}
}
