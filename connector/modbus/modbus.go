package modbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aimdb-go/aimdb/connector"
	"go.bug.st/serial"
)

// Options configure a Dialer. The zero value is ready to use.
type Options struct {
	// Timeout bounds each request, from sending it to the end of the
	// response. A request that times out ends the session: the DB
	// reconnects with backoff, subscribes again and resends what was
	// queued. If zero, it is 1s.
	Timeout time.Duration
	// ConnectTimeout bounds the TCP connect. If zero, it is 5s.
	ConnectTimeout time.Duration
	// Logger receives warnings about exception responses of polls (at
	// most one per 10s, with the count held back). If nil, nothing is
	// logged.
	Logger *slog.Logger
}

// Stats are a Dialer's counters, summed over its sessions.
type Stats struct {
	Requests       uint64 `json:"requests"`        // requests sent
	Polls          uint64 `json:"polls"`           // inbound readings delivered
	Exceptions     uint64 `json:"exceptions"`      // exception responses (reads and writes)
	Timeouts       uint64 `json:"timeouts"`        // requests without a response in time (each ended its session)
	ProtocolErrors uint64 `json:"protocol_errors"` // malformed responses: CRC, length, function, unit (each ended its session)
}

// A Dialer connects to one Modbus device or bus: a TCP server, or a
// serial line for RTU. It is safe for concurrent use.
type Dialer struct {
	endpoint string // host:port, or the serial device
	rtu      bool
	mode     serial.Mode
	opts     Options
	st       struct{ requests, polls, exceptions, timeouts, protocol atomic.Uint64 }
	warn     struct {
		last atomic.Int64
		held atomic.Uint64
	}
}

var (
	_ connector.Dialer        = (*Dialer)(nil)
	_ connector.LinkValidator = (*Dialer)(nil)
)

// NewDialer returns a Dialer for a Modbus TCP server,
// tcp://host[:port] (port 502), or an RTU serial line,
// rtu:///dev/ttyUSB0?baud=19200&parity=even&stop=1 (baud 19200, parity
// even, 8 data bits, stop bits 1 with parity and 2 without, as the
// Modbus serial line specification says). o may be nil.
func NewDialer(endpoint string, o *Options) (*Dialer, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("modbus: malformed endpoint URL %q", endpoint)
	}
	d := &Dialer{}
	if o != nil {
		d.opts = *o
	}
	if d.opts.Timeout <= 0 {
		d.opts.Timeout = time.Second
	}
	if d.opts.ConnectTimeout <= 0 {
		d.opts.ConnectTimeout = 5 * time.Second
	}
	if d.opts.Logger == nil {
		d.opts.Logger = slog.New(slog.DiscardHandler)
	}
	switch u.Scheme {
	case "tcp":
		if u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
			return nil, fmt.Errorf("modbus: endpoint %q: want tcp://host[:port]", endpoint)
		}
		port := u.Port()
		if port == "" {
			port = "502"
		} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return nil, fmt.Errorf("modbus: endpoint %q: bad port", endpoint)
		}
		d.endpoint = net.JoinHostPort(u.Hostname(), port)
	case "rtu":
		if u.Path == "" || u.Host != "" || u.User != nil || u.Fragment != "" {
			return nil, fmt.Errorf("modbus: endpoint %q: want rtu:///path/to/device[?baud=…]", endpoint)
		}
		d.rtu, d.endpoint = true, u.Path
		if d.mode, err = serialMode(u.Query()); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("modbus: endpoint scheme %q: want tcp or rtu", u.Scheme)
	}
	return d, nil
}

func serialMode(q url.Values) (serial.Mode, error) {
	m := serial.Mode{BaudRate: 19200, DataBits: 8, Parity: serial.EvenParity}
	for k := range q {
		switch k {
		case "baud", "parity", "stop", "data":
		default:
			return m, fmt.Errorf("modbus: unknown serial parameter %q (want baud, parity, stop, data)", k)
		}
	}
	if v := q.Get("baud"); v != "" {
		b, err := strconv.Atoi(v)
		if err != nil || b < 50 || b > 4000000 {
			return m, fmt.Errorf("modbus: baud %q", v)
		}
		m.BaudRate = b
	}
	switch q.Get("parity") {
	case "", "even", "E":
	case "none", "N":
		m.Parity = serial.NoParity
	case "odd", "O":
		m.Parity = serial.OddParity
	default:
		return m, fmt.Errorf("modbus: parity %q: want none, even or odd", q.Get("parity"))
	}
	m.StopBits = serial.OneStopBit
	if m.Parity == serial.NoParity {
		m.StopBits = serial.TwoStopBits
	}
	switch q.Get("stop") {
	case "":
	case "1":
		m.StopBits = serial.OneStopBit
	case "2":
		m.StopBits = serial.TwoStopBits
	default:
		return m, fmt.Errorf("modbus: stop %q: want 1 or 2", q.Get("stop"))
	}
	switch q.Get("data") {
	case "", "8":
	case "7":
		m.DataBits = 7
	default:
		return m, fmt.Errorf("modbus: data %q: want 7 or 8", q.Get("data"))
	}
	return m, nil
}

