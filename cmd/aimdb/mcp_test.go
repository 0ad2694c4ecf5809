package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx"
)

// connectMCP serves the MCP tools for the fixture over in-memory
// transports and returns the client's session.
func connectMCP(t *testing.T, endpoint string, o mcpOptions) *mcp.ClientSession {
	t.Helper()
	a := &app{stdout: io.Discard, stderr: io.Discard, env: func(string) string { return "" }, now: time.Now,
		connect: endpoint, timeout: 5 * time.Second, output: "table"}
	b := &mcpBackend{a: a, opts: o}
	st, ct := mcp.NewInMemoryTransports()
	ctx := context.Background()
	ss, err := b.server().Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "aimdb-test", Version: "v0"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cs.Close()
		ss.Wait()
		b.close()
	})
	return cs
}

func toolNames(t *testing.T, cs *mcp.ClientSession) []string {
	t.Helper()
	res, err := cs.ListTools(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
		if tool.Description == "" || tool.InputSchema == nil {
			t.Errorf("tool %s: no description or input schema", tool.Name)
		}
		if tool.OutputSchema == nil {
			t.Errorf("tool %s: no output schema", tool.Name)
		}
		// Strict: an argument the tool does not know is refused.
		if b, _ := json.Marshal(tool.InputSchema); !strings.Contains(string(b), `"additionalProperties":false`) {
			t.Errorf("tool %s: input schema %s allows unknown arguments", tool.Name, b)
		}
	}
	slices.Sort(names)
	return names
}

// call calls a tool that must succeed and decodes its structured output
// into out.
func call(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any, out any) {
	t.Helper()
	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if res.IsError {
		t.Fatalf("%s: tool error %s", name, text(res))
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s: structured output %s: %v", name, b, err)
	}
	if len(res.Content) == 0 {
		t.Errorf("%s: no text content", name)
	}
}

// callErr calls a tool that must fail with a tool error (not a protocol
// error) and returns its error text.
func callErr(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) string {
	t.Helper()
	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s(%v): a protocol error, not a tool error: %v", name, args, err)
	}
	if !res.IsError {
		t.Fatalf("%s(%v) succeeded: %s", name, args, text(res))
	}
	return text(res)
}

