package tooltest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb/internal/tooltest"
)

// fake is a tool no machine has, unless a test puts it on PATH.
const fake = "aimdb-tooltest-fake"

func init() {
	tooltest.Tools[fake] = tooltest.Tool{Name: fake, Env: "AIMDB_TOOLTEST_FAKE", Install: "apt-get install aimdb-tooltest-fake"}
}

// executable writes a shell script named name into a new directory and
// returns its path.
func executable(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFind(t *testing.T) {
	bin := executable(t, fake)
	tests := []struct {
		name   string
		path   string // PATH
		env    string // AIMDB_TOOLTEST_FAKE
		want   string
		wantOK bool
	}{
		{name: "missing", path: t.TempDir()},
		{name: "on PATH", path: filepath.Dir(bin), want: bin, wantOK: true},
		{name: "env names the binary", path: t.TempDir(), env: bin, want: bin, wantOK: true},
		{name: "env wins over PATH", path: filepath.Dir(bin), env: filepath.Join(t.TempDir(), "nothing"), wantOK: false},
		{name: "env names a directory", path: t.TempDir(), env: t.TempDir()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PATH", tt.path)
			t.Setenv("AIMDB_TOOLTEST_FAKE", tt.env)
			got, ok := tooltest.Find(fake)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Find(%q) = %q, %v; want %q, %v", fake, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestFindUnknownPanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "tooltest.Tools") {
			t.Errorf("Find of an unknown tool: recover() = %v; want a panic naming tooltest.Tools", r)
		}
	}()
	tooltest.Find("no-such-tool-in-the-registry")
}

func TestStrict(t *testing.T) {
	for v, want := range map[string]bool{"": false, "0": false, "false": false, "FALSE": false, "1": true, "true": true, "yes": true} {
		t.Setenv(tooltest.StrictEnv, v)
		if got := tooltest.Strict(); got != want {
			t.Errorf("%s=%q: Strict() = %v; want %v", tooltest.StrictEnv, v, got, want)
		}
	}
}

func TestNamesListsEveryTool(t *testing.T) {
	names := tooltest.Names()
	if len(names) != len(tooltest.Tools) {
		t.Fatalf("Names() has %d names; Tools has %d", len(names), len(tooltest.Tools))
	}
	for _, n := range names {
		tool := tooltest.Tools[n]
		if tool.Name != n || tool.Env == "" || tool.Install == "" {
			t.Errorf("Tools[%q] = %+v; want Name %q, an Env and an Install command", n, tool, n)
		}
	}
}

// TestChildMissing is run by TestMissingTool in a child process of the
// test binary, with TOOLTEST_CHILD set; on its own it does nothing.
func TestChildMissing(t *testing.T) {
	switch os.Getenv("TOOLTEST_CHILD") {
	case "path":
		p := tooltest.Path(t, fake)
		t.Logf("child: after Path (%q)", p)
	case "missing":
		tooltest.Missing(t, "the npm package left-pad", "npm install left-pad")
		t.Log("child: after Missing")
	}
}

// TestMissingTool runs TestChildMissing in a child process, with and
// without AIMDB_TEST_STRICT=1, and checks that a missing tool skips the
// test with one line naming it and its install command, or fails it.
func TestMissingTool(t *testing.T) {
	tests := []struct {
		child, strict string
		wantExit      bool // exit status 0
		want          []string
	}{
		{"path", "", true, []string{"--- SKIP: TestChildMissing", "needs " + fake + ": not found; install: apt-get install " + fake + " (or set AIMDB_TOOLTEST_FAKE to the binary)"}},
		{"path", "1", false, []string{"--- FAIL: TestChildMissing", "needs " + fake + ": not found", "AIMDB_TEST_STRICT=1: a missing tool fails the test"}},
		{"missing", "", true, []string{"--- SKIP: TestChildMissing", "needs the npm package left-pad: not found; install: npm install left-pad"}},
		{"missing", "1", false, []string{"--- FAIL: TestChildMissing", "install: npm install left-pad (AIMDB_TEST_STRICT=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.child+"/strict="+tt.strict, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestChildMissing$", "-test.v")
			cmd.Env = append(os.Environ(), "TOOLTEST_CHILD="+tt.child, tooltest.StrictEnv+"="+tt.strict,
				"AIMDB_TOOLTEST_FAKE=", "PATH="+t.TempDir())
			out, err := cmd.CombinedOutput()
			if (err == nil) != tt.wantExit {
				t.Errorf("child exit error = %v; want success %v", err, tt.wantExit)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("child output lacks %q", w)
				}
			}
			if strings.Contains(string(out), "child: after") {
				t.Errorf("the child test went on after the tool was found missing")
			}
			if t.Failed() {
				t.Logf("child output:\n%s", out)
			}
		})
	}
}
