package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
)

// TestCommands runs each read command against the fixture, in both
// output formats, and compares with the golden files.
func TestCommands(t *testing.T) {
	f := startFixture(t, nil)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"record_list", []string{"record", "list"}},
		{"record_list_writable", []string{"record", "list", "-w"}},
		{"record_get", []string{"record", "get", "sensors.temp"}},
		{"record_get_latest", []string{"record", "get", "calc.comfort"}},
		{"record_query", []string{"record", "query", "sensors.#"}},
		{"record_query_bounds", []string{"record", "query", "sensors.temp", "--since", "2025-08-01T10:40:30Z", "--until", "1754044900000"}},
		{"record_query_limit", []string{"record", "query", "#", "--limit", "1"}},
		{"graph_tree", []string{"graph"}},
	} {
		for _, format := range []string{"table", "json"} {
			t.Run(tc.name+"/"+format, func(t *testing.T) {
				r := runCLI(t, f.endpoint, append(tc.args, "-o", format)...)
				if r.code != 0 || r.stderr != "" {
					t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
				}
				golden(t, tc.name+"."+format, mask(r.stdout, f.endpoint))
			})
		}
	}
	for _, format := range []string{"dot", "mermaid", "json"} {
		t.Run("graph/"+format, func(t *testing.T) {
			r := runCLI(t, f.endpoint, "graph", "--format", format)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			golden(t, "graph."+format, r.stdout)
		})
	}
}

