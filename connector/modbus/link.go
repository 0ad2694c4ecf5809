package modbus

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aimdb-go/aimdb/connector"
)

// Tables of the Modbus data model.
const (
	Coils          = "coil"
	DiscreteInputs = "discrete"
	InputRegisters = "input"
	Holding        = "holding"
)

var tablePrefix = map[string]int{Coils: 0, DiscreteInputs: 1, InputRegisters: 3, Holding: 4}

// A spec is a parsed link: what to read or write, and how to convert it.
type spec struct {
	unit   byte
	table  string
	addr   uint16
	typ    string
	words  int // registers per value (0 for bits)
	order  string
	scale  float64
	offset float64
	poll   time.Duration
}

var typeWords = map[string]int{"bool": 0, "int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2, "float64": 4}

// parseSpec parses a link topic [host:port/]unit/table/address and its
// parameters. endpoint is the dialer's host:port (TCP) or "" (RTU).
func parseSpec(l *connector.Link, endpoint string) (*spec, error) {
	parts := strings.Split(l.Topic, "/")
	if len(parts) == 4 {
		if endpoint == "" || parts[0] != endpoint {
			return nil, fmt.Errorf("modbus: link names %q; this connector's device is %q", parts[0], endpoint)
		}
		parts = parts[1:]
	}
	if len(parts) != 3 {
		return nil, fmt.Errorf("modbus: link topic %q: want [host:port/]unit/table/address", l.Topic)
	}
	s := &spec{scale: 1, order: "ABCD", poll: time.Second}
	u, err := strconv.Atoi(parts[0])
	if err != nil || u < 0 || u > 247 || strconv.Itoa(u) != parts[0] {
		return nil, fmt.Errorf("modbus: unit %q: want 0 to 247", parts[0])
	}
	s.unit = byte(u)
	s.table = parts[1]
	prefix, ok := tablePrefix[s.table]
	if !ok {
		return nil, fmt.Errorf("modbus: table %q: want coil, discrete, input or holding", s.table)
	}
	if s.addr, err = parseAddress(parts[2], prefix); err != nil {
		return nil, err
	}
	if !l.Inbound && (s.table == DiscreteInputs || s.table == InputRegisters) {
		return nil, fmt.Errorf("modbus: %s is read-only: an outbound link writes coil or holding", s.table)
	}
	for k := range l.Params {
		switch k {
		case "type", "order", "scale", "offset", "poll":
		default:
			return nil, fmt.Errorf("modbus: unknown link parameter %q (want type, order, scale, offset, poll)", k)
		}
	}
	bits := s.table == Coils || s.table == DiscreteInputs
	s.typ = l.Params.Get("type")
	switch {
	case s.typ == "" && bits:
		s.typ = "bool"
	case s.typ == "":
		s.typ = "uint16"
	}
	words, ok := typeWords[s.typ]
	if !ok {
		return nil, fmt.Errorf("modbus: type %q: want bool, int16, uint16, int32, uint32, float32 or float64", s.typ)
	}
	if bits != (s.typ == "bool") {
		return nil, fmt.Errorf("modbus: type %s does not fit the %s table", s.typ, s.table)
	}
	s.words = words
	if int(s.addr)+max(words, 1) > 65536 {
		return nil, fmt.Errorf("modbus: %s at address %d runs past the table's end", s.typ, s.addr)
	}
	if o := l.Params.Get("order"); o != "" {
		switch o {
		case "ABCD", "CDAB", "BADC", "DCBA":
			s.order = o
		default:
			return nil, fmt.Errorf("modbus: order %q: want ABCD, CDAB, BADC or DCBA", o)
		}
	}
	for _, p := range []struct {
		name string
		dst  *float64
	}{{"scale", &s.scale}, {"offset", &s.offset}} {
		if v := l.Params.Get(p.name); v != "" {
			if bits {
				return nil, fmt.Errorf("modbus: %s does not apply to bits", p.name)
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || p.name == "scale" && f == 0 {
				return nil, fmt.Errorf("modbus: %s %q: want a finite number (scale not 0)", p.name, v)
			}
			*p.dst = f
		}
	}
	if v := l.Params.Get("poll"); v != "" {
		if !l.Inbound {
			return nil, fmt.Errorf("modbus: poll applies to inbound links only")
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Millisecond {
			return nil, fmt.Errorf("modbus: poll %q: want a duration of at least 1ms", v)
		}
		s.poll = d
	}
	return s, nil
}

// parseAddress parses a Modicon reference with the table's prefix digit
// (40001 or 400001 is the first holding register) or a 0-based PDU
// address written @N.
func parseAddress(a string, prefix int) (uint16, error) {
	if n, ok := strings.CutPrefix(a, "@"); ok {
		v, err := strconv.Atoi(n)
		if err != nil || v < 0 || v > 65535 || strconv.Itoa(v) != n {
			return 0, fmt.Errorf("modbus: address %q: want @0 to @65535", a)
		}
		return uint16(v), nil
	}
	if (len(a) == 5 || len(a) == 6) && int(a[0]-'0') == prefix {
		n, err := strconv.Atoi(a[1:])
		limit := 9999
		if len(a) == 6 {
			limit = 65536
		}
		if err == nil && a[1] != '+' && a[1] != '-' && n >= 1 && n <= limit {
			return uint16(n - 1), nil
		}
	}
	return 0, fmt.Errorf("modbus: address %q: want a reference %d0001-%d9999 or %d00001-%d65536, or @0-@65535", a, prefix, prefix, prefix, prefix)
}

// byteSwap reports whether each register holds its bytes low first;
// lowFirst whether a multi-register value starts with its low word.
func (s *spec) byteSwap() bool { return s.order == "BADC" || s.order == "DCBA" }
func (s *spec) lowFirst() bool { return s.order == "CDAB" || s.order == "DCBA" }

// bytesOf returns the value's big-endian bytes from registers as read.
func (s *spec) bytesOf(data []byte) []byte {
	b := make([]byte, 0, 8)
	n := s.words
	for i := range n {
		w := i
		if s.lowFirst() {
			w = n - 1 - i
		}
		hi, lo := data[2*w], data[2*w+1]
		if s.byteSwap() {
			hi, lo = lo, hi
		}
		b = append(b, hi, lo)
	}
	return b
}

// registersOf returns the registers of a value's big-endian bytes.
func (s *spec) registersOf(b []byte) []uint16 {
	n := s.words
	regs := make([]uint16, n)
	for i := range n {
		hi, lo := b[2*i], b[2*i+1]
		if s.byteSwap() {
			hi, lo = lo, hi
		}
		w := i
		if s.lowFirst() {
			w = n - 1 - i
		}
		regs[w] = uint16(hi)<<8 | uint16(lo)
	}
	return regs
}

// decode turns the registers read (big-endian bytes as on the wire) into
// the payload: the value, scaled, as JSON text.
func (s *spec) decode(data []byte) []byte {
	b := s.bytesOf(data)
	var v float64
	var iv int64
	integer := true
	switch s.typ {
	case "int16":
		iv = int64(int16(binary.BigEndian.Uint16(b)))
	case "uint16":
		iv = int64(binary.BigEndian.Uint16(b))
	case "int32":
		iv = int64(int32(binary.BigEndian.Uint32(b)))
	case "uint32":
		iv = int64(binary.BigEndian.Uint32(b))
	case "float32":
		v, integer = float64(math.Float32frombits(binary.BigEndian.Uint32(b))), false
	case "float64":
		v, integer = math.Float64frombits(binary.BigEndian.Uint64(b)), false
	}
	if integer && s.scale == 1 && s.offset == 0 {
		return strconv.AppendInt(nil, iv, 10)
	}
	if integer {
		v = float64(iv)
	}
	v = v*s.scale + s.offset
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null") // not JSON-representable: a codec refuses it
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64)
}

// encode turns an outbound payload (a JSON number, or true/false for
// bits) into registers, undoing scale and offset; integers are rounded
// to the nearest and must fit the type.
func (s *spec) encode(p []byte) (regs []uint16, bit bool, err error) {
	text := strings.TrimSpace(string(p))
	if s.typ == "bool" {
		switch text {
		case "true", "1":
			return nil, true, nil
		case "false", "0":
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("modbus: payload %.20q is not true, false, 1 or 0", text)
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return nil, false, fmt.Errorf("modbus: payload %.20q is not a finite number", text)
	}
	v = (v - s.offset) / s.scale
	b := make([]byte, 0, 8)
	rangeErr := func(lo, hi float64) error {
		return fmt.Errorf("modbus: %v is outside %s (%v to %v) after scale and offset", v, s.typ, lo, hi)
	}
	r := math.Round(v)
	switch s.typ {
	case "int16":
		if r < math.MinInt16 || r > math.MaxInt16 {
			return nil, false, rangeErr(math.MinInt16, math.MaxInt16)
		}
		b = binary.BigEndian.AppendUint16(b, uint16(int16(r)))
	case "uint16":
		if r < 0 || r > math.MaxUint16 {
			return nil, false, rangeErr(0, math.MaxUint16)
		}
		b = binary.BigEndian.AppendUint16(b, uint16(r))
	case "int32":
		if r < math.MinInt32 || r > math.MaxInt32 {
			return nil, false, rangeErr(math.MinInt32, math.MaxInt32)
		}
		b = binary.BigEndian.AppendUint32(b, uint32(int32(r)))
	case "uint32":
		if r < 0 || r > math.MaxUint32 {
			return nil, false, rangeErr(0, math.MaxUint32)
		}
		b = binary.BigEndian.AppendUint32(b, uint32(r))
	case "float32":
		if math.Abs(v) > math.MaxFloat32 {
			return nil, false, rangeErr(-math.MaxFloat32, math.MaxFloat32)
		}
		b = binary.BigEndian.AppendUint32(b, math.Float32bits(float32(v)))
	case "float64":
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(v))
	}
	return s.registersOf(b), false, nil
}
