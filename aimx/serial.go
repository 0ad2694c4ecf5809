package aimx

import (
	"fmt"
	"io"

	"go.bug.st/serial"
)

// serialDefaultBaud is the baud rate OpenSerial uses when given none.
const serialDefaultBaud = 115200

// OpenSerial opens the serial port at path, for example "/dev/ttyUSB0",
// for AimX over a serial line: baud bits per second (baud <= 0 means
// 115200), 8 data bits, no parity, one stop bit, no flow control,
// raw mode. It discards whatever input the port had buffered before it
// was opened, so the first frame read is one the peer sent afterwards.
// Frames travel with the [COBS] framing. The caller closes the port;
// Close unblocks a Read in progress. Errors name the path.
func OpenSerial(path string, baud int) (io.ReadWriteCloser, error) {
	if baud <= 0 {
		baud = serialDefaultBaud
	}
	mode := &serial.Mode{
		BaudRate: baud,
		DataBits: 8,
		Parity:   serial.NoParity,
		StopBits: serial.OneStopBit,
	}
	port, err := serial.Open(path, mode)
	if err != nil {
		return nil, fmt.Errorf("aimx: open serial port %s: %w", path, err)
	}
	if err := port.ResetInputBuffer(); err != nil {
		port.Close()
		return nil, fmt.Errorf("aimx: reset input of serial port %s: %w", path, err)
	}
	return port, nil
}
