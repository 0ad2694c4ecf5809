package aimx_test

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx"
)

// TestInstances checks that Serve registers each listener in the
// runtime directory while it serves, and that Instances lists it.
func TestInstances(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	t.Setenv(aimx.RuntimeDirEnv, dir)
	if got, err := aimx.Instances(); err != nil || len(got) != 0 {
		t.Fatalf("Instances before any server = %v, %v; want none", got, err)
	}
	f := startFixture(t, &aimx.ServerOptions{Name: "fixture", Policy: aimx.ReadWrite("cfg")})
	var got []aimx.Instance
	waitUntil(t, "both listeners registered", func() bool {
		var err error
		got, err = aimx.Instances()
		return err == nil && len(got) == 2
	})
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("runtime directory: %v, %v; want mode 0700", fi, err)
	}
	eps := []string{got[0].Endpoint, got[1].Endpoint}
	slices.Sort(eps)
	if want := []string{f.tcp, f.uds}; !slices.Equal(eps, want) {
		t.Errorf("endpoints = %v, want %v", eps, want)
	}
	for _, in := range got {
		if in.PID != os.Getpid() || in.Name != "fixture" || in.ServerVersion == "" || in.Started.IsZero() {
			t.Errorf("instance %+v", in)
		}
	}

	info, err := dial(t, f.uds, nil).Info(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(info.Endpoints)
	if info.Server != "aimdb" || info.Version != aimx.Version || info.Name != "fixture" || info.PID != os.Getpid() ||
		info.Records != 7 || !slices.Equal(info.Permissions, []string{"read", "write"}) ||
		!slices.Equal(info.WritableRecords, []string{"cfg"}) || info.MaxSubscriptions != aimx.DefaultMaxSubscriptions ||
		!slices.Equal(info.Endpoints, []string{f.tcp, f.uds}) || info.Started.IsZero() || info.UptimeMs < 0 {
		t.Errorf("Info = %+v", info)
	}
}

// TestInstancesStale checks that Instances removes the entry of a
// process that is gone, leaves out a socket that refuses, and lists an
// unregistered socket that answers.
func TestInstancesStale(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Log("Unix sockets and pids are checked on Unix only")
		return
	}
	dir := t.TempDir()
	t.Setenv(aimx.RuntimeDirEnv, dir)
	write := func(name string, in aimx.Instance) string {
		b, _ := json.Marshal(in)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gone := write("999999999-1.json", aimx.Instance{Endpoint: "tcp://127.0.0.1:1", PID: 999999999})
	write(".partial", aimx.Instance{Endpoint: "tcp://127.0.0.1:2"})
	refused := write("1-1.json", aimx.Instance{Endpoint: "unix://" + filepath.Join(dir, "nobody.sock"), PID: os.Getpid()})
	write("garbage.json", aimx.Instance{})

	ctx, cancel := context.WithCancel(context.Background())
	db := aimdb.New(nil)
	ln, fr, err := aimx.Listen("unix://" + filepath.Join(dir, "plain.sock"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- aimx.NewServer(db, &aimx.ServerOptions{Unlisted: true}).Serve(ctx, ln, fr) }()
	defer func() {
		cancel()
		<-done
	}()

	got, err := aimx.Instances()
	if err != nil {
		t.Fatal(err)
	}
	if want := []aimx.Instance{{Endpoint: "unix://" + filepath.Join(dir, "plain.sock")}}; !slices.Equal(got, want) {
		t.Errorf("Instances = %+v, want %+v", got, want)
	}
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Errorf("the entry of a process that is gone is still there: %v", err)
	}
	if _, err := os.Stat(refused); err != nil {
		t.Errorf("the entry of a live process was removed: %v", err)
	}
}

// TestRuntimeDirRefused checks that a runtime directory others may
// write is refused, by Instances and by registration.
func TestRuntimeDirRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Log("directory modes are checked on Unix only")
		return
	}
	dir := t.TempDir()
	t.Setenv(aimx.RuntimeDirEnv, dir)
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := aimx.Instances()
	if err == nil || !strings.Contains(err.Error(), "lets others write it") {
		t.Errorf("Instances in a world-writable directory: %v", err)
	}
}

// TestRuntimeDir checks the order of the variables RuntimeDir reads.
func TestRuntimeDir(t *testing.T) {
	t.Setenv(aimx.RuntimeDirEnv, "")
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	if got, want := aimx.RuntimeDir(), filepath.Join("/run/user/1000", "aimdb"); got != want {
		t.Errorf("RuntimeDir = %q, want %q", got, want)
	}
	t.Setenv("XDG_RUNTIME_DIR", "")
	if got := aimx.RuntimeDir(); !strings.HasPrefix(got, filepath.Join(os.TempDir(), "aimdb-")) {
		t.Errorf("RuntimeDir without XDG_RUNTIME_DIR = %q", got)
	}
	t.Setenv(aimx.RuntimeDirEnv, "/elsewhere")
	if got := aimx.RuntimeDir(); got != "/elsewhere" {
		t.Errorf("RuntimeDir with %s = %q", aimx.RuntimeDirEnv, got)
	}
}

// TestInfoFallback checks Client.Info against a server without
// instance.info, as AimDB's: the welcome and record.list describe it.
func TestInfoFallback(t *testing.T) {
	f := startFixture(t, nil)
	srv := aimx.NewServer(f.db, &aimx.ServerOptions{Policy: aimx.ReadWrite("cfg")})
	ln, _, err := aimx.Listen("unix://" + filepath.Join(t.TempDir(), "v3.sock"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		done <- srv.ServeConn(ctx, &lineConn{c: c, r: aimx.NewFrameReader(c, aimx.Lines, 0)},
			aimx.Dialect{Methods: []string{"hello", "record.list", "record.get"}})
	}()
	defer func() {
		cancel()
		<-done
		ln.Close()
	}()
	info, err := dial(t, "unix://"+ln.Addr().String(), nil).Info(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := aimx.Info{Server: "aimdb", Version: aimx.Version, Records: 7, Permissions: []string{"read", "write"},
		WritableRecords: []string{"cfg"}, MaxSubscriptions: aimx.DefaultMaxSubscriptions}
	if b, w := mustJSON(t, info), mustJSON(t, want); b != w {
		t.Errorf("Info = %s, want %s", b, w)
	}
}

// lineConn serves a Unix socket connection with the Lines framing.
type lineConn struct {
	c   net.Conn
	r   *aimx.FrameReader
	buf []byte
}

func (c *lineConn) ReadFrame() ([]byte, error) { return c.r.ReadFrame() }
func (c *lineConn) WriteFrame(p []byte) error {
	c.buf = aimx.AppendFrame(c.buf[:0], aimx.Lines, p)
	_, err := c.c.Write(c.buf)
	return err
}
func (c *lineConn) Close() error { return c.c.Close() }

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