func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// TestMCPTools calls every tool over in-memory transports.
func TestMCPTools(t *testing.T) {
	t.Setenv(aimx.RuntimeDirEnv, t.TempDir()) // discover_instances finds the fixture only
	f := startFixture(t, nil)
	cs := connectMCP(t, f.endpoint, mcpOptions{allowWrite: true})
	if got := toolNames(t, cs); !slices.Equal(got, allTools) {
		t.Errorf("tools = %v, want %v", got, allTools)
	}
	called := map[string]bool{}
	defer func() {
		for _, name := range allTools {
			if !called[name] {
				t.Errorf("tool %s was not called", name)
			}
		}
	}()
	call := func(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any, out any) {
		t.Helper()
		called[name] = true
		reflect.ValueOf(out).Elem().SetZero() // decode each result afresh
		call(t, cs, name, args, out)
	}
	// Every tool refuses an argument it does not know, and arguments of
	// the wrong type, with a tool error.
	for _, name := range allTools {
		if e := callErr(t, cs, name, map[string]any{"no_such_argument": 1}); !strings.Contains(e, "no_such_argument") {
			t.Errorf("%s with an unknown argument: %s", name, e)
		}
	}
	for name, args := range map[string]map[string]any{
		"get_record": {"record_name": 7}, "drain_record": {"record_name": "cfg", "limit": -1},
		"sample_subscription": {"pattern": "cfg", "count": "many"}, "get_buffer_metrics": {"pattern": []int{1}},
		"query_schema": {}, "get_instance_info": {"endpoint": false}, "graph": {"view": 3},
	} {
		if e := callErr(t, cs, name, args); !strings.Contains(e, "validating") {
			t.Errorf("%s(%v): %s", name, args, e)
		}
	}

	var list listRecordsOut
	call(t, cs, "list_records", nil, &list)
	if list.Count != 10 || list.Endpoint != f.endpoint || list.Records[0].Key != "calc.comfort" {
		t.Errorf("list_records = %+v", list)
	}
	i := slices.IndexFunc(list.Records, func(r recordSummary) bool { return r.Key == "calc.comfort" })
	if r := list.Records[i]; r.Origin != "join ← sensors.temp,sensors.humidity" || r.Produced != 3 || r.Buffer != "latest" || !r.RemoteAccess {
		t.Errorf("calc.comfort = %+v", r)
	}
	call(t, cs, "list_records", map[string]any{"pattern": "station.*.temperature"}, &list)
	if list.Count != 2 || list.Records[0].Key != "station.2.temperature" || list.Records[1].Key != "station.10.temperature" {
		t.Errorf("list_records station.*.temperature = %+v", list)
	}
	call(t, cs, "list_records", map[string]any{"writable_only": true}, &list)
	if list.Count != 2 {
		t.Errorf("list_records writable_only = %+v", list)
	}

	var got recordValueOut
	call(t, cs, "get_record", map[string]any{"record_name": "sensors.temp"}, &got)
	if b, _ := json.Marshal(got.Value); string(b) != `{"celsius":22}` {
		t.Errorf("get_record sensors.temp = %+v", got)
	}
	if e := callErr(t, cs, "get_record", map[string]any{"record_name": "nope"}); e != `record.get "nope": unknown record key "nope" on `+f.endpoint+` (not_found)` {
		t.Errorf("get_record nope: %s", e)
	}
	if e := callErr(t, cs, "get_record", map[string]any{}); !strings.Contains(e, "record_name") {
		t.Errorf("get_record without record_name: %s", e)
	}

	var set setRecordOut
	call(t, cs, "set_record", map[string]any{"record_name": "cfg", "value": map[string]any{"level": 5}}, &set)
	if b, _ := json.Marshal(set.Value); set.Status != "success" || string(b) != `{"level":5}` {
		t.Errorf("set_record cfg = %+v", set)
	}
	if e := callErr(t, cs, "set_record", map[string]any{"record_name": "sensors.humidity", "value": 1}); e != `record.set "sensors.humidity": refused by the policy of the server on `+f.endpoint+` (denied)` {
		t.Errorf("set_record denied: %s", e)
	}

	// drain_record keeps its cursor between calls: one connection.
	var drain drainOut
	call(t, cs, "drain_record", map[string]any{"record_name": "sensors.temp"}, &drain)
	if drain.Count != 0 {
		t.Errorf("first drain of a ring = %+v", drain)
	}
	for _, c := range []float64{1, 2, 3} {
		if err := f.temp.Produce(Temp{Celsius: c}); err != nil {
			t.Fatal(err)
		}
	}
	call(t, cs, "drain_record", map[string]any{"record_name": "sensors.temp", "limit": 2}, &drain)
	if b, _ := json.Marshal(drain.Values); drain.Count != 2 || string(b) != `[{"celsius":1},{"celsius":2}]` {
		t.Errorf("second drain = %+v", drain)
	}

	var sample sampleOut
	call(t, cs, "sample_subscription", map[string]any{"pattern": "sensors.*", "count": 2}, &sample)
	if sample.Count != 2 || sample.TimedOut || !sample.Events[0].Snapshot || sample.Events[0].Topic != "sensors.temp" || sample.Events[1].Topic != "sensors.humidity" {
		t.Errorf("sample sensors.* = %+v", sample)
	}
	start := time.Now()
	call(t, cs, "sample_subscription", map[string]any{"pattern": "station.*.temperature", "seconds": 0.2}, &sample)
	if sample.Count != 0 || !sample.TimedOut || time.Since(start) < 200*time.Millisecond {
		t.Errorf("sample of quiet records = %+v after %v", sample, time.Since(start))
	}
	if e := callErr(t, cs, "sample_subscription", map[string]any{"pattern": "nothing.#"}); !strings.Contains(e, `watch "nothing.#": no record on`) {
		t.Errorf("sample without a match: %s", e)
	}

	var g graphOut
	call(t, cs, "graph", map[string]any{"format": "mermaid"}, &g)
	if len(g.Nodes) != 10 || len(g.TopoOrder) != 10 || !strings.HasPrefix(g.Text, "flowchart LR\n") {
		t.Errorf("graph = %+v", g)
	}
	i = slices.IndexFunc(g.Nodes, func(n graphNode) bool { return n.Key == "calc.double" })
	if n := g.Nodes[i]; n.Origin != "transform" || !slices.Equal(n.Inputs, []string{"sensors.temp"}) || !slices.Equal(n.LinksOut, []string{"loop://calc/double"}) {
		t.Errorf("graph node calc.double = %+v", n)
	}
	if e := callErr(t, cs, "graph", map[string]any{"format": "svg"}); !strings.Contains(e, `format "svg"`) {
		t.Errorf("graph svg: %s", e)
	}

	var h historyOut
	call(t, cs, "query_history", map[string]any{"pattern": "sensors.temp", "since": "1754044860000"}, &h)
	if h.Total != 2 || h.Records[0].Time != "2025-08-01T10:41:00.000Z" {
		t.Errorf("query_history = %+v", h)
	}

	var health healthOut
	call(t, cs, "health", map[string]any{"interval_ms": 50}, &health)
	stale := map[string]bool{}
	for _, fd := range health.Findings {
		if fd.Kind == "stale" {
			stale[fd.Record] = true
		}
	}
	// tick produced once, the stations never: no rate to judge them by.
	if health.Records != 10 || len(stale) > 0 {
		t.Errorf("health = %+v", health)
	}

	call(t, cs, "graph", map[string]any{"view": "topo_order"}, &g)
	if len(g.Nodes) != 0 || len(g.Edges) != 0 || len(g.TopoOrder) != 10 {
		t.Errorf("graph view topo_order = %+v", g)
	}
	if e := callErr(t, cs, "graph", map[string]any{"view": "rows"}); !strings.Contains(e, `view "rows"`) {
		t.Errorf("graph view rows: %s", e)
	}

	var bm bufferMetricsOut
	call(t, cs, "get_buffer_metrics", map[string]any{"pattern": "sensors.temp"}, &bm)
	if r := bm.Records; bm.Count != 1 || r[0].Key != "sensors.temp" || r[0].Buffer != "ring(8)" || r[0].Produced != 6 || r[0].Consumed == 0 ||
		r[0].Retained != 6 || r[0].Capacity != 8 || r[0].Consumers != 1 {
		t.Errorf("get_buffer_metrics sensors.temp = %+v", bm)
	}
	call(t, cs, "get_buffer_metrics", nil, &bm)
	if bm.Count != 10 {
		t.Errorf("get_buffer_metrics = %+v", bm)
	}
	if e := callErr(t, cs, "get_buffer_metrics", map[string]any{"pattern": "nothing.#"}); !strings.Contains(e, `no record matches "nothing.#"`) {
		t.Errorf("get_buffer_metrics nothing.#: %s", e)
	}
	var sp stageProfilingOut
	call(t, cs, "get_stage_profiling", nil, &sp)
	keys := []string{}
	for _, r := range sp.Records {
		keys = append(keys, r.Key)
	}
	if want := []string{"calc.comfort", "calc.double", "sensors.temp", "tick"}; !slices.Equal(keys, want) {
		t.Errorf("get_stage_profiling records = %v, want %v", keys, want)
	}
	if r := sp.Records[1]; r.Bottleneck == nil || r.Bottleneck.StageType != "transform" || r.Stages[0].CallCount != 6 {
		t.Errorf("get_stage_profiling calc.double = %+v", r)
	}
	for _, r := range sp.Records {
		if r.Bottleneck != nil && r.Bottleneck.StageType == "source" {
			t.Errorf("get_stage_profiling %s: a source as bottleneck: %+v", r.Key, r.Bottleneck)
		}
	}

	var reset resetOut
	call(t, cs, "reset_buffer_metrics", nil, &reset)
	call(t, cs, "get_buffer_metrics", map[string]any{"pattern": "sensors.temp"}, &bm)
	if !reset.Reset || bm.Records[0].Produced != 0 {
		t.Errorf("after reset_buffer_metrics %+v: %+v", reset, bm)
	}
	call(t, cs, "reset_stage_profiling", nil, &reset)
	call(t, cs, "get_stage_profiling", map[string]any{"pattern": "calc.double"}, &sp)
	if !reset.Reset || sp.Count != 1 || sp.Records[0].Stages[0].CallCount != 0 || sp.Records[0].Bottleneck != nil {
		t.Errorf("after reset_stage_profiling %+v: %+v", reset, sp)
	}

	var schema schemaOut
	call(t, cs, "query_schema", map[string]any{"record_name": "cfg"}, &schema)
	if b, _ := json.Marshal(schema.Schema); schema.Type != "main.Level" || !schema.Writable || schema.Buffer != "latest" ||
		string(b) != `{"properties":{"level":{"type":"integer"}},"required":["level"],"type":"object"}` {
		t.Errorf("query_schema cfg = %+v, schema %s", schema, b)
	}
	call(t, cs, "query_schema", map[string]any{"record_name": "sensors.secret"}, &schema)
	if schema.Type != "string" || schema.Schema != nil {
		t.Errorf("query_schema of a record without remote access = %+v", schema)
	}
	if e := callErr(t, cs, "query_schema", map[string]any{"record_name": "nope"}); !strings.Contains(e, `unknown record key "nope"`) {
		t.Errorf("query_schema nope: %s", e)
	}

	var inst instancesOut
	call(t, cs, "discover_instances", nil, &inst)
	if inst.Count != 1 || !inst.Instances[0].Registered || inst.Instances[0].Endpoint != f.endpoint || inst.Instances[0].Records != 10 {
		t.Errorf("discover_instances = %+v", inst)
	}
	var info instanceRow
	call(t, cs, "get_instance_info", nil, &info)
	if info.Endpoint != f.endpoint || info.Records != 10 || !slices.Equal(info.WritableRecords, []string{"calc.double", "cfg", "cmd.box"}) || info.Version != aimx.Version {
		t.Errorf("get_instance_info = %+v", info)
	}
	if e := callErr(t, cs, "get_instance_info", map[string]any{"endpoint": "tcp://10.0.0.1:7433"}); !strings.Contains(e, "neither the --connect endpoint nor registered") {
		t.Errorf("get_instance_info of an arbitrary endpoint: %s", e)
	}
}

