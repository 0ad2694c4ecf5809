package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
	"github.com/aimdb-go/aimdb/internal/tooltest"
)

// TestSchemaCommand runs the demo and reads its contracts three ways:
// `aimdb schema` over AimX, `aimdb schema --local` and the hub's GET
// /schemas. All must be the same document; the records' rows name their
// contract; and the payloads the hub serves are valid for ajv against the
// schema of their contract's current version.
func TestSchemaCommand(t *testing.T) {
	d := startTestDemo(t, freeDemo(t, 2))
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	ep := d.aimx[0]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	remote := runCLI(t, ep, "schema")
	local := runCLI(t, ep, "schema", "--local")
	if remote.code != 0 || local.code != 0 {
		t.Fatalf("aimdb schema: %d %s; --local: %d %s", remote.code, remote.stderr, local.code, local.stderr)
	}
	if remote.stdout != local.stdout {
		t.Errorf("aimdb schema over AimX and --local differ:\n%s\n---\n%s", remote.stdout, local.stdout)
	}
	var doc struct {
		Schema string                     `json:"$schema"`
		Defs   map[string]json.RawMessage `json:"$defs"`
	}
	if err := json.Unmarshal([]byte(remote.stdout), &doc); err != nil {
		t.Fatalf("aimdb schema printed no JSON: %v\n%s", err, remote.stdout)
	}
	for _, def := range []string{"temperature", "temperature.v1", "temperature.v2", "humidity", "humidity.v1", "dew_point", "dew_point.v1"} {
		if _, ok := doc.Defs[def]; !ok {
			t.Errorf("$defs lacks %q", def)
		}
	}
	ts := runCLI(t, ep, "schema", "--format", "typescript")
	if ts.code != 0 || !strings.Contains(ts.stdout, "export interface TemperatureV2 {") || !strings.Contains(ts.stdout, "export type Humidity = HumidityV1;") {
		t.Errorf("aimdb schema --format typescript: %d %s%s", ts.code, ts.stdout, ts.stderr)
	}
	if r := runCLI(t, ep, "schema", "--format", "yaml"); r.code != 2 || !strings.Contains(r.stderr, `--format "yaml": want jsonschema or typescript`) {
		t.Errorf("--format yaml: %d %q", r.code, r.stderr)
	}

	for _, tc := range []struct{ query, ctype, want string }{
		{"", "application/schema+json", remote.stdout},
		{"?format=typescript", "text/plain; charset=utf-8", ts.stdout},
	} {
		resp, err := http.Get(d.httpURL + "schemas" + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if tc.query == "" {
			var a, b bytes.Buffer
			json.Compact(&a, body)
			json.Compact(&b, []byte(tc.want))
			body = b.Bytes()
			if a.String() != b.String() {
				body = a.Bytes()
			}
			tc.want = b.String()
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tc.ctype || string(body) != tc.want {
			t.Errorf("GET /schemas%s: %s %s, %d bytes; want %s and what aimdb schema printed", tc.query, resp.Status, resp.Header.Get("Content-Type"), len(body), tc.ctype)
		}
	}
	if resp, err := http.Get(d.httpURL + "schemas?format=xml"); err != nil {
		t.Error(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /schemas?format=xml: %s; want 400", resp.Status)
	}

	// The rows name their contract, and real payloads fit its schema.
	c, err := aimx.Dial(ctx, ep, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var cases []map[string]string
	for _, kind := range []contracts.Kind{contracts.KindTemperature, contracts.KindHumidity, contracts.KindDewPoint} {
		key := contracts.KeyName(1, kind)
		waitValue(t, ctx, c, key, 0)
		rows, err := c.RecordsMatching(ctx, key)
		if err != nil || len(rows) != 1 || rows[0].SchemaType != string(kind) {
			t.Fatalf("record.list %s: %+v, %v; want schema_type %s", key, rows, err, kind)
		}
		// The contracts are Observable: the hub keeps a gauge of each.
		signal := map[contracts.Kind]string{contracts.KindTemperature: "celsius", contracts.KindHumidity: "percent", contracts.KindDewPoint: "celsius"}[kind]
		if st := rows[0].SignalStats; len(st) != 1 || st[0].Signal != signal || st[0].Count == 0 || st[0].Min > st[0].Max {
			t.Errorf("%s: signal_stats %+v; want one gauge of %s with values", key, st, signal)
		}
		v, err := c.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, map[string]string{"def": string(kind) + ".v" + itoa(rows[0].SchemaVersion), "payload": string(v)})
	}
	node := tooltest.Path(t, "node")
	dir := filepath.Join("..", "..", "codec", "testdata", "ajv")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ajv")); err != nil {
		tooltest.Missing(t, "the npm package ajv", "npm ci --prefix codec/testdata/ajv")
	}
	in, _ := json.Marshal(map[string]any{"schema": json.RawMessage(remote.stdout), "cases": cases})
	cmd := exec.Command(node, "validate.mjs")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ajv: %v", err)
	}
	if string(out) != "[true,true,true]" {
		t.Errorf("ajv on the hub's payloads %v: %s; want all valid", cases, out)
	}
}

func itoa(n uint32) string { b, _ := json.Marshal(n); return string(b) }
