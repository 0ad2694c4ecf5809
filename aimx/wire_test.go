package aimx_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/aimx"
)

// raw is a client that speaks frames as text, for wire-level tests.
type raw struct {
	t    *testing.T
	conn net.Conn
	r    *aimx.FrameReader
	f    aimx.Framing
}

func dialRaw(t *testing.T, endpoint string) *raw {
	t.Helper()
	e, err := aimx.ParseEndpoint(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	network := "unix"
	if e.Scheme == "tcp" {
		network = "tcp"
	}
	c, err := net.DialTimeout(network, e.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &raw{t: t, conn: c, r: aimx.NewFrameReader(c, e.Framing(), 1<<20), f: e.Framing()}
}

func (c *raw) send(frame string) {
	c.t.Helper()
	if _, err := c.conn.Write(aimx.AppendFrame(nil, c.f, []byte(frame))); err != nil {
		c.t.Fatal(err)
	}
}

func (c *raw) recv() string {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := c.r.ReadFrame()
	if err != nil {
		c.t.Fatalf("reading a frame: %v", err)
	}
	return string(b)
}

// sync sends a ping and returns the frames received before the pong.
func (c *raw) sync() []string {
	c.t.Helper()
	c.send(`{"t":"ping"}`)
	var got []string
	for {
		f := c.recv()
		if f == `{"t":"pong"}` {
			return got
		}
		got = append(got, f)
	}
}

// TestTranscript replays testdata/session.txt: lines starting "→ " are
// sent, lines starting "← " must be received byte for byte, in order.
// The frames follow the reference session of AimDB's AimX 3.0 (§2.9),
// with this DB's records.
func TestTranscript(t *testing.T) {
	for _, name := range []string{"session.txt", "readwrite.txt"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			var opts *aimx.ServerOptions
			if name == "readwrite.txt" {
				opts = &aimx.ServerOptions{Policy: aimx.ReadWrite("cfg")}
			}
			for _, uds := range []bool{false, true} {
				f := startFixture(t, opts)
				if err := f.humidity.Produce(55); err != nil {
					t.Fatal(err)
				}
				ep := f.tcp
				if uds {
					ep = f.uds
				}
				c := dialRaw(t, ep)
				sc := bufio.NewScanner(bytes.NewReader(data))
				for n := 1; sc.Scan(); n++ {
					line := sc.Text()
					switch {
					case strings.HasPrefix(line, "→ "):
						c.send(strings.TrimPrefix(line, "→ "))
					case strings.HasPrefix(line, "← "):
						want := strings.TrimPrefix(line, "← ")
						if got := c.recv(); got != want {
							t.Fatalf("%s line %d (%s):\n got %s\nwant %s", name, n, ep[:3], got, want)
						}
					case strings.HasPrefix(line, "produce "):
						var v Temp
						if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "produce ")), &v); err != nil {
							t.Fatal(err)
						}
						if err := f.temp.Produce(v); err != nil {
							t.Fatal(err)
						}
					case strings.HasPrefix(line, "sync"):
						if extra := c.sync(); len(extra) > 0 {
							t.Fatalf("%s line %d: unexpected frames %q", name, n, extra)
						}
					}
				}
			}
		})
	}
}