// allTools are the tools of aimdb mcp --allow-write.
var allTools = []string{"discover_instances", "drain_record", "get_buffer_metrics", "get_instance_info", "get_record", "get_stage_profiling",
	"graph", "health", "list_records", "query_history", "query_schema", "reset_buffer_metrics", "reset_stage_profiling", "sample_subscription", "set_record"}

// TestMCPResources reads every resource and gets every prompt.
func TestMCPResources(t *testing.T) {
	f := startFixture(t, nil)
	cs := connectMCP(t, f.endpoint, mcpOptions{})
	ctx := t.Context()
	res, err := cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, r := range res.Resources {
		uris = append(uris, r.URI)
	}
	slices.Sort(uris)
	if want := []string{"aimdb://graph", "aimdb://records"}; !slices.Equal(uris, want) {
		t.Errorf("resources = %v, want %v", uris, want)
	}
	tres, err := cs.ListResourceTemplates(ctx, nil)
	if err != nil || len(tres.ResourceTemplates) != 1 || tres.ResourceTemplates[0].URITemplate != "aimdb://record/{key}" {
		t.Fatalf("resource templates = %+v, %v", tres, err)
	}

	read := func(uri string, out any) {
		t.Helper()
		r, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
		if err != nil {
			t.Fatalf("read %s: %v", uri, err)
		}
		if len(r.Contents) != 1 || r.Contents[0].MIMEType != "application/json" || r.Contents[0].URI != uri {
			t.Fatalf("read %s: %+v", uri, r.Contents)
		}
		if err := json.Unmarshal([]byte(r.Contents[0].Text), out); err != nil {
			t.Fatalf("read %s: %v", uri, err)
		}
	}
	var list listRecordsOut
	read("aimdb://records", &list)
	if list.Count != 10 {
		t.Errorf("aimdb://records = %+v", list)
	}
	var g graphOut
	read("aimdb://graph", &g)
	if len(g.Nodes) != 10 || len(g.TopoOrder) != 10 {
		t.Errorf("aimdb://graph = %+v", g)
	}
	var v any
	read("aimdb://record/cfg", &v)
	if b, _ := json.Marshal(v); string(b) != `{"level":1}` {
		t.Errorf("aimdb://record/cfg = %s", b)
	}
	for _, uri := range []string{"aimdb://record/nope", "aimdb://record/"} {
		if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri}); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Errorf("read %s: %v", uri, err)
		}
	}

	pres, err := cs.ListPrompts(ctx, nil)
	if err != nil || len(pres.Prompts) != 2 {
		t.Fatalf("prompts = %+v, %v", pres, err)
	}
	for _, tc := range []struct {
		name string
		args map[string]string
		want string
	}{{"diagnose_db", nil, "Call health"}, {"explain_record", map[string]string{"key": "calc.double"}, `query_schema with record_name "calc.double"`}} {
		p, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: tc.name, Arguments: tc.args})
		if err != nil || len(p.Messages) != 1 || !strings.Contains(p.Messages[0].Content.(*mcp.TextContent).Text, tc.want) {
			t.Errorf("prompt %s = %+v, %v", tc.name, p, err)
		}
	}
	for _, args := range []map[string]string{nil, {"key": "nope"}} {
		if _, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "explain_record", Arguments: args}); err == nil {
			t.Errorf("explain_record %v: no error", args)
		}
	}

	// --public: the record list and values only; no graph, no prompts.
	cs = connectMCP(t, f.endpoint, mcpOptions{public: true})
	res, err = cs.ListResources(ctx, nil)
	if err != nil || len(res.Resources) != 1 || res.Resources[0].URI != "aimdb://records" {
		t.Errorf("public resources = %+v, %v", res, err)
	}
	read("aimdb://record/sensors.humidity", &v)
	if p, err := cs.ListPrompts(ctx, nil); err == nil && len(p.Prompts) > 0 {
		t.Errorf("public prompts = %+v", p.Prompts)
	}
}