// String returns the endpoint's URL.
func (d *Dialer) String() string {
	if d.rtu {
		return "rtu://" + d.endpoint
	}
	return "tcp://" + d.endpoint
}

// Stats returns the dialer's counters.
func (d *Dialer) Stats() Stats {
	return Stats{
		Requests:       d.st.requests.Load(),
		Polls:          d.st.polls.Load(),
		Exceptions:     d.st.exceptions.Load(),
		Timeouts:       d.st.timeouts.Load(),
		ProtocolErrors: d.st.protocol.Load(),
	}
}

func (d *Dialer) tcpEndpoint() string {
	if d.rtu {
		return ""
	}
	return d.endpoint
}

// ValidateLink implements connector.LinkValidator (see the package
// documentation for the grammar).
func (d *Dialer) ValidateLink(l *connector.Link) error {
	_, err := parseSpec(l, d.tcpEndpoint())
	return err
}

// Dial implements connector.Dialer: it connects to the TCP server or
// opens the serial line.
func (d *Dialer) Dial(ctx context.Context) (connector.Session, error) {
	var tr transport
	if d.rtu {
		p, err := serial.Open(d.endpoint, &d.mode)
		if err != nil {
			return nil, fmt.Errorf("modbus: open %s: %w", d.endpoint, err)
		}
		_ = p.ResetInputBuffer()
		tr = &rtuTransport{p: p, gap: frameGap(d.mode.BaudRate)}
	} else {
		nd := net.Dialer{Timeout: d.opts.ConnectTimeout}
		c, err := nd.DialContext(ctx, "tcp", d.endpoint)
		if err != nil {
			return nil, fmt.Errorf("modbus: %w", err)
		}
		tr = &tcpTransport{c: c}
	}
	return &session{d: d, tr: tr, done: make(chan struct{})}, nil
}

// A transport carries one request and its response.
type transport interface {
	roundTrip(unit byte, pdu []byte, deadline time.Time) ([]byte, error)
	close() error
}

// errTimeout is returned by a transport whose response did not arrive.
var errTimeout = errors.New("modbus: request timed out")

type tcpTransport struct {
	c   net.Conn
	tid uint16
	buf []byte
}

func (t *tcpTransport) roundTrip(unit byte, pdu []byte, deadline time.Time) ([]byte, error) {
	t.tid++
	t.buf = appendTCP(t.buf[:0], t.tid, unit, pdu)
	_ = t.c.SetDeadline(deadline)
	if _, err := t.c.Write(t.buf); err != nil {
		return nil, netErr(err)
	}
	var h [tcpHeaderLen]byte
	if _, err := io.ReadFull(t.c, h[:]); err != nil {
		return nil, netErr(err)
	}
	tid, u, n, err := parseMBAP(h[:])
	if err != nil {
		return nil, err
	}
	res := make([]byte, n)
	if _, err := io.ReadFull(t.c, res); err != nil {
		return nil, netErr(err)
	}
	if tid != t.tid || u != unit {
		return nil, protoErr("response for transaction %d unit %d; want %d unit %d", tid, u, t.tid, unit)
	}
	return res, nil
}

func (t *tcpTransport) close() error { return t.c.Close() }

func netErr(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errTimeout
	}
	return err
}

type rtuTransport struct {
	p    serial.Port
	buf  []byte
	gap  time.Duration // the silent interval between frames: 3.5 characters
	last time.Time     // when the last frame ended
}

// frameGap returns 3.5 character times at baud (11 bits a character),
// and 1.75ms above 19200 baud, as the serial line specification says.
func frameGap(baud int) time.Duration {
	if baud > 19200 {
		return 1750 * time.Microsecond
	}
	return time.Duration(int64(38500) * int64(time.Millisecond) / int64(baud))
}

func (t *rtuTransport) roundTrip(unit byte, pdu []byte, deadline time.Time) ([]byte, error) {
	defer func() { t.last = time.Now() }()
	if wait := time.Until(t.last.Add(t.gap)); wait > 0 {
		time.Sleep(wait) // the line must be silent before a frame
	}
	t.buf = appendRTU(t.buf[:0], unit, pdu)
	if _, err := t.p.Write(t.buf); err != nil {
		return nil, err
	}
	if unit == rtuBroadcastUnitID {
		return pdu, nil // a broadcast is not answered; the request stands for its echo
	}
	f := make([]byte, 0, maxRTUFrame)
	want := 0
	var chunk [maxRTUFrame]byte
	for want == 0 || len(f) < want {
		left := time.Until(deadline)
		if left <= 0 {
			return nil, errTimeout
		}
		if err := t.p.SetReadTimeout(left); err != nil {
			return nil, err
		}
		n, err := t.p.Read(chunk[:maxRTUFrame-len(f)])
		if err != nil {
			return nil, err
		}
		f = append(f, chunk[:n]...)
		if want == 0 {
			if want, err = rtuResponseLen(f); err != nil {
				return nil, err
			}
		}
	}
	u, res, err := parseRTU(f[:want])
	if err != nil {
		return nil, err
	}
	if u != unit {
		return nil, protoErr("response from unit %d; want %d", u, unit)
	}
	return res, nil
}

