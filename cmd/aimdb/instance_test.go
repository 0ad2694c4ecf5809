package main

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb/aimx"
)

// TestInstanceList checks that instance list finds a registered server
// and the --connect endpoint, and describes both.
func TestInstanceList(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(aimx.RuntimeDirEnv, dir)
	if r := runCLI(t, "", "instance", "list"); r.code != 0 || r.stdout != "no AimDB instance registered in "+dir+"\n" {
		t.Errorf("instance list with nothing registered: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	f := startFixture(t, &aimx.ServerOptions{Name: "fixture", Policy: aimx.ReadWrite("cfg")})
	waitFor(t, "the fixture registered", func() bool {
		list, err := aimx.Instances()
		return err == nil && len(list) == 1
	})

	r := runCLI(t, "", "instance", "list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "ENDPOINT") {
		t.Fatalf("instance list: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	fields := strings.Fields(lines[1])
	if want := []string{f.endpoint, strconv.Itoa(os.Getpid()), "fixture", "(devel)", "10"}; len(fields) < 8 || !equalPrefix(fields, want) ||
		strings.Join(fields[6:], " ") != "read-write: cfg" {
		t.Errorf("instance list row = %q, want %v … read-write: cfg", lines[1], want)
	}

	// An endpoint given with --connect is listed too, reachable or not.
	r = runCLI(t, "", "--connect", "tcp://127.0.0.1:1", "instance", "list", "-o", "json")
	var rows []instanceRow
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || r.code != 0 || len(rows) != 2 {
		t.Fatalf("instance list -o json: exit %d, %v, stdout %s", r.code, err, r.stdout)
	}
	if g := rows[0]; !g.Registered || g.Endpoint != f.endpoint || g.Records != 10 || g.UptimeMs <= 0 || g.Error != "" ||
		g.Server != "aimdb" || g.Version != aimx.Version || len(g.Endpoints) != 1 {
		t.Errorf("registered row = %+v", g)
	}
	if g := rows[1]; g.Registered || g.Endpoint != "tcp://127.0.0.1:1" || !strings.HasPrefix(g.Error, "cannot connect to tcp://127.0.0.1:1") {
		t.Errorf("--connect row = %+v", g)
	}
}

func equalPrefix(got, want []string) bool {
	for i, w := range want {
		if got[i] != w {
			return false
		}
	}
	return true
}

// TestInstanceInfo checks which server instance info describes, and
// what it prints.
func TestInstanceInfo(t *testing.T) {
	t.Setenv(aimx.RuntimeDirEnv, t.TempDir())
	f := startFixture(t, &aimx.ServerOptions{Name: "fixture"})
	waitFor(t, "the fixture registered", func() bool {
		list, err := aimx.Instances()
		return err == nil && len(list) == 1
	})
	// Without --connect: the one server registered.
	r := runCLI(t, "", "instance", "info")
	for _, want := range []string{"endpoint           " + f.endpoint + "\n", "name               fixture\n", "protocol           AimX 3.0\n",
		"records            10\n", "policy             read-only\n", "max subscriptions  32\n", "endpoints          " + f.endpoint + "\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("instance info: no %q in\n%s", want, r.stdout)
		}
	}
	if r.code != 0 || r.stderr != "" {
		t.Errorf("instance info: exit %d, stderr %q", r.code, r.stderr)
	}

	// A second server: which one to describe must be named.
	g := startFixture(t, &aimx.ServerOptions{Name: "second"})
	waitFor(t, "the second fixture registered", func() bool {
		list, err := aimx.Instances()
		return err == nil && len(list) == 2
	})
	if r := runCLI(t, "", "instance", "info"); r.code != 2 || !strings.Contains(r.stderr, "2 servers are registered") {
		t.Errorf("instance info with two servers: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, g.endpoint, "instance", "info", "-o", "json")
	var row instanceRow
	if err := json.Unmarshal([]byte(r.stdout), &row); err != nil || row.Name != "second" || row.Endpoint != g.endpoint {
		t.Errorf("instance info of the second: %v, %+v", err, row)
	}
	if r := runCLI(t, "tcp://127.0.0.1:1", "instance", "info"); r.code != 1 || !strings.HasPrefix(r.stderr, "aimdb: cannot connect to tcp://127.0.0.1:1") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("instance info of nothing: exit %d, stderr %q", r.code, r.stderr)
	}
}