// TestMCPRecordErrors checks what get_record, set_record, drain_record
// and the record resource say about a record with no value yet, a value
// of the wrong type and a mailbox outside the write policy; and that
// get_record observes a mailbox without taking its command.
func TestMCPRecordErrors(t *testing.T) {
	f := startFixture(t, &aimx.ServerOptions{Policy: aimx.ReadWrite("cfg")})
	cs := connectMCP(t, f.endpoint, mcpOptions{allowWrite: true})
	if e := callErr(t, cs, "get_record", map[string]any{"record_name": "cmd.box"}); e != `record.get "cmd.box": record "cmd.box" has no value yet on `+f.endpoint+` (not_found: no_value)` {
		t.Errorf("get_record of a record with no value: %s", e)
	}
	if e := callErr(t, cs, "get_record", map[string]any{"record_name": "nope"}); e != `record.get "nope": unknown record key "nope" on `+f.endpoint+` (not_found)` {
		t.Errorf("get_record of an unknown key: %s", e)
	}
	_, err := cs.ReadResource(t.Context(), &mcp.ReadResourceParams{URI: "aimdb://record/cmd.box"})
	if err == nil || !strings.Contains(err.Error(), `record "cmd.box" has no value yet`) {
		t.Errorf("read aimdb://record/cmd.box with no value: %v", err)
	}
	var schema schemaOut
	call(t, cs, "query_schema", map[string]any{"record_name": "cmd.box"}, &schema)
	if schema.Type == "" || schema.Schema != nil {
		t.Errorf("query_schema of a record with no value = %+v", schema)
	}
	if e := callErr(t, cs, "set_record", map[string]any{"record_name": "cfg", "value": map[string]any{"level": "high"}}); e != `record.set "cfg": refused by the server on `+f.endpoint+` (invalid_params): the value does not decode into the record's type: json: cannot unmarshal string into Go struct field Level.level of type int` {
		t.Errorf("set_record with a value of the wrong type: %s", e)
	}

	local, err := f.cmd.Subscribe() // the actuator
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	if err := f.cmd.Produce("open"); err != nil {
		t.Fatal(err)
	}
	var got recordValueOut
	call(t, cs, "get_record", map[string]any{"record_name": "cmd.box"}, &got)
	if got.Value != "open" {
		t.Errorf("get_record cmd.box = %+v", got)
	}
	if e := callErr(t, cs, "drain_record", map[string]any{"record_name": "cmd.box"}); e != `record.drain "cmd.box": refused by the policy of the server on `+f.endpoint+` (denied): draining the mailbox takes its pending value: it needs a write policy that names "cmd.box"` {
		t.Errorf("drain_record of a mailbox outside the write policy: %s", e)
	}
	if v, err := local.TryRecv(); err != nil || v != "open" {
		t.Errorf("the in-process consumer got %q, %v; want the command", v, err)
	}
}

