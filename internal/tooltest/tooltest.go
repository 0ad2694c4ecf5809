// Package tooltest finds the external programs some tests need
// (Chromium, mosquitto, tmux, Node.js…) and decides what a test does when
// one is missing.
//
// On a machine that lacks the program, the test is skipped with one line
// naming the program and its install command, so `go test ./...` passes
// on a machine with only Go. With AIMDB_TEST_STRICT=1 in the environment
// (CI sets it) a missing program fails the test instead.
//
// Every test that can skip for a missing program goes through this
// package: TestOnlyToolSkips, in this package, fails on a call to
// exec.LookPath, a Skip method or a hard-coded /usr/bin or /usr/sbin
// path in any test file of the repository outside this package, except
// the few it lists with a reason.
package tooltest

import (
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// StrictEnv is the environment variable that turns a missing tool from a
// skip into a failure.
const StrictEnv = "AIMDB_TEST_STRICT"

// A Tool is one external program a test can need.
type Tool struct {
	Name    string   // the command, as on PATH: "chromium"
	Env     string   // the variable that may name the binary: "AIMDB_CHROMIUM"
	Paths   []string // absolute paths tried after PATH: only directories not on a user's PATH (Debian's daemons in /usr/sbin)
	Install string   // how to install it on Debian
}

// Tools lists every external program the tests use, by name.
var Tools = map[string]Tool{
	"chromium":        {Name: "chromium", Env: "AIMDB_CHROMIUM", Install: "apt-get install chromium"},
	"mosquitto":       {Name: "mosquitto", Env: "AIMDB_MOSQUITTO", Paths: []string{"/usr/sbin/mosquitto"}, Install: "apt-get install mosquitto"},
	"tmux":            {Name: "tmux", Env: "AIMDB_TMUX", Install: "apt-get install tmux"},
	"node":            {Name: "node", Env: "AIMDB_NODE", Install: "apt-get install nodejs"},
	"npm":             {Name: "npm", Env: "AIMDB_NPM", Install: "apt-get install npm"},
	"knxd":            {Name: "knxd", Env: "AIMDB_KNXD", Paths: []string{"/usr/sbin/knxd"}, Install: "apt-get install knxd"},
	"knxtool":         {Name: "knxtool", Env: "AIMDB_KNXTOOL", Install: "apt-get install knxd-tools"},
	"nats-server":     {Name: "nats-server", Env: "AIMDB_NATS_SERVER", Paths: []string{"/usr/sbin/nats-server"}, Install: "apt-get install nats-server"},
	"postgres":        {Name: "postgres", Env: "AIMDB_POSTGRES", Install: "apt-get install postgresql"},
	"initdb":          {Name: "initdb", Env: "AIMDB_INITDB", Paths: pgPaths("initdb"), Install: "apt-get install postgresql"},
	"pg_ctl":          {Name: "pg_ctl", Env: "AIMDB_PG_CTL", Paths: pgPaths("pg_ctl"), Install: "apt-get install postgresql"},
	"runuser":         {Name: "runuser", Env: "AIMDB_RUNUSER", Paths: []string{"/usr/sbin/runuser", "/sbin/runuser"}, Install: "apt-get install util-linux"},
	"mosquitto_pub":   {Name: "mosquitto_pub", Env: "AIMDB_MOSQUITTO_PUB", Install: "apt-get install mosquitto-clients"},
	"tinygo":          {Name: "tinygo", Env: "AIMDB_TINYGO", Install: "bash ci/tinygo/install-tinygo.sh"},
	"qemu-system-arm": {Name: "qemu-system-arm", Env: "AIMDB_QEMU_SYSTEM_ARM", Install: "apt-get install qemu-system-arm"},
}

// pgPaths returns where Debian installs a PostgreSQL server program, for
// the versions Debian ships.
func pgPaths(name string) []string {
	var ps []string
	for v := 18; v >= 13; v-- {
		ps = append(ps, fmt.Sprintf("/usr/lib/postgresql/%d/bin/%s", v, name))
	}
	return ps
}

// Strict reports whether a missing tool fails tests (AIMDB_TEST_STRICT=1).
func Strict() bool {
	v := os.Getenv(StrictEnv)
	return v != "" && v != "0" && !strings.EqualFold(v, "false")
}

// Find returns the path of the named tool, looked up in its environment
// variable, then on PATH, then at its known paths. It reports false when
// the tool is missing. It panics for a name not in Tools.
func Find(name string) (string, bool) {
	tool, ok := Tools[name]
	if !ok {
		panic(fmt.Sprintf("tooltest: unknown tool %q (add it to tooltest.Tools)", name))
	}
	if p := os.Getenv(tool.Env); p != "" {
		if resolved, err := exec.LookPath(p); err == nil {
			return resolved, true
		}
		return "", false
	}
	if p, err := exec.LookPath(tool.Name); err == nil {
		return p, true
	}
	for _, p := range tool.Paths {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

// Path returns the path of the named tool for t. When the tool is
// missing it skips t with one line naming the tool and its install
// command, or fails t under AIMDB_TEST_STRICT=1.
func Path(t testing.TB, name string) string {
	t.Helper()
	p, ok := Find(name)
	if !ok {
		tool := Tools[name]
		if v := os.Getenv(tool.Env); v != "" {
			Missing(t, name, fmt.Sprintf("%s (%s=%s is not an executable)", tool.Install, tool.Env, v))
		}
		how := tool.Install
		if tool.Env != "" {
			how += " (or set " + tool.Env + " to the binary)"
		}
		Missing(t, name, how)
	}
	return p
}

// Missing stops t because something it needs beyond a binary is absent
// (an npm package, a built image): it skips with one line naming what
// and how to get it, or fails under AIMDB_TEST_STRICT=1.
func Missing(t testing.TB, what, install string) {
	t.Helper()
	msg := fmt.Sprintf("needs %s: not found; install: %s", what, install)
	if Strict() {
		t.Fatalf("%s (%s=1: a missing tool fails the test)", msg, StrictEnv)
	}
	t.Skip(msg)
}

// Names returns the names of every known tool, sorted.
func Names() []string {
	names := make([]string, 0, len(Tools))
	for n := range Tools {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
