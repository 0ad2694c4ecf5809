package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// rawMCP is the built binary serving MCP over stdio, driven line by
// line.
type rawMCP struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string // the lines of stdout; closed at its end
}

func startRawMCP(t *testing.T, bin, endpoint string) *rawMCP {
	t.Helper()
	cmd := exec.Command(bin, "--connect", endpoint, "mcp", "--allow-write")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &rawMCP{cmd: cmd, in: in, lines: make(chan string)}
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(r.lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			r.lines <- sc.Text()
		}
	})
	t.Cleanup(func() {
		r.in.Close()
		cmd.Process.Kill()
		for range r.lines {
		}
		wg.Wait()
		cmd.Wait()
		if t.Failed() {
			t.Logf("stderr: %s", stderr.String())
		}
	})
	return r
}

// send writes one line.
func (r *rawMCP) send(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(r.in, line+"\n"); err != nil {
		t.Fatalf("writing %s: %v", line, err)
	}
}

// roundTrip writes one line and returns the next line of output.
func (r *rawMCP) roundTrip(t *testing.T, line string) string {
	t.Helper()
	r.send(t, line)
	select {
	case reply, ok := <-r.lines:
		if !ok {
			t.Fatalf("after %s: the server ended its output", line)
		}
		return reply
	case <-time.After(10 * time.Second):
		t.Fatalf("after %s: no reply", line)
	}
	return ""
}

// rpcReply is a JSON-RPC response, its id kept as sent.
type rpcReply struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   *struct {
		Code    int64  `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func decodeReply(t *testing.T, line string) rpcReply {
	t.Helper()
	var r rpcReply
	if err := json.Unmarshal([]byte(line), &r); err != nil || r.JSONRPC != "2.0" {
		t.Fatalf("reply %s: %v", line, err)
	}
	return r
}

// TestMCPStdioMalformed writes malformed lines to the built binary's
// stdin: each gets a JSON-RPC error, with the id as sent when it has
// one, and the server keeps serving.
func TestMCPStdioMalformed(t *testing.T) {
	bin := buildBinary(t)
	f := startFixture(t, nil)
	r := startRawMCP(t, bin, f.endpoint)
	const (
		parse   = -32700
		invalid = -32600
	)
	for _, tc := range []struct {
		line string
		code int64
		id   string
	}{
		{`not json`, parse, "null"},
		{`{"jsonrpc":"2.0","id":1,"method":"ping"`, parse, "null"},
		{`{"jsonrpc":"2.0","id":1,"method":"ping"} {"jsonrpc":"2.0","id":2,"method":"ping"}`, parse, "null"},
		{`{}`, invalid, "null"},
		{`null`, invalid, "null"},
		{`"ping"`, invalid, "null"},
		{`[]`, invalid, "null"},
		{`[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, invalid, "null"},
		{`{"jsonrpc":"1.0","id":2,"method":"ping"}`, invalid, "2"},
		{`{"id":3,"method":"ping"}`, invalid, "3"},
		{`{"jsonrpc":"2.0","id":"s","method":7}`, invalid, `"s"`},
		{`{"jsonrpc":"2.0","id":{"n":1},"method":"ping"}`, invalid, "null"},
		{`{"jsonrpc":"2.0","id":true,"method":"ping"}`, invalid, "null"},
		// Ids the SDK would carry as float64 are refused with the id as
		// sent, never answered with a wrapped or rounded one.
		{`{"jsonrpc":"2.0","id":9223372036854775808,"method":"ping"}`, invalid, "9223372036854775808"},
		{`{"jsonrpc":"2.0","id":-9223372036854775809,"method":"ping"}`, invalid, "-9223372036854775809"},
		{`{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}`, invalid, "9007199254740993"},
		{`{"jsonrpc":"2.0","id":1.5,"method":"ping"}`, invalid, "1.5"},
		{`{"jsonrpc":"2.0","result":{}}`, invalid, "null"},
	} {
		got := decodeReply(t, r.roundTrip(t, tc.line))
		if got.Error == nil || got.Error.Code != tc.code || string(got.ID) != tc.id ||
			tc.code == parse && got.Error.Message != "Parse error" || tc.code == invalid && !strings.HasPrefix(got.Error.Message, "Invalid Request") {
			t.Errorf("%s: reply id %s, error %+v; want id %s, code %d", tc.line, got.ID, got.Error, tc.id, tc.code)
		}
	}
	// Blank lines are skipped.
	r.send(t, "")
	r.send(t, " \r")

	// The session goes on: the largest exact id, then a whole handshake.
	if got := decodeReply(t, r.roundTrip(t, `{"jsonrpc":"2.0","id":9007199254740992,"method":"ping"}`)); string(got.ID) != "9007199254740992" || got.Error != nil {
		t.Errorf("ping with id 2^53: %+v", got)
	}
	init := decodeReply(t, r.roundTrip(t, `{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}`))
	var info struct {
		ServerInfo mcp.Implementation `json:"serverInfo"`
	}
	if json.Unmarshal(init.Result, &info) != nil || string(init.ID) != `"init"` || info.ServerInfo.Name != "aimdb" {
		t.Fatalf("initialize: %+v %s", init, init.Result)
	}
	r.send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	if got := decodeReply(t, r.roundTrip(t, `[{"jsonrpc":"2.0","id":4,"method":"tools/list"}]`)); got.Error == nil || got.Error.Code != invalid {
		t.Errorf("batch after initialize: %+v", got)
	}
	list := decodeReply(t, r.roundTrip(t, `{"jsonrpc":"2.0","id":5,"method":"tools/list"}`))
	var tools struct {
		Tools []mcp.Tool `json:"tools"`
	}
	if json.Unmarshal(list.Result, &tools) != nil || string(list.ID) != "5" || len(tools.Tools) != len(allTools) {
		t.Errorf("tools/list: %+v", list)
	}

	// The end of stdin ends the server, with status 0.
	r.in.Close()
	for range r.lines {
	}
	if err := r.cmd.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
}