// TestMCPPublic checks that --public serves list_records and get_record
// only, and hides the endpoint.
func TestMCPPublic(t *testing.T) {
	f := startFixture(t, nil)
	cs := connectMCP(t, f.endpoint, mcpOptions{public: true})
	if got := toolNames(t, cs); !slices.Equal(got, []string{"get_record", "list_records"}) {
		t.Errorf("public tools = %v", got)
	}
	var list listRecordsOut
	call(t, cs, "list_records", nil, &list)
	if list.Endpoint != "" || list.Count != 10 {
		t.Errorf("public list_records = %+v", list)
	}
	if _, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "set_record", Arguments: map[string]any{"record_name": "cfg", "value": 1}}); err == nil || !strings.Contains(err.Error(), "set_record") {
		t.Errorf("set_record in public mode: %v", err)
	}
	// Without --allow-write there is no set_record, and no reset.
	cs = connectMCP(t, f.endpoint, mcpOptions{})
	want := slices.DeleteFunc(slices.Clone(allTools), func(n string) bool { return n == "set_record" || strings.HasPrefix(n, "reset_") })
	if got := toolNames(t, cs); !slices.Equal(got, want) {
		t.Errorf("tools without --allow-write = %v, want %v", got, want)
	}
}

// TestMCPCannotConnect checks the tool error when the DB is not there.
func TestMCPCannotConnect(t *testing.T) {
	cs := connectMCP(t, "tcp://127.0.0.1:1", mcpOptions{})
	if e := callErr(t, cs, "list_records", nil); !strings.HasPrefix(e, "cannot connect to tcp://127.0.0.1:1: ") {
		t.Errorf("list_records without a DB: %s", e)
	}
}

