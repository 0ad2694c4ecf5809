// Package aimx implements AimX 3.0, the remote-access protocol of AimDB:
// the frames, the framings of each transport, a server that exposes a
// DB, and a client. It is wire-compatible with AimDB's Rust tools: the
// `aimdb` CLI and MCP server of either implementation can drive the
// other's servers.
//
// A frame is one flat JSON object tagged by "t". Values (params, ok,
// payload, data) travel as raw JSON and are spliced into frames without
// being decoded and re-encoded, so numbers keep their representation.
package aimx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// The frame tags.
const (
	TagReq        = "req"        // client → server: an RPC call
	TagReply      = "reply"      // server → client: the answer to a req, or a refused sub
	TagSub        = "sub"        // client → server: open a subscription
	TagSubscribed = "subscribed" // server → client: subscription acknowledged (WebSocket only)
	TagUnsub      = "unsub"      // client → server: close a subscription
	TagEvent      = "event"      // server → client: a live update
	TagSnap       = "snap"       // server → client: a late-join snapshot
	TagWrite      = "write"      // client → server: fire-and-forget write
	TagPing       = "ping"       // client → server: keepalive
	TagPong       = "pong"       // server → client: answer to ping
)

// The error codes of a reply's "err". The first four are AimDB's;
// AimDB's decoders read any other code as "internal".
const (
	CodeNotFound        = "not_found"
	CodeDenied          = "denied"
	CodeInternal        = "internal"
	CodeVersionMismatch = "version_mismatch"
	// CodeInvalidParams refuses a request whose params are wrong: a
	// record.set value that does not decode into the record's type.
	// AimDB answers "internal" there, and its clients read this code so.
	CodeInvalidParams = "invalid_params"
)

// ReasonNoValue is the "reason" of a not_found reply to record.get for a
// record that exists but holds no value yet. AimDB's decoders ignore the
// field and see the not_found AimDB answers there.
const ReasonNoValue = "no_value"

// Version is the protocol version this package speaks.
const Version = "3.0"

// A Frame is one AimX frame. Which fields apply depends on T:
//
//	req        ID, Method, Params (nil encodes as null)
//	reply      ID, and OK or Err (with Reason and Message, optional)
//	sub        ID, Topic
//	subscribed Sub
//	unsub      Sub
//	event      Seq, Topic (optional), Sub, Data
//	snap       Seq, Last, Topic, Sub, Data
//	write      Topic, Payload
//	ping, pong nothing
//
// Params, Payload, Data and OK hold raw JSON.
type Frame struct {
	T       string
	ID      uint64
	Seq     uint64
	Last    bool
	Method  string
	Topic   string
	Sub     string
	Params  json.RawMessage
	Payload json.RawMessage
	Data    json.RawMessage
	OK      json.RawMessage
	Err     string
	Reason  string // refines Err: ReasonNoValue
	Message string // explains Err to a person: why a value did not decode
}

// ErrMalformed matches every error of ParseFrame.
var ErrMalformed = errors.New("aimx: malformed frame")

// A FrameError describes a frame that could not be parsed or encoded.
type FrameError struct {
	Reason string
}

func (e *FrameError) Error() string   { return "aimx: malformed frame: " + e.Reason }
func (e *FrameError) Is(t error) bool { return t == ErrMalformed }

func malformed(format string, args ...any) error {
	return &FrameError{Reason: fmt.Sprintf(format, args...)}
}

// ParseFrame decodes one frame. Unknown fields are ignored. It fails with
// an error matching ErrMalformed for invalid JSON, a missing or unknown
// tag, or a missing required field; peers skip such frames and keep the
// connection.
func ParseFrame(b []byte) (Frame, error) { return parseFrame(b, nil) }