// TestWrites checks set and drain and what they print.
func TestWrites(t *testing.T) {
	f := startFixture(t, nil)
	r := runCLI(t, f.endpoint, "record", "set", "cfg", `{ "level": 9 }`)
	if r.code != 0 || r.stdout != "cfg: success, value now {\"level\":9}\n" {
		t.Errorf("set = %+v", r)
	}
	r = runCLI(t, f.endpoint, "record", "set", "cfg", `{"level":7}`, "-o", "json")
	if r.code != 0 || r.stdout != "{\n  \"status\": \"success\",\n  \"value\": {\n    \"level\": 7\n  }\n}\n" {
		t.Errorf("set -o json = %+v", r)
	}
	if r := runCLI(t, f.endpoint, "record", "get", "cfg", "-o", "json"); r.stdout != "{\"level\":7}\n" {
		t.Errorf("get after set = %+v", r)
	}

	// A mailbox: the drain takes the pending value.
	r = runCLI(t, f.endpoint, "record", "set", "cmd.box", `"open"`)
	if r.code != 0 || r.stdout != "cmd.box: success, value now \"open\"\n" {
		t.Errorf("set mailbox = %+v", r)
	}
	r = runCLI(t, f.endpoint, "record", "drain", "cmd.box")
	if r.code != 0 || r.stdout != "\"open\"\n" || r.stderr != "cmd.box: 1 value(s) drained\n" {
		t.Errorf("drain mailbox = %+v", r)
	}

	// A ring: the first drain opens the cursor; --wait drains again.
	done := make(chan result, 1)
	go func() {
		done <- runCLI(t, f.endpoint, "record", "drain", "sensors.temp", "--wait", "300ms", "--limit", "2", "-o", "json")
	}()
	// The drain's cursor opens at the ring's head, at a moment the test
	// cannot see: produce until the drain returns.
	for produced := false; !produced; {
		select {
		case r = <-done:
			produced = true
		case <-time.After(10 * time.Millisecond):
			if err := f.temp.Produce(Temp{Celsius: 30}); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := "{\n  \"record_name\": \"sensors.temp\",\n  \"values\": [\n    {\n      \"celsius\": 30\n    },\n    {\n      \"celsius\": 30\n    }\n  ],\n  \"count\": 2\n}\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("drain ring = %+v", r)
	}
}

// TestErrors checks the error line and exit status of each failure.
func TestErrors(t *testing.T) {
	f := startFixture(t, &aimx.ServerOptions{Policy: aimx.ReadWrite("cfg")})
	closed := "tcp://127.0.0.1:1"
	for _, tc := range []struct {
		name     string
		endpoint string
		args     []string
		code     int
		stderr   string
	}{
		{"unknown key", f.endpoint, []string{"record", "get", "nope"}, 1,
			`aimdb: record.get "nope": unknown record key "nope" on ` + f.endpoint + ` (not_found)`},
		{"no value yet", f.endpoint, []string{"record", "get", "cmd.box"}, 1,
			`aimdb: record.get "cmd.box": record "cmd.box" has no value yet on ` + f.endpoint + ` (not_found: no_value)`},
		{"value of the wrong type", f.endpoint, []string{"record", "set", "cfg", `{"level":"high"}`}, 1,
			`aimdb: record.set "cfg": refused by the server on ` + f.endpoint + ` (invalid_params): the value does not decode into the record's type: json: cannot unmarshal string into Go struct field Level.level of type int`},
		{"drain of a mailbox outside the write policy", f.endpoint, []string{"record", "drain", "cmd.box"}, 1,
			`aimdb: record.drain "cmd.box": refused by the policy of the server on ` + f.endpoint + ` (denied): draining the mailbox takes its pending value: it needs a write policy that names "cmd.box"`},
		{"no remote access", f.endpoint, []string{"record", "get", "sensors.secret"}, 1,
			`aimdb: record.get "sensors.secret": failed on the server on ` + f.endpoint + ` (internal): the record may lack remote access, or the value did not decode`},
		{"denied set", f.endpoint, []string{"record", "set", "sensors.humidity", "1"}, 1,
			`aimdb: record.set "sensors.humidity": refused by the policy of the server on ` + f.endpoint + ` (denied)`},
		{"set on a transform", f.endpoint, []string{"record", "set", "calc.double", `{"celsius":1}`}, 1,
			`aimdb: record.set "calc.double": refused by the policy of the server on ` + f.endpoint + ` (denied)`},
		{"bad value", f.endpoint, []string{"record", "set", "cfg", "{level"}, 2,
			`aimdb: record set "cfg": the value "{level" is not JSON: invalid character 'l' looking for beginning of object key string`},
		{"no history", f.endpoint, []string{"record", "query", "#"}, 1,
			`aimdb: record.query "#": the server on ` + f.endpoint + ` has no history (internal): it answers record.query only with persistence configured`},
		{"cannot connect", closed, []string{"record", "list"}, 1,
			"aimdb: cannot connect to tcp://127.0.0.1:1: dial tcp 127.0.0.1:1: connect: connection refused"},
		{"bad endpoint", "tcp://nowhere", []string{"record", "list"}, 2,
			`aimdb: --connect: aimx: endpoint "tcp://nowhere": want tcp://host:port`},
		{"bad flag", f.endpoint, []string{"record", "list", "--bogus"}, 2,
			"aimdb: unknown flag: --bogus (see aimdb record list --help)"},
		{"bad output", f.endpoint, []string{"record", "list", "-o", "yaml"}, 2,
			`aimdb: --output "yaml": want table or json`},
		{"missing argument", f.endpoint, []string{"record", "get"}, 2,
			"aimdb: aimdb record get: want 1 argument(s) [KEY], got 0 (see aimdb record get --help)"},
		{"unknown command", f.endpoint, []string{"bogus"}, 2,
			`aimdb: unknown command "bogus" (see aimdb --help)`},
		{"unknown subcommand", f.endpoint, []string{"record", "bogus"}, 2,
			`aimdb: unknown command "bogus" for "aimdb record" (see aimdb record --help)`},
		{"bad time", f.endpoint, []string{"record", "query", "#", "--since", "yesterday"}, 2,
			`aimdb: --since "yesterday": want an RFC 3339 time, Unix milliseconds or a duration like 15m`},
		{"bad format", f.endpoint, []string{"graph", "--format", "svg"}, 2,
			`aimdb: --format "svg": want tree, dot, mermaid or json`},
		{"watch unknown key", f.endpoint, []string{"watch", "nope"}, 1,
			`aimdb: sub "nope": unknown record key "nope" on ` + f.endpoint + ` (not_found)`},
		{"watch pattern without match", f.endpoint, []string{"watch", "nothing.*"}, 1,
			`aimdb: watch "nothing.*": no record on ` + f.endpoint + ` matches the pattern`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.endpoint, tc.args...)
			if r.code != tc.code || r.stderr != tc.stderr+"\n" || r.stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q\nwant exit %d, stderr %q", r.code, r.stderr, r.stdout, tc.code, tc.stderr+"\n")
			}
		})
	}
}

