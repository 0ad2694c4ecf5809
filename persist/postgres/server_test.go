package postgres_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/aimdb-go/aimdb/internal/tooltest"
)

// server is the PostgreSQL server the tests share: Debian's, started in
// a temporary directory on a free port, as an unprivileged user (nobody,
// when the tests run as root, since initdb refuses root).
var server struct {
	once    sync.Once
	err     error
	url     string // of the postgres database
	dir     string
	pgCtl   string
	asUser  []string // the runuser prefix, or nothing
	created atomic.Int64
}

// start starts the server once, or fails t.
func start(t *testing.T) {
	t.Helper()
	initdb := tooltest.Path(t, "initdb")
	pgCtl := tooltest.Path(t, "pg_ctl")
	var runuser string
	if os.Geteuid() == 0 {
		runuser = tooltest.Path(t, "runuser")
	}
	server.once.Do(func() { server.err = boot(initdb, pgCtl, runuser) })
	if server.err != nil {
		t.Fatalf("starting PostgreSQL: %v", server.err)
	}
}

func boot(initdb, pgCtl, runuser string) error {
	dir, err := os.MkdirTemp("", "aimdb-postgres-")
	if err != nil {
		return err
	}
	server.dir, server.pgCtl = dir, pgCtl
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	if runuser != "" {
		u, err := user.Lookup("nobody")
		if err != nil {
			return err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return err
		}
		server.asUser = []string{runuser, "-u", "nobody", "--"}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	data := filepath.Join(dir, "data")
	if out, err := command(initdb, "-D", data, "-U", "aimdb", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v: %s", err, out)
	}
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off", port)
	if out, err := command(pgCtl, "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		return fmt.Errorf("pg_ctl start: %v: %s\n%s", err, out, log)
	}
	server.url = fmt.Sprintf("postgres://aimdb@127.0.0.1:%d/postgres?sslmode=disable", port)
	return nil
}

func command(name string, args ...string) *exec.Cmd {
	if len(server.asUser) > 0 {
		args = append(append(server.asUser[1:], name), args...)
		name = server.asUser[0]
	}
	return exec.Command(name, args...)
}

// stop stops the server, if it was started, and removes its directory.
func stop() {
	if server.url != "" {
		command(server.pgCtl, "-D", filepath.Join(server.dir, "data"), "-m", "immediate", "-w", "stop").Run()
	}
	if server.dir != "" {
		os.RemoveAll(server.dir)
	}
}

// newDatabase creates an empty database and returns its URL.
func newDatabase(t *testing.T) string {
	t.Helper()
	start(t)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, server.url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	name := fmt.Sprintf("t%d", server.created.Add(1))
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	u := server.url[:len(server.url)-len("postgres?sslmode=disable")] + name + "?sslmode=disable"
	return u
}
