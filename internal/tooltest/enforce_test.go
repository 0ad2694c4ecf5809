package tooltest_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// allowed lists the calls the checker would flag that are not about a
// missing tool, by file (slash-separated, from the repository root) and
// source text, each with its reason.
var allowed = map[string]string{
	`internal/buffer/buffertest/model.go: t.Skip("no reader")`: "rapid's Skip discards one draw of the state machine (a recv with no reader yet); nothing is missing",
}

// TestOnlyToolSkips keeps every skip for a missing tool in this package,
// where AIMDB_TEST_STRICT=1 turns it into a failure: it parses every test
// file of the repository (the _test.go files and the test-helper packages,
// whose names end in "test", in every module of it) and fails on a call
// to exec.LookPath, a call of a method named Skip, Skipf or SkipNow, or a
// string literal naming a file in /usr/bin, /usr/sbin or /usr/local/bin.
// Use tooltest.Path or tooltest.Missing instead.
func TestOnlyToolSkips(t *testing.T) {
	root := moduleRoot(t)
	self := filepath.Join(root, "internal", "tooltest")
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") || path == self {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, ".go") && strings.HasSuffix(filepath.Base(filepath.Dir(path)), "test") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rel := func(p string) string { r, _ := filepath.Rel(root, p); return filepath.ToSlash(r) }
	for _, want := range []string{"connector/mqtt/mosquitto_test.go", "internal/chromiumtest/chromiumtest.go", "cmd/aimdb/watch_test.go"} {
		if !slices.ContainsFunc(files, func(f string) bool { return rel(f) == want }) {
			t.Fatalf("the walk from %s missed %s (found %d files)", root, want, len(files))
		}
	}
	used := map[string]bool{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		problems, err := check(rel(f), src)
		if err != nil {
			t.Error(err)
			continue
		}
		for _, p := range problems {
			if _, ok := allowed[p.key]; ok {
				used[p.key] = true
				continue
			}
			t.Errorf("%s: %s", p.pos, p.msg)
		}
	}
	for k := range allowed {
		if !used[k] {
			t.Errorf("allowed lists %s, which no longer occurs: remove it", k)
		}
	}
}

// TestCheck makes sure the checker finds what it must.
func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // the keys of the problems, in order
	}{
		{"clean", `package p
import "testing"
func TestX(t *testing.T) { t.Log("/usr/share/doc is fine") }`, nil},
		{"LookPath", `package p
import "os/exec"
func f() { exec.LookPath("tmux") }`, []string{`x.go: exec.LookPath("tmux")`}},
		{"LookPath renamed", `package p
import osexec "os/exec"
func f() { osexec.LookPath("tmux") }`, []string{`x.go: osexec.LookPath("tmux")`}},
		{"skips", `package p
import "testing"
func TestX(t *testing.T) { t.Skip("no tmux"); t.Skipf("no %s", "x"); t.SkipNow() }
func BenchmarkX(b *testing.B) { b.Skip() }`, []string{`x.go: t.Skip("no tmux")`, `x.go: t.Skipf("no %s", "x")`, `x.go: t.SkipNow()`, `x.go: b.Skip()`}},
		{"hard-coded path", `package p
const chromium = "/usr/bin/chromium"
var d = []string{"/usr/sbin/mosquitto", "/usr/local/bin/tinygo"}`, []string{`x.go: "/usr/bin/chromium"`, `x.go: "/usr/sbin/mosquitto"`, `x.go: "/usr/local/bin/tinygo"`}},
		{"a LookPath of another package", `package p
func f() { other.LookPath("x") }`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems, err := check("x.go", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range problems {
				got = append(got, p.key)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("check found %q; want %q", got, tt.want)
			}
		})
	}
	if _, err := check("x.go", []byte("package")); err == nil {
		t.Error("check of a file that does not parse: no error")
	}
}

type problem struct {
	pos string // file:line
	key string // file: source text, as in allowed
	msg string
}

// check parses one file and returns what it finds.
func check(name string, src []byte) ([]problem, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	execName := ""
	for _, imp := range f.Imports {
		if path, _ := strconv.Unquote(imp.Path.Value); path == "os/exec" {
			execName = "exec"
			if imp.Name != nil {
				execName = imp.Name.Name
			}
		}
	}
	var problems []problem
	report := func(n ast.Node, msg string) {
		text := string(src[fset.Position(n.Pos()).Offset:fset.Position(n.End()).Offset])
		problems = append(problems, problem{
			pos: fset.Position(n.Pos()).String(),
			key: name + ": " + text,
			msg: text + ": " + msg,
		})
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok {
				break
			}
			switch sel.Sel.Name {
			case "LookPath":
				if x, ok := sel.X.(*ast.Ident); ok && execName != "" && x.Name == execName {
					report(n, "find a tool with tooltest.Path, which skips or fails (AIMDB_TEST_STRICT=1) when it is missing")
				}
			case "Skip", "Skipf", "SkipNow":
				report(n, "a test skips only through tooltest.Path or tooltest.Missing, which AIMDB_TEST_STRICT=1 turns into a failure; if this skip is not about a missing tool, list it in allowed (internal/tooltest/enforce_test.go) with the reason")
			}
		case *ast.BasicLit:
			if n.Kind != token.STRING {
				break
			}
			v, err := strconv.Unquote(n.Value)
			if err != nil {
				break
			}
			for _, dir := range []string{"/usr/bin/", "/usr/sbin/", "/usr/local/bin/"} {
				if strings.HasPrefix(v, dir) {
					report(n, "a hard-coded tool path; add the tool to tooltest.Tools and find it with tooltest.Path")
				}
			}
		}
		return true
	})
	return problems, nil
}

// moduleRoot returns the directory of the repository's main go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(string(b), "module github.com/aimdb-go/aimdb\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod of module github.com/aimdb-go/aimdb above the working directory")
		}
		dir = parent
	}
}
