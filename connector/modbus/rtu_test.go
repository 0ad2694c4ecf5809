//go:build linux

package modbus_test

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"sync/atomic"
	"testing"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/creack/pty"
	mb "github.com/simonvetter/modbus"
)

// rtuServer is a Modbus RTU device written here on the specification
// (Modbus over serial line v1.02), serving a bank as unit 1 on the
// master side of a pty pair; the connector opens the slave side as its
// serial line.
type rtuServer struct {
	bank    *bank
	master  *os.File
	slave   *os.File
	corrupt atomic.Int32 // answer this many requests with a bad CRC
	mute    atomic.Int32 // do not answer this many requests
	done    chan struct{}
}

func startRTU(t *testing.T) *rtuServer {
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	s := &rtuServer{bank: &bank{}, master: master, slave: slave, done: make(chan struct{})}
	go s.serve()
	t.Cleanup(func() {
		slave.Close()
		master.Close()
		<-s.done
	})
	return s
}

func (s *rtuServer) URL() string { return "rtu://" + s.slave.Name() + "?baud=115200&parity=none" }

func crc(b []byte) uint16 {
	c := uint16(0xffff)
	for _, x := range b {
		c ^= uint16(x)
		for range 8 {
			if c&1 == 1 {
				c = c>>1 ^ 0xa001
			} else {
				c >>= 1
			}
		}
	}
	return c
}

func (s *rtuServer) serve() {
	defer close(s.done)
	var buf []byte
	chunk := make([]byte, 256)
	for {
		n, err := s.master.Read(chunk)
		if err != nil {
			return
		}
		buf = append(buf, chunk[:n]...)
		for {
			l := requestLen(buf)
			if l == 0 || len(buf) < l {
				break
			}
			req := buf[:l]
			buf = buf[l:]
			if crc(req[:l-2]) != binary.LittleEndian.Uint16(req[l-2:]) {
				continue // a device ignores a frame with a bad CRC
			}
			res := s.handle(req[1 : l-2])
			if res == nil || req[0] != 1 {
				continue
			}
			if s.mute.Load() > 0 {
				s.mute.Add(-1)
				continue
			}
			f := append([]byte{1}, res...)
			f = binary.LittleEndian.AppendUint16(f, crc(f))
			if s.corrupt.Load() > 0 {
				s.corrupt.Add(-1)
				f[len(f)-1] ^= 0xff
			}
			if _, err := s.master.Write(f); err != nil {
				return
			}
		}
	}
}

// requestLen returns the length of the request frame buf starts with,
// or 0 if unknown yet.
func requestLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case 1, 2, 3, 4, 5, 6:
		return 8
	case 15, 16:
		if len(b) < 7 {
			return 0
		}
		return 9 + int(b[6])
	}
	return len(b) // unknown function: drop what we have
}

func (s *rtuServer) handle(pdu []byte) []byte {
	fn := pdu[0]
	addr := binary.BigEndian.Uint16(pdu[1:3])
	qty := binary.BigEndian.Uint16(pdu[3:5])
	exception := func(err error) []byte {
		code := byte(4)
		if errors.Is(err, mb.ErrIllegalDataAddress) {
			code = 2
		}
		return []byte{fn | 0x80, code}
	}
	bits := func(v []bool) []byte {
		out := make([]byte, (len(v)+7)/8)
		for i, b := range v {
			if b {
				out[i/8] |= 1 << (i % 8)
			}
		}
		return append([]byte{fn, byte(len(out))}, out...)
	}
	regs := func(v []uint16) []byte {
		out := []byte{fn, byte(2 * len(v))}
		for _, r := range v {
			out = binary.BigEndian.AppendUint16(out, r)
		}
		return out
	}
	switch fn {
	case 1:
		v, err := s.bank.HandleCoils(&mb.CoilsRequest{Addr: addr, Quantity: qty})
		if err != nil {
			return exception(err)
		}
		return bits(v)
	case 2:
		v, err := s.bank.HandleDiscreteInputs(&mb.DiscreteInputsRequest{Addr: addr, Quantity: qty})
		if err != nil {
			return exception(err)
		}
		return bits(v)
	case 3:
		v, err := s.bank.HandleHoldingRegisters(&mb.HoldingRegistersRequest{Addr: addr, Quantity: qty})
		if err != nil {
			return exception(err)
		}
		return regs(v)
	case 4:
		v, err := s.bank.HandleInputRegisters(&mb.InputRegistersRequest{Addr: addr, Quantity: qty})
		if err != nil {
			return exception(err)
		}
		return regs(v)
	case 5:
		if _, err := s.bank.HandleCoils(&mb.CoilsRequest{Addr: addr, Quantity: 1, IsWrite: true, Args: []bool{qty == 0xff00}}); err != nil {
			return exception(err)
		}
		return append([]byte(nil), pdu[:5]...)
	case 6:
		if _, err := s.bank.HandleHoldingRegisters(&mb.HoldingRegistersRequest{Addr: addr, Quantity: 1, IsWrite: true, Args: []uint16{qty}}); err != nil {
			return exception(err)
		}
		return append([]byte(nil), pdu[:5]...)
	case 16:
		args := make([]uint16, qty)
		for i := range args {
			args[i] = binary.BigEndian.Uint16(pdu[6+2*i:])
		}
		if _, err := s.bank.HandleHoldingRegisters(&mb.HoldingRegistersRequest{Addr: addr, Quantity: qty, IsWrite: true, Args: args}); err != nil {
			return exception(err)
		}
		return append([]byte(nil), pdu[:5]...)
	}
	return []byte{fn | 0x80, 1}
}

