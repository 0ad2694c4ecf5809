//go:build !js && !wasip1 && !tinygo

// TestCoreImports runs `go list`, so it needs a go command it can start:
// there is none inside the js/wasm and wasip1 sandboxes, and TinyGo cannot
// start processes. The rules it checks are about source files, the same on
// every target, so the host and the qemu-user targets check them.

package aimdb_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreImports keeps the root package portable. Everything it depends
// on, transitively, must be in the standard library; and neither it nor
// the project packages it uses may import encoding/json, net or os/exec
// themselves. (log/slog, which the API takes, reaches encoding/json for
// its JSON handler; that is the standard library's business.)
func TestCoreImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f",
		"{{.ImportPath}}|{{.Standard}}|{{join .Imports \",\"}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := []string{"encoding/json", "net", "net/http", "os/exec", "unsafe", "reflect/internal"}
	checked := 0
	for line := range strings.Lines(strings.TrimSpace(string(out))) {
		pkg, rest, _ := strings.Cut(strings.TrimSpace(line), "|")
		std, imports, _ := strings.Cut(rest, "|")
		if std == "true" {
			continue
		}
		if !strings.HasPrefix(pkg, "github.com/aimdb-go/aimdb") {
			t.Errorf("core depends on non-standard package %s", pkg)
			continue
		}
		checked++
		for imp := range strings.SplitSeq(imports, ",") {
			for _, f := range forbidden {
				if imp == f {
					t.Errorf("%s imports %s", pkg, imp)
				}
			}
		}
	}
	if checked < 2 {
		t.Fatalf("checked %d project packages; want the root and its internal buffers", checked)
	}
}
