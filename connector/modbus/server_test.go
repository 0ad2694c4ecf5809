package modbus_test

import (
	"io"
	"log"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	mb "github.com/simonvetter/modbus"
)

// bank is the data of a test device: every table, 65536 entries. An
// address from 60000 up answers "illegal data address".
type bank struct {
	mu       sync.Mutex
	coils    [65536]bool
	discrete [65536]bool
	holding  [65536]uint16
	input    [65536]uint16
	writes   int
}

const badAddr = 60000

func (b *bank) bad(addr, n uint16) bool { return int(addr)+int(n) > badAddr }

func (b *bank) HandleCoils(r *mb.CoilsRequest) ([]bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bad(r.Addr, r.Quantity) {
		return nil, mb.ErrIllegalDataAddress
	}
	if r.IsWrite {
		copy(b.coils[r.Addr:], r.Args)
		b.writes++
		return nil, nil
	}
	return append([]bool(nil), b.coils[r.Addr:int(r.Addr)+int(r.Quantity)]...), nil
}

func (b *bank) HandleDiscreteInputs(r *mb.DiscreteInputsRequest) ([]bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bad(r.Addr, r.Quantity) {
		return nil, mb.ErrIllegalDataAddress
	}
	return append([]bool(nil), b.discrete[r.Addr:int(r.Addr)+int(r.Quantity)]...), nil
}

func (b *bank) HandleHoldingRegisters(r *mb.HoldingRegistersRequest) ([]uint16, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bad(r.Addr, r.Quantity) {
		return nil, mb.ErrIllegalDataAddress
	}
	if r.IsWrite {
		copy(b.holding[r.Addr:], r.Args)
		b.writes++
		return nil, nil
	}
	return append([]uint16(nil), b.holding[r.Addr:int(r.Addr)+int(r.Quantity)]...), nil
}

func (b *bank) HandleInputRegisters(r *mb.InputRegistersRequest) ([]uint16, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bad(r.Addr, r.Quantity) {
		return nil, mb.ErrIllegalDataAddress
	}
	return append([]uint16(nil), b.input[r.Addr:int(r.Addr)+int(r.Quantity)]...), nil
}

func (b *bank) setHolding(addr uint16, regs ...uint16) {
	b.mu.Lock()
	copy(b.holding[addr:], regs)
	b.mu.Unlock()
}

func (b *bank) getHolding(addr uint16, n int) []uint16 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]uint16(nil), b.holding[addr:int(addr)+n]...)
}

// tcpServer is simonvetter/modbus's TCP server on a free loopback port,
// serving a bank. Stop and Start restart it on the same port.
type tcpServer struct {
	bank *bank
	addr string
	srv  *mb.ModbusServer
}

func startTCP(t testing.TB) *tcpServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &tcpServer{bank: &bank{}, addr: "127.0.0.1:" + strconv.Itoa(port)}
	var srvErr error
	s.srv, srvErr = mb.NewServer(&mb.ServerConfiguration{
		URL:        "tcp://" + s.addr,
		Timeout:    30 * time.Second,
		MaxClients: 16,
		Logger:     log.New(io.Discard, "", 0),
	}, s.bank)
	if srvErr != nil {
		t.Fatal(srvErr)
	}
	s.Start(t)
	t.Cleanup(func() { s.Stop(t) })
	return s
}

func (s *tcpServer) Start(t testing.TB) {
	var err error
	for range 50 {
		if err = s.srv.Start(); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal(err)
}

func (s *tcpServer) Stop(t testing.TB) { _ = s.srv.Stop() }
