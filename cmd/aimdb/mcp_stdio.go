package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// mcpMaxLine bounds one line of MCP over stdio, as the SDK's
// [mcp.DefaultMaxLineLength] does.
const mcpMaxLine = mcp.DefaultMaxLineLength

// maxExactID is the largest integer id the SDK carries exactly: it
// decodes ids as float64.
const maxExactID = 1 << 53

// stdioTransport serves MCP over newline-delimited JSON-RPC on r and w,
// like [mcp.StdioTransport], except that a malformed line does not end
// the session: the SDK stops reading at the first line it cannot decode,
// so a filter in front of it answers such a line itself with a JSON-RPC
// error, -32700 (Parse error) for invalid JSON and -32600 (Invalid
// Request) for JSON that is not one message the SDK can carry exactly,
// and passes the valid lines through. The replies are written to w
// between the SDK's own, never into one.
func stdioTransport(r io.ReadCloser, w io.Writer) *mcp.IOTransport {
	out := &lockedWriter{w: w}
	return &mcp.IOTransport{
		Reader: &lineFilter{rc: r, r: bufio.NewReader(r), out: out, max: mcpMaxLine},
		Writer: out,
		// The filter bounds the lines; the SDK need not.
		MaxLineLength: -1,
	}
}

// lockedWriter serializes the writes of the SDK and of the filter. The
// SDK writes each message with one Write. Close does not close w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) Close() error { return nil }

// lineFilter reads the valid lines of r, each ending in a newline, and
// answers the others on out. Read is called by one goroutine, the
// SDK's reader.
type lineFilter struct {
	rc      io.Closer
	r       *bufio.Reader
	out     io.Writer
	max     int
	pending []byte // the rest of the current valid line
	err     error  // the error that ended r
}

func (f *lineFilter) Read(p []byte) (int, error) {
	for len(f.pending) == 0 {
		if f.err != nil {
			return 0, f.err
		}
		line, long, err := f.readLine()
		f.err = err
		line = bytes.TrimSpace(line)
		switch {
		case long:
			f.reply(json.RawMessage("null"), jsonrpc.CodeInvalidRequest, fmt.Sprintf("Invalid Request: a line longer than %d bytes", f.max))
		case len(line) == 0:
		default:
			if id, code, msg := checkLine(line); code != 0 {
				f.reply(id, code, msg)
				continue
			}
			f.pending = append(line, '\n')
		}
	}
	n := copy(p, f.pending)
	f.pending = f.pending[n:]
	return n, nil
}

func (f *lineFilter) Close() error { return f.rc.Close() }

// readLine returns the next line without its newline. long reports a
// line longer than f.max, which is read to its end and dropped.
func (f *lineFilter) readLine() (line []byte, long bool, err error) {
	for {
		chunk, err := f.r.ReadSlice('\n')
		if !long {
			if len(line)+len(chunk) > f.max+1 {
				long, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return line, long, err
	}
}

// reply writes a JSON-RPC error response for a line the SDK is not
// given.
func (f *lineFilter) reply(id json.RawMessage, code int64, msg string) {
	b, _ := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   jsonrpc.Error   `json:"error"`
	}{"2.0", id, jsonrpc.Error{Code: code, Message: msg}})
	// A failed write fails the SDK's next write too, which ends the
	// session.
	f.out.Write(append(b, '\n'))
}

// checkLine reports whether line, one line of valid or invalid JSON, is
// a message to give the SDK: code is 0 for one; otherwise the JSON-RPC
// error to answer, with the line's id when it has a usable one (else
// null).
func checkLine(line []byte) (id json.RawMessage, code int64, msg string) {
	id = json.RawMessage("null")
	if !json.Valid(line) {
		return id, jsonrpc.CodeParseError, "Parse error"
	}
	invalid := func(format string, args ...any) (json.RawMessage, int64, string) {
		return id, jsonrpc.CodeInvalidRequest, "Invalid Request: " + fmt.Sprintf(format, args...)
	}
	switch line[0] {
	case '{':
	case '[':
		return invalid("batches are not supported (MCP 2025-06-18)")
	default:
		return invalid("not a JSON object")
	}
	// Keys match exactly, as in the SDK's decoder.
	var fields map[string]json.RawMessage
	json.Unmarshal(line, &fields) // an object: valid JSON
	if raw := fields["id"]; len(raw) > 0 {
		switch raw[0] {
		case '"':
			id = raw
		case 'n':
		case '{', '[', 't', 'f':
			return invalid("id %s is neither a string nor an integer", raw)
		default:
			// An integer id must come back as sent: the SDK decodes it
			// as a float64, exact up to 2^53 only.
			id = raw
			n, err := strconv.ParseInt(string(raw), 10, 64)
			if err != nil || n > maxExactID || n < -maxExactID {
				return invalid("id %s is not an integer between -2^53 and 2^53", raw)
			}
		}
	}
	if _, err := jsonrpc.DecodeMessage(line); err != nil {
		return invalid("%v", err)
	}
	return nil, 0, ""
}
