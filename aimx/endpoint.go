package aimx

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// An Endpoint says where an AimX peer listens:
//
//	unix:///run/aimdb.sock   a Unix socket (lines)
//	/run/aimdb.sock          the same, as a bare path
//	tcp://127.0.0.1:7433     TCP (length-prefixed frames)
//	serial:///dev/ttyUSB0?baud=115200  a serial line (COBS)
type Endpoint struct {
	Scheme string // "unix", "tcp" or "serial"
	Addr   string // the socket or device path, or host:port
	Baud   int    // serial only; 115200 by default
}

// Framing returns the framing of the endpoint's transport.
func (e Endpoint) Framing() Framing {
	switch e.Scheme {
	case "tcp":
		return LengthPrefixed
	case "serial":
		return COBS
	}
	return Lines
}

// String returns the endpoint in URL form.
func (e Endpoint) String() string {
	switch e.Scheme {
	case "tcp":
		return "tcp://" + e.Addr
	case "serial":
		return "serial://" + e.Addr + "?baud=" + strconv.Itoa(e.Baud)
	}
	return "unix://" + e.Addr
}

// ParseEndpoint parses an endpoint. Errors name the input and say what
// is wrong with it.
func ParseEndpoint(s string) (Endpoint, error) {
	bad := func(format string, args ...any) (Endpoint, error) {
		return Endpoint{}, fmt.Errorf("aimx: endpoint %q: %s", s, fmt.Sprintf(format, args...))
	}
	if s == "" {
		return bad("empty")
	}
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || !strings.Contains(s, "://") {
		if !strings.HasPrefix(s, "/") && !strings.HasPrefix(s, ".") {
			return bad("want unix:///path, a path, tcp://host:port or serial:///dev/tty…")
		}
		return Endpoint{Scheme: "unix", Addr: s}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad("%v", err)
	}
	switch u.Scheme {
	case "unix", "uds":
		p := u.Path
		if u.Host != "" { // unix://relative/path
			p = u.Host + u.Path
		}
		if p == "" {
			return bad("no socket path")
		}
		return Endpoint{Scheme: "unix", Addr: p}, nil
	case "tcp":
		if u.Host == "" || u.Port() == "" {
			return bad("want tcp://host:port")
		}
		if _, err := strconv.ParseUint(u.Port(), 10, 16); err != nil {
			return bad("port %q is not a number from 0 to 65535", u.Port())
		}
		if u.Path != "" && u.Path != "/" {
			return bad("unexpected path %q", u.Path)
		}
		return Endpoint{Scheme: "tcp", Addr: u.Host}, nil
	case "serial":
		if u.Path == "" {
			return bad("no device path")
		}
		e := Endpoint{Scheme: "serial", Addr: u.Path, Baud: 115200}
		if b := u.Query().Get("baud"); b != "" {
			n, err := strconv.Atoi(b)
			if err != nil || n <= 0 {
				return bad("baud %q is not a positive number", b)
			}
			e.Baud = n
		}
		return e, nil
	default:
		return bad("unknown scheme %q (want unix, tcp or serial)", u.Scheme)
	}
}

// Listen opens a listener for a Unix socket or TCP endpoint and returns
// it with the endpoint's framing. A Unix socket is created with mode
// 0600, and never has a wider mode, whatever the umask. A stale socket left at the path by a process that died is
// replaced; a live socket, or any other kind of file, is an error.
func Listen(endpoint string) (net.Listener, Framing, error) {
	e, err := ParseEndpoint(endpoint)
	if err != nil {
		return nil, 0, err
	}
	switch e.Scheme {
	case "tcp":
		ln, err := net.Listen("tcp", e.Addr)
		if err != nil {
			return nil, 0, fmt.Errorf("aimx: listen on %s: %w", e, err)
		}
		return ln, LengthPrefixed, nil
	case "unix":
		ln, err := listenUnix(e.Addr)
		if err != nil {
			return nil, 0, err
		}
		return ln, Lines, nil
	default:
		return nil, 0, fmt.Errorf("aimx: listen on %s: a serial line is not a listener; open it and use ServeStream", e)
	}
}

// ListenAndServe listens on endpoint (see Listen) and serves it until ctx
// ends. A serial endpoint is opened and served as one stream, reopened
// when the line fails.
func (s *Server) ListenAndServe(ctx context.Context, endpoint string) error {
	e, err := ParseEndpoint(endpoint)
	if err != nil {
		return err
	}
	if e.Scheme == "serial" {
		for ctx.Err() == nil {
			port, err := OpenSerial(e.Addr, e.Baud)
			if err != nil {
				return err
			}
			if err := s.ServeStream(ctx, port, COBS); err != nil {
				s.log.Warn("serial line failed; reopening", "endpoint", e, "err", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
		return nil
	}
	ln, f, err := Listen(endpoint)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln, f)
}

func listenUnix(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("aimx: listen on unix://%s: the path exists and is not a socket (%s); remove it or choose another path", path, fi.Mode().Type())
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("aimx: listen on unix://%s: another server is listening there", path)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("aimx: listen on unix://%s: removing the stale socket: %w", path, err)
		}
	}
	ln, err := bindUnix(path)
	if err != nil {
		return nil, fmt.Errorf("aimx: listen on unix://%s: %w", path, err)
	}
	return ln, nil
}