// TestMailboxDrainPolicy checks that aimdb record get and watch observe
// a mailbox's command, and that aimdb record drain, which takes it, is
// refused under a read-only policy, so that the in-process consumer still
// receives it; under a policy that names the record, drain takes it.
func TestMailboxDrainPolicy(t *testing.T) {
	f := startFixture(t, &aimx.ServerOptions{Policy: aimx.ReadOnly()})
	local, err := f.cmd.Subscribe() // the actuator
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	if err := f.cmd.Produce("open"); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, f.endpoint, "record", "get", "cmd.box", "-o", "json"); r.code != 0 || r.stdout != "\"open\"\n" {
		t.Errorf("get = %+v", r)
	}
	if r := runCLI(t, f.endpoint, "watch", "cmd.*", "--count", "1", "-o", "json"); r.code != 0 || !strings.Contains(r.stdout, `"open"`) {
		t.Errorf("watch = %+v", r)
	}
	r := runCLI(t, f.endpoint, "record", "drain", "cmd.box")
	if want := `aimdb: record.drain "cmd.box": refused by the policy of the server on ` + f.endpoint + ` (denied): draining the mailbox takes its pending value: it needs a write policy that names "cmd.box"` + "\n"; r.code != 1 || r.stderr != want || r.stdout != "" {
		t.Errorf("drain under a read-only policy = %+v, want stderr %q", r, want)
	}
	if v, err := local.TryRecv(); err != nil || v != "open" {
		t.Errorf("the in-process consumer got %q, %v; want the command", v, err)
	}

	f = startFixture(t, &aimx.ServerOptions{Policy: aimx.ReadWrite("cmd.box")})
	local, err = f.cmd.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	if err := f.cmd.Produce("close"); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, f.endpoint, "record", "drain", "cmd.box"); r.code != 0 || r.stdout != "\"close\"\n" {
		t.Errorf("drain under ReadWrite(cmd.box) = %+v", r)
	}
	if v, err := local.TryRecv(); !errors.Is(err, aimdb.ErrEmpty) {
		t.Errorf("the in-process consumer got %q, %v after the drain; want ErrEmpty", v, err)
	}
	if r := runCLI(t, f.endpoint, "record", "drain", "--help"); !strings.Contains(r.stdout, "only\nwhen its write policy names the record") {
		t.Errorf("drain --help does not say a mailbox needs a write policy:\n%s", r.stdout)
	}
}

// TestToken checks that a server with a token refuses a client without
// it, with a line that says what to do.
func TestToken(t *testing.T) {
	f := startFixture(t, &aimx.ServerOptions{Token: "s3cret"})
	r := runCLI(t, f.endpoint, "record", "list")
	want := "aimdb: cannot connect to " + f.endpoint + ": the server refused the token (denied); pass --token or set AIMDB_TOKEN\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("without token: %+v", r)
	}
	if r := runCLI(t, f.endpoint, "record", "get", "cfg", "--token", "s3cret", "-o", "json"); r.code != 0 || r.stdout != "{\"level\":1}\n" {
		t.Errorf("with token: %+v", r)
	}
	env := func(k string) string {
		return map[string]string{"AIMDB_CONNECT": f.endpoint, "AIMDB_TOKEN": "s3cret"}[k]
	}
	var stdout, stderr syncBuffer
	if code := run(t.Context(), []string{"record", "get", "cfg"}, &stdout, &stderr, env); code != 0 {
		t.Errorf("with AIMDB_TOKEN: exit %d, stderr %q", code, stderr.String())
	}
	run(t.Context(), []string{"--help"}, &stdout, &stderr, env)
	if strings.Contains(stdout.String(), "s3cret") {
		t.Errorf("--help shows the token from the environment")
	}
}

