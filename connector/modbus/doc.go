// Package modbus is the Modbus connector: it links records to the coils,
// discrete inputs, input registers and holding registers of a Modbus TCP
// server or of devices on an RTU serial line. It speaks the protocol
// itself (Modbus Application Protocol v1.1b3, Modbus over serial line
// v1.02), with go.bug.st/serial for the serial port.
//
//	d, err := modbus.NewDialer("tcp://plc.local:502", nil)
//	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"modbus": d}})
//	temp.LinkFrom("modbus://1/input/30001?type=int16&scale=0.1&poll=1s", codec.JSON[float64]{})
//	setpoint.LinkTo("modbus://1/holding/40010?type=float32&order=CDAB", codec.JSON[float64]{})
//	pump.LinkTo("modbus://1/coil/00001", codec.JSON[bool]{})
//
// # Links
//
//	link    = "modbus://" [ host ":" port "/" ] unit "/" table "/" address [ "?" params ]
//	unit    = 0-247                      ; 0 is broadcast (writes only, on RTU)
//	table   = "coil" | "discrete" | "input" | "holding"
//	address = reference | "@" 0-65535    ; @N is the 0-based address on the wire
//	reference: the table's Modicon number, 1-based: coil 00001-09999 (or
//	000001-065536), discrete 10001-19999, input 30001-39999, holding
//	40001-49999 (or 400001-465536); 40001 is address 0.
//
// A host:port, if given, must be the dialer's (to talk to several
// devices, give the DB one dialer per device under its own scheme). The
// parameters:
//
//	type    bool (bits; the default for coil and discrete), int16, uint16 (the
//	        default for registers), int32, uint32, float32 (two registers),
//	        float64 (four)
//	order   ABCD (default: big-endian, high word first), CDAB (low word
//	        first), BADC (bytes swapped in each register), DCBA (little-endian)
//	scale   value = raw·scale + offset (registers only; default 1 and 0);
//	offset  outbound values are converted back and rounded to the type
//	poll    inbound: the polling interval (default 1s, at least 1ms)
//
// Inbound links poll (Read Coils, Read Discrete Inputs, Read Holding
// Registers, Read Input Registers) every interval, starting at once, and
// deliver every reading as a JSON scalar: true or false for bits, a
// number for registers (an integer when unscaled), so codec.JSON[T] of a
// numeric or bool T decodes it. Outbound links write coils (Write Single
// Coil) and holding registers (Write Single Register for one, Write
// Multiple Registers for more); the payload must be a JSON number (or
// true, false, 1, 0 for coils) that fits the type after scale and
// offset, else the publish is refused and counted in publish_errors.
//
// # Errors and reconnects
//
// Requests run one at a time per dialer. An exception response is an
// *ExceptionError: for a write it is counted in the link's
// publish_errors, for a poll it is logged (rate-limited) and the poll
// tries again at the next interval; both count in Dialer.Stats. A request
// without a response within Options.Timeout, a broken connection and a
// malformed response (bad CRC, length, function or unit) end the
// session: the DB reconnects with backoff, resumes the polls and sends
// what was queued.
package modbus