// TestDiagnose checks each finding of the health tool.
func TestDiagnose(t *testing.T) {
	now := time.UnixMilli(1754045000000)
	row := func(key, origin string, produced, dropped uint64) aimx.RecordInfo {
		return aimx.RecordInfo{RecordKey: key, Origin: json.RawMessage(origin), BufferType: "spmc_ring", BufferCapacity: 4, ProducedCount: produced, DroppedCount: dropped}
	}
	before := []aimx.RecordInfo{
		row("a.idle", `"source"`, 5, 0),
		row("b.cfg", `"passive"`, 1, 0),
		row("c.old", `"source"`, 10, 0),
		row("d.fresh", `"source"`, 7, 0),
		row("e.drop", `"source"`, 10, 2),
		row("f.lag", `"source"`, 10, 2),
		row("g.stage", `{"transform":{"input":"a.idle"}}`, 1, 0),
		row("h.link", `{"link":{"protocol":"mqtt","address":"mqtt://s/1"}}`, 1, 0),
		row("i.stuck", `{"transform":{"input":"e.drop"}}`, 1000, 0),
		row("j.idle", `{"transform_join":{"inputs":["a.idle","b.cfg"]}}`, 3, 0),
		row("k.route", `{"link":{"protocol":"mqtt","address":"mqtt://s/+"}}`, 0, 0),
		row("l.quiet", `{"link":{"protocol":"mqtt","address":"mqtt://s/2"}}`, 0, 0),
		row("m.gone", `{"link":{"protocol":"mqtt","address":"mqtt://s/3"}}`, 500, 0),
		row("n.cmd", `{"link":{"protocol":"mqtt","address":"mqtt://s/cmd"}}`, 500, 0),
		row("o.cfg", `"passive"`, 500, 0),
		row("p.once", `"source"`, 1, 0),
		row("q.filter", `{"transform":{"input":"e.drop"}}`, 3, 0),
	}
	// A source's profile is the interval between its values: 50ms here,
	// not slow, and its rate.
	before[0].StageProfiling = []aimdb.StageProfile{{StageType: "source", CallCount: 5, AvgTimeNs: 50e6, MaxTimeNs: 80e6, Running: true}}
	before[10].Links = []aimdb.LinkMetadata{{Direction: "in", Address: "mqtt://s/+", State: "connected", Connected: true, Received: 4}}
	before[13].BufferType = "mailbox" // commands come when they come
	after := slices.Clone(before)
	after[4].ProducedCount = 11
	after[5].ProducedCount, after[5].DroppedCount = 20, 7
	after[6].ProducedCount = 2
	after[6].StageProfiling = []aimdb.StageProfile{{StageType: "transform", Index: 0, CallCount: 4, AvgTimeNs: 25e6, MaxTimeNs: 80e6, ErrorCount: 2, RestartCount: 2, LastError: "boom"}}
	after[7].ProducedCount = 2
	after[7].Links = []aimdb.LinkMetadata{{Direction: "in", Protocol: "mqtt", Address: "mqtt://s/1", State: "disconnected", LastError: "connection refused", DecodeErrors: 3}}
	after[10].Links = []aimdb.LinkMetadata{{Direction: "in", Address: "mqtt://s/+", State: "connected", Connected: true, Received: 9}}
	hourAgo := json.RawMessage(`{"timestamp":1754041400000}`)
	values := map[string]json.RawMessage{
		"c.old":   json.RawMessage(`{"timestamp":1754044000000}`),
		"d.fresh": json.RawMessage(`{"timestamp":1754044999000}`),
		"n.cmd":   hourAgo, "o.cfg": hourAgo, "p.once": hourAgo,
	}
	p := healthParams{now: now, interval: time.Second, uptime: 10 * time.Second, slow: 10 * time.Millisecond}
	got := diagnose(before, after, values, p)
	want := []finding{
		{"link_disconnected", "h.link", "in link mqtt://s/1 is disconnected: connection refused"},
		{"stage_errors", "g.stage", "transform 0 failed 2 time(s), restarted 2 time(s); last error: boom"},
		{"lagging", "f.lag", "readers missed 5 value(s) in the last 1s: a reader is slower than the producer (ring(4))"},
		{"dropped", "e.drop", "readers missed 2 value(s) in total, none in the last 1s"},
		{"stale", "a.idle", "produced count stayed at 5 for 1s, more than 10 × its mean interval of 50ms, although its source should write it"},
		{"stale", "c.old", "newest value is 16m40s old (timestamp 2025-08-01T10:26:40Z), older than 10s (10 × its mean interval of 1s)"},
		{"stale", "i.stuck", "produced count stayed at 1000 for 1s, more than 10 × its mean interval of 10ms, while its input e.drop produced 1 value(s)"},
		{"stale", "m.gone", "produced count stayed at 500 for 1s, more than 10 × its mean interval of 20ms, and its link mqtt://s/3 received nothing"},
		{"stale", "p.once", "newest value is 1h0m0s old (timestamp 2025-08-01T09:43:20Z), older than 5m0s (its rate is unknown)"},
		{"slow_stage", "g.stage", "transform 0 averages 25ms per call over 4 call(s) (max 80ms)"},
		{"link_decode_errors", "h.link", "3 message(s) from mqtt://s/1 did not decode and were not stored"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n%v\nwant:\n%v", got, want)
	}
	out := healthOut{Records: 17, IntervalMs: 1000, Findings: got}
	if s := summarize(out); s != "17 record(s) checked over 1000ms: 11 finding(s): 1 link_disconnected, 1 stage_errors, 1 lagging, 1 dropped, 5 stale, 1 slow_stage, 1 link_decode_errors" {
		t.Errorf("summary = %s", s)
	}

	// stale_after_s is a fixed threshold for timestamps.
	p.staleAfter = 20 * time.Minute
	got = slices.DeleteFunc(diagnose(before, after, values, p), func(f finding) bool {
		return f.Kind != "stale" || f.Record == "a.idle" || f.Record == "i.stuck" || f.Record == "m.gone"
	})
	if want := []finding{{"stale", "p.once", "newest value is 1h0m0s old (timestamp 2025-08-01T09:43:20Z), older than 20m0s (stale_after_s)"}}; !slices.Equal(got, want) {
		t.Errorf("with stale_after_s 1200: %v, want %v", got, want)
	}
}

// TestMCPStdio runs the built binary as an MCP server over stdio.
func TestMCPStdio(t *testing.T) {
	bin := buildBinary(t)
	f := startFixture(t, nil)
	for _, tc := range []struct {
		flags []string
		tools int
	}{{[]string{"--allow-write"}, 15}, {[]string{"--public"}, 2}} {
		cmd := exec.Command(bin, append([]string{"--connect", f.endpoint, "mcp"}, tc.flags...)...)
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "aimdb-test", Version: "v0"}, nil).Connect(t.Context(), &mcp.CommandTransport{Command: cmd}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := toolNames(t, cs); len(got) != tc.tools {
			t.Errorf("%v: tools %v", tc.flags, got)
		}
		var got recordValueOut
		call(t, cs, "get_record", map[string]any{"record_name": "cfg"}, &got)
		if b, _ := json.Marshal(got.Value); string(b) != `{"level":1}` {
			t.Errorf("%v: get_record cfg = %+v", tc.flags, got)
		}
		if err := cs.Close(); err != nil {
			t.Errorf("%v: close: %v", tc.flags, err)
		}
		if code := cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("%v: exit %d", tc.flags, code)
		}
	}
}

