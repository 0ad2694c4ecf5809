package aimx_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
)

// hub is a running DB of n Latest records "hub.<i>.value", each holding a
// value of the given size, plus the family "fam.{id}.value" with no
// instance yet, served over TCP and a Unix socket.
type hub struct {
	db       *aimdb.DB
	srv      *aimx.Server
	tcp, uds string
}

var famValue = aimdb.NewFamily[string]("fam.{id}.value")

func startHub(t *testing.T, n, size int, opts *aimx.ServerOptions) *hub {
	t.Helper()
	db := aimdb.New(nil)
	value := strings.Repeat("x", size)
	for i := range n {
		rec, err := aimdb.Register(db, aimdb.NewKey[string](fmt.Sprintf("hub.%d.value", i)), aimdb.Latest())
		if err != nil {
			t.Fatal(err)
		}
		rec.RemoteAccess(codec.JSON[string]{})
		if err := rec.Produce(value); err != nil {
			t.Fatal(err)
		}
	}
	fam, err := aimdb.RegisterFamily(db, famValue, aimdb.Latest())
	if err != nil {
		t.Fatal(err)
	}
	fam.RemoteAccess(codec.JSON[string]{})
	stop := aimdbtest.Start(t, db)
	h := &hub{db: db, srv: aimx.NewServer(db, opts)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	ln, fr, err := aimx.Listen("tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.tcp = "tcp://" + ln.Addr().String()
	go func() { done <- h.srv.Serve(ctx, ln, fr) }()
	h.uds = "unix://" + filepath.Join(t.TempDir(), "aimx.sock")
	uln, ufr, err := aimx.Listen(h.uds)
	if err != nil {
		t.Fatal(err)
	}
	go func() { done <- h.srv.Serve(ctx, uln, ufr) }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		}
		if err := stop(); err != nil {
			t.Errorf("db: %v", err)
		}
	})
	return h
}

// TestSlowReaders: clients that ask for big replies and never read pin
// at most their queue's budget, are disconnected after the write timeout
// and counted, while another client is served all along.
func TestSlowReaders(t *testing.T) {
	const slow = 6
	h := startHub(t, 2000, 100, &aimx.ServerOptions{WriteTimeout: 3 * time.Second, MaxQueuedBytes: 256 << 10})
	ctx := testCtx(t)
	good := dial(t, h.tcp, nil)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	conns := make([]*raw, slow)
	for i := range conns {
		conns[i] = dialRaw(t, h.tcp)
		for id := range 40 {
			conns[i].send(fmt.Sprintf(`{"t":"req","id":%d,"method":"record.list","params":{"detail":true}}`, id))
		}
	}
	// Wait until the server stops taking their requests: it cannot write.
	var last uint64
	for stable := 0; stable < 5; {
		time.Sleep(50 * time.Millisecond)
		if n := h.srv.Stats().Requests; n == last {
			stable++
		} else {
			last, stable = n, 0
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	pinned := int64(ms.HeapAlloc) - int64(base)
	t.Logf("%d clients that do not read pin %d KiB (%d requests taken)", slow, pinned>>10, last)
	if _, err := good.Get(ctx, "hub.1.value"); err != nil {
		t.Errorf("record.get of the good client: %v", err)
	}
	if pinned > 36<<20 {
		t.Errorf("%d clients that do not read pin %d MiB", slow, pinned>>20)
	}
	waitFor(t, 20*time.Second, "the slow clients disconnected", func() bool {
		s := h.srv.Stats()
		return s.Open == 1 && s.SlowClosed == slow
	})
	if _, err := good.Get(ctx, "hub.1.value"); err != nil {
		t.Errorf("record.get of the good client after: %v", err)
	}
}

// TestHalfClose: a client that sends its requests and shuts its writing
// side down (as nc -N does) receives every reply before the server
// closes the connection.
func TestHalfClose(t *testing.T) {
	f := startFixture(t, nil)
	for _, ep := range []string{f.uds, f.tcp} {
		t.Run(strings.SplitN(ep, ":", 2)[0], func(t *testing.T) {
			c := dialRaw(t, ep)
			const n = 50
			for id := 1; id <= n; id++ {
				c.send(fmt.Sprintf(`{"t":"req","id":%d,"method":"record.get","params":{"name":"tick"}}`, id))
			}
			if err := c.conn.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			got := 0
			for {
				b, err := c.r.ReadFrame()
				if err != nil {
					if !errors.Is(err, io.EOF) {
						t.Errorf("after %d replies: %v", got, err)
					}
					break
				}
				if want := fmt.Sprintf(`{"t":"reply","id":%d,"ok":1}`, got+1); string(b) != want {
					t.Fatalf("got %s, want %s", b, want)
				}
				got++
			}
			if got != n {
				t.Errorf("%d replies of %d", got, n)
			}
		})
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBigReplies: replies larger than a write chunk, between small
// frames, arrive whole over both framings.
func TestBigReplies(t *testing.T) {
	h := startHub(t, 1000, 100, nil)
	for _, ep := range []string{h.uds, h.tcp} {
		t.Run(strings.SplitN(ep, ":", 2)[0], func(t *testing.T) {
			c := dialRaw(t, ep)
			for id := 1; id <= 6; id++ {
				params := `{"name":"hub.1.value"}`
				method := "record.get"
				if id%2 == 0 {
					method, params = "record.list", `{"detail":true}`
				}
				c.send(fmt.Sprintf(`{"t":"req","id":%d,"method":%q,"params":%s}`, id, method, params))
			}
			for id := 1; id <= 6; id++ {
				f, err := aimx.ParseFrame([]byte(c.recv()))
				if err != nil || f.ID != uint64(id) || f.Err != "" {
					t.Fatalf("reply %d: %+v, %v", id, f, err)
				}
				if id%2 == 0 {
					var rows []aimx.RecordInfo
					if err := json.Unmarshal(f.OK, &rows); err != nil || len(rows) != 1000 || len(f.OK) < 64<<10 {
						t.Errorf("record.list: %d rows in %d bytes, %v", len(rows), len(f.OK), err)
					}
				}
			}
		})
	}
}
