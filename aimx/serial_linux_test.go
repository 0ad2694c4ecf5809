//go:build linux

package aimx_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/creack/pty"

	"github.com/aimdb-go/aimdb/aimx"
)

// TestSerialPTY runs COBS frames both ways through a pseudo-terminal:
// the port opened with OpenSerial on the terminal side, the test on the
// master side standing in for the device.
func TestSerialPTY(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("pty.Open: %v (the serial test needs /dev/ptmx)", err)
	}
	defer ptmx.Close()
	defer tty.Close()

	port, err := aimx.OpenSerial(tty.Name(), 115200)
	if err != nil {
		t.Fatalf("OpenSerial: %v", err)
	}
	portClosed := false
	closePort := func() {
		if !portClosed {
			portClosed = true
			if err := port.Close(); err != nil {
				t.Errorf("port.Close: %v", err)
			}
		}
	}
	defer closePort()

	frames := []string{`{"t":"hello","version":"3.0"}`, "with\x00zero", strings.Repeat("x", 600)}
	// An undecodable chunk: a 0xFF block cut short.
	garbage := "\xFFnot cobs\x00"

	// Device → port.
	var stream []byte
	for i, p := range frames {
		stream = aimx.AppendFrame(stream, aimx.COBS, []byte(p))
		if i == 0 {
			stream = append(stream, garbage...)
		}
	}
	if _, err := ptmx.Write(stream); err != nil {
		t.Fatalf("write to the pty master: %v", err)
	}
	fr := aimx.NewFrameReader(port, aimx.COBS, 0)
	for _, want := range frames {
		got, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("ReadFrame from the port: %v", err)
		}
		if string(got) != want {
			t.Errorf("port read %.40q, want %.40q", got, want)
		}
	}

	// Port → device.
	stream = stream[:0]
	for i, p := range frames {
		if i == 1 {
			stream = append(stream, garbage...)
		}
		stream = aimx.AppendFrame(stream, aimx.COBS, []byte(p))
	}
	if _, err := port.Write(stream); err != nil {
		t.Fatalf("write to the port: %v", err)
	}
	mr := aimx.NewFrameReader(ptmx, aimx.COBS, 0)
	for _, want := range frames {
		got, err := mr.ReadFrame()
		if err != nil {
			t.Fatalf("ReadFrame from the pty master: %v", err)
		}
		if string(got) != want {
			t.Errorf("master read %.40q, want %.40q", got, want)
		}
	}

	// Close unblocks a pending read.
	done := make(chan error, 1)
	go func() {
		_, err := fr.ReadFrame()
		done <- err
	}()
	closePort()
	if err := <-done; err == nil {
		t.Errorf("ReadFrame after Close returned no error")
	}
}

func TestOpenSerialMissing(t *testing.T) {
	path := t.TempDir() + "/no-such-tty"
	_, err := aimx.OpenSerial(path, 0)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("OpenSerial(%q) error = %v, want one naming the path", path, err)
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenSerial(%q) error = %v, want one wrapping os.ErrNotExist", path, err)
	}
}
