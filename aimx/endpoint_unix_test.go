//go:build unix

package aimx_test

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/aimdb-go/aimdb/aimx"
)

// TestUnixSocketModeNeverWider listens on a Unix socket again and again
// under umask 0 while another goroutine watches the path: the socket
// must never be seen with a mode wider than 0600, and the directory
// must hold nothing else once Listen returned.
func TestUnixSocketModeNeverWider(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	path := filepath.Join(dir, "aimx.sock")

	var stop atomic.Bool
	var seen, wide atomic.Int64
	var wideMode atomic.Uint32
	var wg sync.WaitGroup
	wg.Go(func() {
		for !stop.Load() {
			fi, err := os.Lstat(path)
			if err != nil {
				continue
			}
			seen.Add(1)
			if m := fi.Mode().Perm(); m&^0o600 != 0 {
				wide.Add(1)
				wideMode.Store(uint32(m))
			}
		}
	})
	const rounds = 300
	for i := range rounds {
		ln, _, err := aimx.Listen("unix://" + path)
		if err != nil {
			stop.Store(true)
			wg.Wait()
			t.Fatal(err)
		}
		if fi, err := os.Lstat(path); err != nil || fi.Mode().Perm() != 0o600 || fi.Mode().Type() != os.ModeSocket {
			t.Errorf("round %d: right after Listen, %s is %v, %v; want a socket with mode 0600", i, path, fi.Mode(), err)
		}
		if ents, err := os.ReadDir(dir); err != nil || len(ents) != 1 {
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Errorf("round %d: the directory holds %q, %v; want the socket only", i, names, err)
		}
		ln.Close()
		if _, err := os.Lstat(path); !os.IsNotExist(err) {
			t.Errorf("round %d: after Close, Lstat(%s): %v; want it removed", i, path, err)
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d rounds; the watcher saw the socket %d times, %d of them with a mode wider than 0600", rounds, seen.Load(), wide.Load())
	if n := wide.Load(); n > 0 {
		t.Errorf("the socket was seen %d times with mode %v; want never wider than 0600", n, os.FileMode(wideMode.Load()))
	}
}
