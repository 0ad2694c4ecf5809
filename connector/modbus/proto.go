package modbus

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Function codes.
const (
	fnReadCoils          = 0x01
	fnReadDiscrete       = 0x02
	fnReadHolding        = 0x03
	fnReadInput          = 0x04
	fnWriteCoil          = 0x05
	fnWriteRegister      = 0x06
	fnWriteCoils         = 0x0f
	fnWriteRegisters     = 0x10
	maxReadBits          = 2000
	maxReadRegisters     = 125
	maxWriteRegisters    = 123
	maxPDU               = 253
	tcpHeaderLen         = 7
	maxRTUFrame          = 256
	rtuBroadcastUnitID   = 0
	exceptionFunctionBit = 0x80
)

// An ExceptionError is a Modbus exception response: the device refused
// a request. It is counted (Dialer.Stats, and publish_errors for writes)
// and does not end the session.
type ExceptionError struct {
	Function byte // the request's function code
	Code     byte // the exception code
}

var exceptionNames = map[byte]string{
	1: "illegal function", 2: "illegal data address", 3: "illegal data value",
	4: "server device failure", 5: "acknowledge", 6: "server device busy",
	8: "memory parity error", 0x0a: "gateway path unavailable",
	0x0b: "gateway target device failed to respond",
}

func (e *ExceptionError) Error() string {
	name := exceptionNames[e.Code]
	if name == "" {
		name = "unknown exception"
	}
	return fmt.Sprintf("modbus: exception %d (%s) to function %#02x", e.Code, name, e.Function)
}

// ErrProtocol is wrapped by errors about responses that break the
// protocol (a wrong length, function or unit); they end the session.
var ErrProtocol = errors.New("modbus: protocol error")

func protoErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}

// readPDU returns the request PDU reading n items from addr.
func readPDU(fn byte, addr, n uint16) []byte {
	return []byte{fn, byte(addr >> 8), byte(addr), byte(n >> 8), byte(n)}
}

// writeRegistersPDU returns a Write Single Register (one register) or
// Write Multiple Registers request.
func writeRegistersPDU(addr uint16, regs []uint16) []byte {
	if len(regs) == 1 {
		return []byte{fnWriteRegister, byte(addr >> 8), byte(addr), byte(regs[0] >> 8), byte(regs[0])}
	}
	b := []byte{fnWriteRegisters, byte(addr >> 8), byte(addr), 0, byte(len(regs)), byte(2 * len(regs))}
	for _, r := range regs {
		b = binary.BigEndian.AppendUint16(b, r)
	}
	return b
}

// writeCoilPDU returns a Write Single Coil request.
func writeCoilPDU(addr uint16, on bool) []byte {
	v := byte(0)
	if on {
		v = 0xff
	}
	return []byte{fnWriteCoil, byte(addr >> 8), byte(addr), v, 0}
}

// checkResponse checks a response PDU against its request: an exception
// becomes an *ExceptionError; a write must echo the request; a read must
// carry the byte count it asked for. It returns the data of a read.
func checkResponse(req, res []byte) ([]byte, error) {
	if len(res) == 0 {
		return nil, protoErr("empty response")
	}
	fn := req[0]
	if res[0] == fn|exceptionFunctionBit {
		if len(res) != 2 {
			return nil, protoErr("exception response of %d bytes", len(res))
		}
		return nil, &ExceptionError{Function: fn, Code: res[1]}
	}
	if res[0] != fn {
		return nil, protoErr("response function %#02x to request %#02x", res[0], fn)
	}
	switch fn {
	case fnReadCoils, fnReadDiscrete, fnReadHolding, fnReadInput:
		n := int(binary.BigEndian.Uint16(req[3:5]))
		want := 2 * n
		if fn == fnReadCoils || fn == fnReadDiscrete {
			want = (n + 7) / 8
		}
		if len(res) < 2 || int(res[1]) != want || len(res) != 2+want {
			return nil, protoErr("read response of %d bytes for %d items", len(res), n)
		}
		return res[2:], nil
	case fnWriteCoil, fnWriteRegister:
		if string(res) != string(req) {
			return nil, protoErr("write response does not echo the request")
		}
		return nil, nil
	case fnWriteRegisters, fnWriteCoils:
		if len(res) != 5 || string(res[1:5]) != string(req[1:5]) {
			return nil, protoErr("write response does not echo address and quantity")
		}
		return nil, nil
	}
	return nil, protoErr("function %#02x", fn)
}

// appendTCP appends a Modbus TCP ADU: the MBAP header and the PDU.
func appendTCP(b []byte, tid uint16, unit byte, pdu []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, tid)
	b = append(b, 0, 0) // protocol: Modbus
	b = binary.BigEndian.AppendUint16(b, uint16(len(pdu)+1))
	b = append(b, unit)
	return append(b, pdu...)
}

// parseMBAP checks a Modbus TCP header and returns the transaction id,
// the unit and the PDU length that follows.
func parseMBAP(h []byte) (tid uint16, unit byte, n int, err error) {
	if len(h) < tcpHeaderLen {
		return 0, 0, 0, protoErr("MBAP header truncated")
	}
	if h[2] != 0 || h[3] != 0 {
		return 0, 0, 0, protoErr("protocol id %d, not Modbus", binary.BigEndian.Uint16(h[2:4]))
	}
	l := int(binary.BigEndian.Uint16(h[4:6]))
	if l < 2 || l > maxPDU+1 {
		return 0, 0, 0, protoErr("MBAP length %d", l)
	}
	return binary.BigEndian.Uint16(h[0:2]), h[6], l - 1, nil
}

// crc16 is Modbus RTU's CRC (polynomial 0xA001, initial 0xFFFF).
func crc16(b []byte) uint16 {
	crc := uint16(0xffff)
	for _, c := range b {
		crc ^= uint16(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xa001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

// appendRTU appends an RTU frame: unit, PDU, CRC (low byte first).
func appendRTU(b []byte, unit byte, pdu []byte) []byte {
	start := len(b)
	b = append(b, unit)
	b = append(b, pdu...)
	crc := crc16(b[start:])
	return append(b, byte(crc), byte(crc>>8))
}

// parseRTU checks an RTU frame's CRC and returns its unit and PDU.
func parseRTU(f []byte) (unit byte, pdu []byte, err error) {
	if len(f) < 4 {
		return 0, nil, protoErr("RTU frame of %d bytes", len(f))
	}
	n := len(f) - 2
	if crc16(f[:n]) != uint16(f[n])|uint16(f[n+1])<<8 {
		return 0, nil, protoErr("RTU frame CRC mismatch")
	}
	return f[0], f[1:n], nil
}

// rtuResponseLen returns the length of an RTU response frame given its
// first three bytes (unit, function, and the byte count of a read), or 0
// if more must be read to know.
func rtuResponseLen(head []byte) (int, error) {
	if len(head) < 2 {
		return 0, nil
	}
	fn := head[1]
	switch {
	case fn&exceptionFunctionBit != 0:
		return 5, nil
	case fn == fnReadCoils || fn == fnReadDiscrete || fn == fnReadHolding || fn == fnReadInput:
		if len(head) < 3 {
			return 0, nil
		}
		return 5 + int(head[2]), nil
	case fn == fnWriteCoil || fn == fnWriteRegister || fn == fnWriteCoils || fn == fnWriteRegisters:
		return 8, nil
	}
	return 0, protoErr("RTU response function %#02x", fn)
}
