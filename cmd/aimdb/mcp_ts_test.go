package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/internal/tooltest"
)

// tsReport is what testdata/mcp-ts/client.mjs prints.
type tsReport struct {
	Tools []string `json:"tools"`
	Calls map[string]struct {
		IsError    bool           `json:"isError"`
		Structured map[string]any `json:"structured"`
		Text       string         `json:"text"`
	} `json:"calls"`
	UnknownArgument map[string]tsError `json:"unknownArgument"`
	WrongType       map[string]tsError `json:"wrongType"`
	Resources       map[string]struct {
		MIMEType string `json:"mimeType"`
		JSON     any    `json:"json"`
	} `json:"resources"`
	Templates []string          `json:"templates"`
	Prompts   map[string]string `json:"prompts"`
	Errors    []string          `json:"errors"`
}

type tsError struct {
	IsError bool   `json:"isError"`
	Text    string `json:"text"`
}

// TestMCPTypeScript drives aimdb mcp over stdio with the official
// TypeScript SDK client (@modelcontextprotocol/sdk, pinned in
// testdata/mcp-ts/package-lock.json): every tool, with good and bad
// arguments, every resource and every prompt.
func TestMCPTypeScript(t *testing.T) {
	node := tooltest.Path(t, "node")
	dir := filepath.Join("testdata", "mcp-ts")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@modelcontextprotocol", "sdk", "package.json")); err != nil {
		tooltest.Missing(t, "the npm package @modelcontextprotocol/sdk", "npm ci --prefix cmd/aimdb/testdata/mcp-ts")
	}
	t.Setenv(aimx.RuntimeDirEnv, t.TempDir()) // discover_instances finds the fixture only
	bin := buildBinary(t)
	f := startFixture(t, nil)
	cmd := exec.CommandContext(t.Context(), node, "client.mjs", bin, "--connect", f.endpoint, "mcp", "--allow-write")
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node client.mjs: %v\n%s", err, stderr.String())
	}
	var r tsReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("report %s: %v", out, err)
	}
	for _, e := range r.Errors {
		t.Error(e)
	}
	if !slices.Equal(r.Tools, allTools) {
		t.Errorf("tools = %v, want %v", r.Tools, allTools)
	}
	for _, name := range allTools {
		c, ok := r.Calls[name]
		if !ok || c.IsError || c.Structured == nil {
			t.Errorf("%s: %+v", name, c)
		}
		if e := r.UnknownArgument[name]; !e.IsError || !strings.Contains(e.Text, "no_such_argument") {
			t.Errorf("%s with an unknown argument: %+v", name, e)
		}
		if e, ok := r.WrongType[name]; ok && (!e.IsError || !strings.Contains(e.Text, "validating")) {
			t.Errorf("%s with an argument of the wrong type: %+v", name, e)
		}
	}
	if got := r.Calls["get_record"].Structured["value"]; !reflectEqualJSON(got, map[string]any{"level": 3.0}) && !reflectEqualJSON(got, map[string]any{"level": 1.0}) {
		t.Errorf("get_record cfg = %v", got)
	}
	if got := r.Calls["query_schema"].Structured["type"]; got != "main.Level" {
		t.Errorf("query_schema cfg type = %v", got)
	}
	if got := r.Calls["discover_instances"].Structured["count"]; got != 1.0 {
		t.Errorf("discover_instances count = %v", got)
	}

	var uris []string
	for uri, res := range r.Resources {
		uris = append(uris, uri)
		if res.MIMEType != "application/json" || res.JSON == nil {
			t.Errorf("resource %s: %+v", uri, res)
		}
	}
	slices.Sort(uris)
	if want := []string{"aimdb://graph", "aimdb://record/cfg", "aimdb://record/sensors.humidity", "aimdb://records"}; !slices.Equal(uris, want) {
		t.Errorf("resources read = %v, want %v", uris, want)
	}
	if got := r.Resources["aimdb://record/sensors.humidity"].JSON; got != 40.0 {
		t.Errorf("aimdb://record/sensors.humidity = %v", got)
	}
	if !strings.Contains(r.Prompts["diagnose_db"], "health") || !strings.Contains(r.Prompts["explain_record"], `"calc.double"`) || len(r.Prompts) != 2 {
		t.Errorf("prompts = %v", r.Prompts)
	}
}

func reflectEqualJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