func (t *rtuTransport) close() error { return t.p.Close() }

// A session is one connection (TCP) or one open serial line (RTU).
type session struct {
	d    *Dialer
	tr   transport
	mu   sync.Mutex // one request at a time
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup

	deliverMu sync.Mutex // deliveries one at a time, as the SPI requires
}

var _ connector.Session = (*session)(nil)

func (s *session) end() {
	s.once.Do(func() {
		close(s.done)
		_ = s.tr.close()
	})
}

func (s *session) Done() <-chan struct{} { return s.done }

func (s *session) Close() error {
	s.mu.Lock() // wait for a request in flight
	s.end()
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// do sends one request and returns the data of its response. An
// exception is returned as *ExceptionError; a timeout, a transport error
// or a malformed response ends the session (ErrNotConnected).
func (s *session) do(ctx context.Context, unit byte, pdu []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		return nil, connector.ErrNotConnected
	default:
	}
	deadline := time.Now().Add(s.d.opts.Timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	s.d.st.requests.Add(1)
	res, err := s.tr.roundTrip(unit, pdu, deadline)
	if err == nil {
		var data []byte
		if data, err = checkResponse(pdu, res); err == nil {
			return data, nil
		}
		var ex *ExceptionError
		if errors.As(err, &ex) {
			s.d.st.exceptions.Add(1)
			return nil, err
		}
	}
	switch {
	case errors.Is(err, errTimeout):
		s.d.st.timeouts.Add(1)
	case errors.Is(err, ErrProtocol):
		s.d.st.protocol.Add(1)
	}
	s.end()
	return nil, fmt.Errorf("%w: %w", connector.ErrNotConnected, err)
}

// Subscribe implements connector.Session: it polls the link's registers
// or bits every poll interval, starting at once, and delivers each
// reading.
func (s *session) Subscribe(ctx context.Context, l *connector.Link, deliver func(*connector.Message)) error {
	sp, err := parseSpec(l, s.d.tcpEndpoint())
	if err != nil {
		return err
	}
	select {
	case <-s.done:
		return connector.ErrNotConnected
	default:
	}
	s.wg.Go(func() { s.poll(l, sp, deliver) })
	return nil
}

func (s *session) poll(l *connector.Link, sp *spec, deliver func(*connector.Message)) {
	fn, n := byte(fnReadHolding), uint16(sp.words)
	switch sp.table {
	case Coils:
		fn, n = fnReadCoils, 1
	case DiscreteInputs:
		fn, n = fnReadDiscrete, 1
	case InputRegisters:
		fn = fnReadInput
	}
	req := readPDU(fn, sp.addr, n)
	tick := time.NewTicker(sp.poll)
	defer tick.Stop()
	for {
		data, err := s.do(context.Background(), sp.unit, req)
		var ex *ExceptionError
		switch {
		case errors.As(err, &ex):
			s.warnf(l, err)
		case err != nil:
			return
		default:
			var p []byte
			if sp.typ == "bool" {
				p = []byte("false")
				if data[0]&1 != 0 {
					p = []byte("true")
				}
			} else {
				p = sp.decode(data)
			}
			s.d.st.polls.Add(1)
			s.deliverMu.Lock()
			deliver(&connector.Message{Topic: l.Topic, Payload: p})
			s.deliverMu.Unlock()
		}
		select {
		case <-s.done:
			return
		case <-tick.C:
		}
	}
}

func (s *session) warnf(l *connector.Link, err error) {
	now := time.Now().UnixNano()
	last := s.d.warn.last.Load()
	if now-last < int64(10*time.Second) || !s.d.warn.last.CompareAndSwap(last, now) {
		s.d.warn.held.Add(1)
		return
	}
	s.d.opts.Logger.Warn("modbus: poll refused by the device", "link", l.URL, "err", err, "suppressed", s.d.warn.held.Swap(0))
}

// Publish implements connector.Session: it writes the value to the
// link's holding registers (Write Single Register for one, Write
// Multiple Registers for more) or coil (Write Single Coil), and returns
// once the device confirmed it. An exception response is returned as
// *ExceptionError and counted in the link's publish_errors.
func (s *session) Publish(ctx context.Context, m *connector.Message) error {
	if m.Link == nil {
		return errors.New("modbus: publish without a link")
	}
	sp, err := parseSpec(m.Link, s.d.tcpEndpoint())
	if err != nil {
		return err
	}
	regs, bit, err := sp.encode(m.Payload)
	if err != nil {
		return err
	}
	var req []byte
	if sp.table == Coils {
		req = writeCoilPDU(sp.addr, bit)
	} else {
		req = writeRegistersPDU(sp.addr, regs)
	}
	_, err = s.do(ctx, sp.unit, req)
	return err
}