// TestEndpointPrecedence checks --connect over AIMDB_CONNECT.
func TestEndpointPrecedence(t *testing.T) {
	f := startFixture(t, nil)
	r := runCLI(t, "tcp://127.0.0.1:1", "--connect", f.endpoint, "record", "get", "cfg", "-o", "json")
	if r.code != 0 || r.stdout != "{\"level\":1}\n" {
		t.Errorf("--connect did not win over AIMDB_CONNECT: %+v", r)
	}
	for env, want := range map[string]string{"": DefaultEndpoint, "unix:///run/x.sock": "unix:///run/x.sock"} {
		root := newRootCmd(io.Discard, io.Discard, func(k string) string {
			if k == "AIMDB_CONNECT" {
				return env
			}
			return ""
		})
		if got := root.PersistentFlags().Lookup("connect").DefValue; got != want {
			t.Errorf("AIMDB_CONNECT=%q: the default endpoint is %q, want %q", env, got, want)
		}
	}
}

// TestVersionAndCompletion checks the commands that need no server.
func TestVersionAndCompletion(t *testing.T) {
	r := runCLI(t, "tcp://127.0.0.1:1", "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "aimdb (devel) (AimX 3.0, go") {
		t.Errorf("version = %+v", r)
	}
	r = runCLI(t, "tcp://127.0.0.1:1", "version", "-o", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"aimx": "3.0"`) {
		t.Errorf("version -o json = %+v", r)
	}
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		r := runCLI(t, "tcp://127.0.0.1:1", "completion", shell)
		if r.code != 0 || !strings.Contains(r.stdout, "aimdb") {
			t.Errorf("completion %s: exit %d, stderr %q", shell, r.code, r.stderr)
		}
	}
}

// TestCompleteKeys checks that record keys complete from the server.
func TestCompleteKeys(t *testing.T) {
	f := startFixture(t, nil)
	r := runCLI(t, f.endpoint, "__complete", "record", "get", "station.")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "station.2.temperature\nstation.10.temperature\n:4\n") {
		t.Errorf("completion = %+v", r)
	}
	r = runCLI(t, f.endpoint, "__complete", "record", "set", "")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "cfg\ncmd.box\n:4\n") {
		t.Errorf("writable completion = %+v", r)
	}
}

// TestRecordListLarge lists a weather hub's 192 records: sorted by key
// with numeric segments in numeric order, in fixed-width columns.
func TestRecordListLarge(t *testing.T) {
	db := aimdb.New(nil)
	for n := range 64 {
		for _, m := range []string{"temperature", "humidity", "dew_point"} {
			r, err := aimdb.Register(db, aimdb.NewKey[Temp](fmt.Sprintf("station.%d.%s", n, m)), aimdb.Ring(100))
			if err != nil {
				t.Fatal(err)
			}
			r.RemoteAccess(codec.JSON[Temp]{})
		}
	}
	stop := aimdbtest.Start(t, db)
	defer stop()
	ln, fr, err := aimx.Listen("tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- aimx.NewServer(db, nil).Serve(ctx, ln, fr) }()
	defer func() { cancel(); <-done }()

	r := runCLI(t, "tcp://"+ln.Addr().String(), "record", "list")
	rows := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 0 || len(rows) != 193 {
		t.Fatalf("exit %d, %d lines, stderr %q", r.code, len(rows), r.stderr)
	}
	var keys []string
	col := strings.Index(rows[0], "TYPE")
	for _, row := range rows[1:] {
		keys = append(keys, strings.Fields(row)[0])
		if row[col-2:col] != "  " || row[col] == ' ' {
			t.Errorf("row %q: the TYPE column does not start at %d", row, col)
		}
	}
	want := []string{"station.0.dew_point", "station.0.humidity", "station.0.temperature", "station.1.dew_point"}
	if !slices.Equal(keys[:4], want) || keys[6] != "station.2.dew_point" || keys[191] != "station.63.temperature" {
		t.Errorf("keys = %v … %v", keys[:7], keys[185:])
	}
	r = runCLI(t, "tcp://"+ln.Addr().String(), "record", "list", "-o", "json")
	var raw []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &raw); err != nil || len(raw) != 192 || raw[0]["record_key"] != "station.0.temperature" {
		t.Errorf("-o json: %d rows, first %v, %v (want the server's registration order)", len(raw), raw[0]["record_key"], err)
	}
	if _, ok := raw[0]["produced_count"]; !ok {
		t.Errorf("-o json rows lack the counters: %v", raw[0])
	}
}