// TestRTU polls and writes over RTU across a pty pair, and survives a
// corrupted response and a request left unanswered: each ends the
// session (counted) and the DB reopens the line.
func TestRTU(t *testing.T) {
	s := startRTU(t)
	s.bank.setHolding(0, 0x41ac, 0x0000) // 21.5
	d := dialer(t, s.URL())
	db := newDB(d)
	in, _ := aimdb.Register(db, aimdb.NewKey[float64]("in"), aimdb.Ring(256))
	in.LinkFrom("modbus://1/holding/40001?type=float32&poll=10ms", codec.JSON[float64]{})
	out, _ := aimdb.Register(db, aimdb.NewKey[float64]("out"), aimdb.Ring(8))
	out.LinkTo("modbus://1/holding/40001?type=float32", codec.JSON[float64]{})
	coil, _ := aimdb.Register(db, aimdb.NewKey[bool]("coil"), aimdb.Ring(8))
	coil.LinkTo("modbus://1/coil/00003", codec.JSON[bool]{})
	bad, _ := aimdb.Register(db, aimdb.NewKey[float64]("bad"), aimdb.Ring(8))
	bad.LinkTo("modbus://1/holding/@60000", codec.JSON[float64]{})
	sub, _ := in.Subscribe()
	defer sub.Close()
	run(t, db)
	if v := first(t, sub); v != 21.5 {
		t.Fatalf("first reading %v; want 21.5", v)
	}
	_ = out.Produce(-3.25)
	_ = coil.Produce(true)
	_ = bad.Produce(1)
	waitFor(t, sub, -3.25)
	connectortest.WaitLink(t, db, "coil", 0, wait, "published", func(md aimdb.LinkMetadata) bool { return md.Published == 1 })
	connectortest.WaitLink(t, db, "bad", 0, wait, "exception", func(md aimdb.LinkMetadata) bool { return md.PublishErrs == 1 })
	s.bank.mu.Lock()
	c := s.bank.coils[2]
	s.bank.mu.Unlock()
	if !c {
		t.Error("coil 00003 not set over RTU")
	}

	s.corrupt.Store(1)
	connectortest.WaitLink(t, db, "in", 0, wait, "reopened after a bad CRC", func(md aimdb.LinkMetadata) bool { return md.Connected && md.Reconnects >= 1 })
	s.mute.Store(1)
	connectortest.WaitLink(t, db, "in", 0, wait, "reopened after a timeout", func(md aimdb.LinkMetadata) bool { return md.Connected && md.Reconnects >= 2 })
	_ = out.Produce(8)
	waitFor(t, sub, 8)
	if st := d.Stats(); st.ProtocolErrors != 1 || st.Timeouts != 1 || st.Exceptions != 1 {
		t.Errorf("stats %+v; want 1 protocol error, 1 timeout, 1 exception", st)
	}
}

func waitFor(t *testing.T, sub *aimdb.Subscription[float64], want float64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		v, err := sub.Recv(ctx)
		var lag *aimdb.LagError
		if errors.As(err, &lag) {
			continue
		}
		if err != nil {
			t.Fatalf("never read %v: %v", want, err)
		}
		if v == want {
			return
		}
	}
}