// parseFrame is ParseFrame, with the strings of the frame taken from in
// when it is not nil.
func parseFrame(b []byte, in *interner) (Frame, error) {
	var w wireFields
	if !w.scan(b, in) {
		// Escapes, non-ASCII strings, null values, keys that differ from
		// a field's name only in case, errors: encoding/json decides.
		w = wireFields{}
		if err := w.unmarshal(b); err != nil {
			return Frame{}, malformed("%v", err)
		}
	}
	if !w.hasT {
		return Frame{}, malformed(`no "t"`)
	}
	f := Frame{T: w.t, Last: w.last, Params: w.params, Payload: w.payload, Data: w.data, OK: w.ok}
	need := func(ok bool, field string) error {
		if !ok {
			return malformed("%s frame without %q", f.T, field)
		}
		return nil
	}
	var err error
	switch f.T {
	case TagReq:
		err = errors.Join(need(w.hasID, "id"), need(w.hasMethod, "method"))
		if len(f.Params) == 0 {
			f.Params = json.RawMessage("null")
		}
	case TagReply:
		err = need(w.hasID, "id")
		if err == nil && len(w.ok) == 0 && !w.hasErr {
			err = malformed(`reply frame without "ok" or "err"`)
		}
		if len(w.ok) == 0 && w.hasErr {
			f.Err = w.err // "ok" wins when both are present
			f.Reason, f.Message = w.reason, w.message
		}
	case TagSub:
		err = errors.Join(need(w.hasID, "id"), need(w.hasTopic, "topic"))
	case TagSubscribed, TagUnsub:
		err = need(w.hasSub, "sub")
	case TagEvent:
		err = errors.Join(need(w.hasSeq, "seq"), need(w.hasSub, "sub"), need(len(w.data) > 0, "data"))
	case TagSnap:
		err = errors.Join(need(w.hasSeq, "seq"), need(w.hasSub, "sub"), need(w.hasTopic, "topic"), need(len(w.data) > 0, "data"))
	case TagWrite:
		err = errors.Join(need(w.hasTopic, "topic"), need(len(w.payload) > 0, "payload"))
	case TagPing, TagPong:
	default:
		return Frame{}, malformed("unknown tag %q", f.T)
	}
	if err != nil {
		return Frame{}, err
	}
	f.ID, f.Seq, f.Method, f.Topic, f.Sub = w.id, w.seq, w.method, w.topic, w.sub
	return f, nil
}

// AppendJSON appends the compact JSON encoding of f to dst, fields in
// AimDB's order (t, id, seq, last, method, topic, sub, params, payload,
// data, ok, err), then this package's reason and message, each only when
// set. Raw JSON fields must each hold one JSON value; they
// are copied verbatim, except that JSON spread over several lines is
// compacted so that a frame never contains a newline.
func (f *Frame) AppendJSON(dst []byte) ([]byte, error) {
	// Grow once for the usual frame: the raw fields plus the envelope.
	dst = slices.Grow(dst, 64+len(f.Method)+len(f.Topic)+len(f.Sub)+len(f.Err)+
		len(f.Params)+len(f.Payload)+len(f.Data)+len(f.OK))
	dst = append(dst, `{"t":`...)
	dst = appendString(dst, f.T)
	var err error
	raw := func(name string, v json.RawMessage, nullIfEmpty bool) {
		if err != nil {
			return
		}
		if len(v) == 0 {
			if !nullIfEmpty {
				err = malformed("%s frame without %q", f.T, name)
				return
			}
			v = json.RawMessage("null")
		}
		dst = append(dst, ',', '"')
		dst = append(dst, name...)
		dst = append(dst, '"', ':')
		dst, err = appendRaw(dst, v, name)
	}
	id := func() {
		dst = append(dst, `,"id":`...)
		dst = strconv.AppendUint(dst, f.ID, 10)
	}
	str := func(name, v string) {
		dst = append(dst, ',', '"')
		dst = append(dst, name...)
		dst = append(dst, '"', ':')
		dst = appendString(dst, v)
	}
	switch f.T {
	case TagReq:
		id()
		str("method", f.Method)
		raw("params", f.Params, true)
	case TagReply:
		id()
		if len(f.OK) > 0 || f.Err == "" {
			raw("ok", f.OK, true)
		} else {
			str("err", f.Err)
			if f.Reason != "" {
				str("reason", f.Reason)
			}
			if f.Message != "" {
				str("message", f.Message)
			}
		}
	case TagSub:
		id()
		str("topic", f.Topic)
	case TagSubscribed, TagUnsub:
		str("sub", f.Sub)
	case TagEvent, TagSnap:
		dst = append(dst, `,"seq":`...)
		dst = strconv.AppendUint(dst, f.Seq, 10)
		if f.T == TagSnap && f.Last {
			dst = append(dst, `,"last":true`...)
		}
		if f.Topic != "" || f.T == TagSnap {
			str("topic", f.Topic)
		}
		str("sub", f.Sub)
		raw("data", f.Data, false)
	case TagWrite:
		str("topic", f.Topic)
		raw("payload", f.Payload, false)
	case TagPing, TagPong:
	default:
		return dst, malformed("unknown tag %q", f.T)
	}
	if err != nil {
		return dst, err
	}
	return append(dst, '}'), nil
}

// appendRaw appends one raw JSON value, compacting it if it spans lines.
func appendRaw(dst []byte, v []byte, name string) ([]byte, error) {
	if oneLine(v) {
		return append(dst, v...), nil
	}
	if !json.Valid(v) {
		return dst, malformed("%q is not a single JSON value", name)
	}
	if bytes.IndexByte(v, '\n') < 0 && bytes.IndexByte(v, '\r') < 0 {
		return append(dst, v...), nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		return dst, malformed("%q: %v", name, err)
	}
	return append(dst, buf.Bytes()...), nil
}

// appendString appends s as a JSON string the way serde_json writes it:
// '"', '\\' and control characters escaped, everything else verbatim.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