// TestMCPHTTP serves streamable HTTP in-process and lists the tools.
func TestMCPHTTP(t *testing.T) {
	f := startFixture(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--connect", f.endpoint, "mcp", "--http", "127.0.0.1:0"}, &stdout, &stderr, func(string) string { return "" })
	}()
	urlRE := regexp.MustCompile(`http://127\.0\.0\.1:\d+/`)
	waitFor(t, "the HTTP address", func() bool { return urlRE.MatchString(stderr.String()) })
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "aimdb-test", Version: "v0"}, nil).Connect(ctx,
		&mcp.StreamableClientTransport{Endpoint: urlRE.FindString(stderr.String()), HTTPClient: hc, DisableStandaloneSSE: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := toolNames(t, cs); len(got) != 12 {
		t.Errorf("tools over HTTP = %v", got)
	}
	var list listRecordsOut
	call(t, cs, "list_records", nil, &list)
	if list.Count != 10 {
		t.Errorf("list_records over HTTP = %+v", list)
	}
	cs.Close()
	cancel()
	if code := <-done; code != 0 || stdout.String() != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

// TestNoCounters checks rows from a server that sends no counters
// (AimDB without observability): no staleness is guessed, and the table
// shows "-".
func TestNoCounters(t *testing.T) {
	rows := []aimx.RecordInfo{{RecordKey: "a", Origin: json.RawMessage(`"source"`), BufferType: "single_latest", ProducerCount: 1}}
	if fs := diagnose(rows, rows, nil, healthParams{now: time.Now(), interval: time.Second, uptime: time.Hour, slow: time.Millisecond}); len(fs) != 0 {
		t.Errorf("findings without counters: %v", fs)
	}
	var b strings.Builder
	recordTable(rows).write(&b)
	if want := "KEY  TYPE  BUFFER  ORIGIN  PROD/CONS  PRODUCED/DROPPED  WRITABLE\na          latest  source  1/0        -                 -\n"; b.String() != want {
		t.Errorf("table:\n%q\nwant:\n%q", b.String(), want)
	}
}
