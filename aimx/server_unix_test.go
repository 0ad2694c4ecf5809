//go:build unix

package aimx_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/aimx"
)

// emfileChild, set in the environment, makes TestAcceptEMFILE run its
// body: in a child process, whose limit on open files it may lower.
const emfileChild = "AIMX_TEST_EMFILE_CHILD"

// TestAcceptEMFILE runs the server out of file descriptors: Serve must
// keep serving, and accept the waiting connection once descriptors are
// free again. The test runs in a child process (this test binary again),
// so that the limit of this process does not change.
func TestAcceptEMFILE(t *testing.T) {
	if os.Getenv(emfileChild) == "1" {
		acceptEMFILE(t)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestAcceptEMFILE$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), emfileChild+"=1")
	out, err := cmd.CombinedOutput()
	for l := range strings.Lines(string(out)) {
		if strings.Contains(l, "emfile_test") || strings.Contains(l, "server_unix_test") {
			t.Log("child: " + strings.TrimSpace(l))
		}
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: TestAcceptEMFILE") {
		t.Fatalf("child process: %v\n%s", err, out)
	}
}

func acceptEMFILE(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	lim.Cur = min(256, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	f := startFixture(t, nil)
	e, err := aimx.ParseEndpoint(f.tcp)
	if err != nil {
		t.Fatal(err)
	}

	// Take every descriptor but one, which the client's socket takes:
	// the server cannot accept it.
	var fill []*os.File
	defer func() {
		for _, fh := range fill {
			fh.Close()
		}
	}()
	for {
		fh, err := os.Open(os.DevNull)
		if err != nil {
			if !errors.Is(err, syscall.EMFILE) {
				t.Fatal(err)
			}
			break
		}
		fill = append(fill, fh)
	}
	fill[len(fill)-1].Close()
	fill = fill[:len(fill)-1]
	c := dialRaw(t, f.tcp)
	waitStats(t, f.srv, func(s aimx.ServerStats) bool { return s.AcceptRetries >= 3 })
	t.Logf("%d descriptors taken; %d accepts retried", len(fill), f.srv.Stats().AcceptRetries)

	for _, fh := range fill {
		fh.Close()
	}
	fill = nil
	c.send(`{"t":"ping"}`)
	if got := c.recv(); got != `{"t":"pong"}` {
		t.Errorf("the connection that waited: %s", got)
	}
	cl := dial(t, "tcp://"+e.Addr, nil)
	if _, err := cl.Records(testCtx(t)); err != nil {
		t.Errorf("a new client after the descriptors were freed: %v", err)
	}
}