// TestLineFilterLongLine checks that a line over the limit is answered
// and dropped, and the next line passes.
func TestLineFilterLongLine(t *testing.T) {
	valid := `{"jsonrpc":"2.0","id":1,"method":"ping"}`
	in := strings.Repeat("x", 100) + "\n" + valid + "\r\n"
	var out bytes.Buffer
	f := &lineFilter{rc: io.NopCloser(nil), r: bufio.NewReaderSize(strings.NewReader(in), 16), out: &out, max: 64}
	got, err := io.ReadAll(f)
	if err != nil || string(got) != valid+"\n" {
		t.Errorf("passed %q, %v; want %q", got, err, valid+"\n")
	}
	if want := `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request: a line longer than 64 bytes"}}` + "\n"; out.String() != want {
		t.Errorf("replied %q, want %q", out.String(), want)
	}
}

// FuzzCheckLine checks that every line checkLine passes decodes in the
// SDK, with an integer id that survives as sent.
func FuzzCheckLine(f *testing.F) {
	for _, s := range []string{`{"jsonrpc":"2.0","id":1,"method":"ping"}`, `{"jsonrpc":"2.0","id":9007199254740993,"method":"x"}`,
		`{"jsonrpc":"2.0","id":"a","result":{}}`, `[{}]`, `null`, `{"jsonrpc":"2.0","method":"n"}`, `{"jsonrpc":"2.0","id":-0,"method":"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			return
		}
		id, code, msg := checkLine(line)
		if code != 0 {
			if !json.Valid(id) || msg == "" {
				t.Errorf("%q: reply id %q, message %q", line, id, msg)
			}
			return
		}
		m, err := jsonrpc.DecodeMessage(line)
		if err != nil {
			t.Fatalf("%q passed but does not decode: %v", line, err)
		}
		var sent map[string]json.RawMessage // keys match exactly, as in the SDK
		json.Unmarshal(line, &sent)
		var got jsonrpc.ID
		switch m := m.(type) {
		case *jsonrpc.Request:
			got = m.ID
		case *jsonrpc.Response:
			got = m.ID
		}
		if n, ok := got.Raw().(int64); ok {
			var want json.Number
			if json.Unmarshal(sent["id"], &want) != nil || want.String() != fmt.Sprint(n) && !(n == 0 && want.String() == "-0") {
				t.Errorf("%q: id %s comes back as %d", line, sent["id"], n)
			}
		}
	})
}

// TestMCPStdioOversizeValue sets a value too big for one AimX frame
// through the built binary: that call fails with a tool error naming the
// limit, and the shared connection stays up under the other calls (a
// drain cursor survives, a sample in flight completes).
func TestMCPStdioOversizeValue(t *testing.T) {
	bin := buildBinary(t)
	f := startFixture(t, nil)
	cmd := exec.Command(bin, "--connect", f.endpoint, "mcp", "--allow-write")
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "aimdb-test", Version: "v0"}, nil).Connect(t.Context(), &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()

	var drain drainOut
	call(t, cs, "drain_record", map[string]any{"record_name": "sensors.temp"}, &drain) // opens the cursor
	var sample sampleOut
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		// Not call: t.Fatal must not run outside the test goroutine.
		res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "sample_subscription", Arguments: map[string]any{"pattern": "cfg", "count": 2, "seconds": 10}})
		if err != nil || res.IsError {
			t.Errorf("sample_subscription: %v %v", err, res)
			return
		}
		b, _ := json.Marshal(res.StructuredContent)
		json.Unmarshal(b, &sample)
	}()

	huge := strings.Repeat("x", 70_000)
	if e := callErr(t, cs, "set_record", map[string]any{"record_name": "cmd.box", "value": huge}); !strings.Contains(e, "record.set: request of 700") || !strings.HasSuffix(e, " bytes exceeds the 64 KiB frame limit") {
		t.Errorf("set_record of 70 000 bytes: %s", e)
	}

	// The sample reads cfg's value, then an update: write until it ends.
	for level := 9; ; level++ {
		var set setRecordOut
		call(t, cs, "set_record", map[string]any{"record_name": "cfg", "value": map[string]any{"level": level}}, &set)
		select {
		case <-time.After(20 * time.Millisecond):
			continue
		case <-sampled:
		}
		break
	}
	if sample.Count != 2 || sample.TimedOut {
		t.Errorf("sample in flight = %+v", sample)
	}
	if err := f.temp.Produce(Temp{Celsius: 30}); err != nil {
		t.Fatal(err)
	}
	call(t, cs, "drain_record", map[string]any{"record_name": "sensors.temp"}, &drain)
	if b, _ := json.Marshal(drain.Values); drain.Count != 1 || string(b) != `[{"celsius":30}]` {
		t.Errorf("drain after the refused set: %+v (a new connection loses the cursor)", drain)
	}
}
