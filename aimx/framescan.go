package aimx

import (
	"bytes"
	"encoding/json"
	"strings"
)

var litTrue, litFalse, litNull = []byte("true"), []byte("false"), []byte("null")

// wireFields are a frame's fields as received, with the presence of each
// field that may be absent.
type wireFields struct {
	t, method, topic, sub, err     string
	reason, message                string // of an error reply; absent is ""
	id, seq                        uint64
	last                           bool
	params, payload, data, ok      json.RawMessage
	hasT, hasID, hasSeq, hasMethod bool
	hasTopic, hasSub, hasErr       bool
}

// wireFrame is the decoding shape of encoding/json: pointers tell absent
// fields from zero values.
type wireFrame struct {
	T       *string         `json:"t"`
	ID      *uint64         `json:"id"`
	Seq     *uint64         `json:"seq"`
	Last    bool            `json:"last"`
	Method  *string         `json:"method"`
	Topic   *string         `json:"topic"`
	Sub     *string         `json:"sub"`
	Params  json.RawMessage `json:"params"`
	Payload json.RawMessage `json:"payload"`
	Data    json.RawMessage `json:"data"`
	OK      json.RawMessage `json:"ok"`
	Err     *string         `json:"err"`
	Reason  string          `json:"reason"`
	Message string          `json:"message"`
}

// unmarshal decodes b with encoding/json: the reference behaviour, for
// every frame scan declines.
func (w *wireFields) unmarshal(b []byte) error {
	var f wireFrame
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	str := func(p *string, v *string, has *bool) {
		if p != nil {
			*v, *has = *p, true
		}
	}
	str(f.T, &w.t, &w.hasT)
	str(f.Method, &w.method, &w.hasMethod)
	str(f.Topic, &w.topic, &w.hasTopic)
	str(f.Sub, &w.sub, &w.hasSub)
	str(f.Err, &w.err, &w.hasErr)
	if f.ID != nil {
		w.id, w.hasID = *f.ID, true
	}
	if f.Seq != nil {
		w.seq, w.hasSeq = *f.Seq, true
	}
	w.last = f.Last
	w.reason, w.message = f.Reason, f.Message
	w.params, w.payload, w.data, w.ok = f.Params, f.Payload, f.Data, f.OK
	return nil
}

// scan decodes the frames peers send, without reflection: one flat
// object whose strings are plain ASCII. It reports false, having decoded
// part of b or nothing, for anything else (escapes, non-ASCII strings,
// null values, a key that matches a field's name only when case is
// ignored, invalid JSON), which encoding/json then decodes with its exact
// rules. Raw values are checked with json.Valid and copied. Strings come
// from in when it is not nil.
func (w *wireFields) scan(b []byte, in *interner) bool {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipWS(b, i+1) == len(b)
	}
	for {
		key, j, ok := plainString(b, i)
		if !ok {
			return false
		}
		i = skipWS(b, j)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipWS(b, i+1)
		if i >= len(b) || b[i] == 'n' { // null: encoding/json's rules
			return false
		}
		switch string(key) {
		case "t":
			s, j, ok := plainString(b, i)
			if !ok {
				return false
			}
			w.t, w.hasT, i = tagName(s), true, j
		case "method", "topic", "sub", "err":
			s, j, ok := plainString(b, i)
			if !ok {
				return false
			}
			v := in.str(s)
			switch string(key) {
			case "method":
				w.method, w.hasMethod = v, true
			case "topic":
				w.topic, w.hasTopic = v, true
			case "sub":
				w.sub, w.hasSub = v, true
			default:
				w.err, w.hasErr = v, true
			}
			i = j
		case "reason", "message":
			s, j, ok := plainString(b, i)
			if !ok {
				return false
			}
			if key[0] == 'r' {
				w.reason = in.str(s)
			} else {
				w.message = string(s) // free text: not interned
			}
			i = j
		case "id", "seq":
			n, j, ok := plainUint(b, i)
			if !ok {
				return false
			}
			if key[0] == 'i' {
				w.id, w.hasID = n, true
			} else {
				w.seq, w.hasSeq = n, true
			}
			i = j
		case "last":
			switch {
			case bytes.HasPrefix(b[i:], litTrue):
				w.last, i = true, i+4
			case bytes.HasPrefix(b[i:], litFalse):
				w.last, i = false, i+5
			default:
				return false
			}
		case "params", "payload", "data", "ok":
			j, ok := skipValue(b, i)
			if !ok {
				return false
			}
			v := json.RawMessage(append([]byte(nil), b[i:j]...))
			switch string(key) {
			case "params":
				w.params = v
			case "payload":
				w.payload = v
			case "data":
				w.data = v
			default:
				w.ok = v
			}
			i = j
		default:
			if foldsToField(key) {
				return false
			}
			j, ok := skipValue(b, i)
			if !ok {
				return false
			}
			i = j
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return skipWS(b, i+1) == len(b)
		default:
			return false
		}
	}
}

// fieldNames are the keys of wireFrame.
var fieldNames = [...]string{"t", "id", "seq", "last", "method", "topic", "sub", "params", "payload", "data", "ok", "err", "reason", "message"}

// foldsToField reports whether key names a field when case is ignored, as
// encoding/json matches keys.
func foldsToField(key []byte) bool {
	for _, n := range fieldNames {
		if strings.EqualFold(string(key), n) {
			return true
		}
	}
	return false
}

// tagName returns the constant of a known tag, so that parsing one does
// not allocate.
func tagName(s []byte) string {
	switch string(s) {
	case TagReq:
		return TagReq
	case TagReply:
		return TagReply
	case TagSub:
		return TagSub
	case TagSubscribed:
		return TagSubscribed
	case TagUnsub:
		return TagUnsub
	case TagEvent:
		return TagEvent
	case TagSnap:
		return TagSnap
	case TagWrite:
		return TagWrite
	case TagPing:
		return TagPing
	case TagPong:
		return TagPong
	}
	return string(s)
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString returns the contents of the JSON string at b[i] and the
// index after it, if it holds only printable ASCII without escapes.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// plainUint returns the JSON number at b[i] and the index after it, if it
// is an integer that fits a uint64.
func plainUint(b []byte, i int) (uint64, int, bool) {
	j := i
	var n uint64
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		d := uint64(b[j] - '0')
		if n > (1<<64-1-d)/10 {
			return 0, 0, false
		}
		n = n*10 + d
		j++
	}
	if j == i || b[i] == '0' && j > i+1 {
		return 0, 0, false
	}
	if j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E') {
		return 0, 0, false
	}
	return n, j, true
}

// skipValue returns the index after the JSON value at b[i], if it is
// valid.
func skipValue(b []byte, i int) (int, bool) {
	if end, _, ok := fastValue(b, i); ok {
		return end, true
	}
	j := i
	switch b[j] {
	case '{', '[':
		depth := 0
		for ; j < len(b); j++ {
			switch b[j] {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			case '"':
				k, ok := stringEnd(b, j)
				if !ok {
					return 0, false
				}
				j = k - 1
			}
			if depth == 0 {
				j++
				break
			}
		}
		if depth != 0 {
			return 0, false
		}
	case '"':
		k, ok := stringEnd(b, j)
		if !ok {
			return 0, false
		}
		j = k
	default:
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' &&
			b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
			j++
		}
	}
	if !json.Valid(b[i:j]) {
		return 0, false
	}
	return j, true
}

// stringEnd returns the index after the JSON string at b[i].
func stringEnd(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

// An interner hands out one string per distinct value, so that a client
// that parses the same sub ids and topics over and over does not
// allocate them each time. Its zero value is ready to use; a nil
// interner allocates each string.
type interner struct {
	m map[string]string
}

// internMax bounds an interner; when full, it starts over.
const internMax = 1024

// internLen is the longest string an interner keeps.
const internLen = 256

func (in *interner) str(b []byte) string {
	if in == nil || len(b) > internLen {
		return string(b)
	}
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	if in.m == nil || len(in.m) >= internMax {
		in.m = make(map[string]string)
	}
	s := string(b)
	in.m[s] = s
	return s
}

// maxFastDepth is the deepest nesting fastValue follows; deeper values
// are left to encoding/json.
const maxFastDepth = 64

// fastValue returns the index after the JSON value that starts at b[i],
// and whether it saw a line break (in white space: strings cannot hold
// one). It validates as json.Valid does, in one pass without the state
// machine; ok false means invalid or too deep to say, and the caller asks
// encoding/json.
func fastValue(b []byte, i int) (end int, lineBreak, ok bool) {
	var stack [maxFastDepth]byte // '{' or '[' of each open container
	depth := 0
	ws := func() {
		for i < len(b) {
			switch b[i] {
			case ' ', '\t':
			case '\n', '\r':
				lineBreak = true
			default:
				return
			}
			i++
		}
	}
	for {
		// A value.
		if i >= len(b) {
			return 0, false, false
		}
		switch c := b[i]; {
		case c == '{' || c == '[':
			if depth == maxFastDepth {
				return 0, false, false
			}
			stack[depth] = c
			depth++
			i++
			ws()
			if i < len(b) && (c == '{' && b[i] == '}' || c == '[' && b[i] == ']') {
				depth--
				i++
				break
			}
			if c == '{' {
				if i = fastString(b, i); i < 0 {
					return 0, false, false
				}
				ws()
				if i >= len(b) || b[i] != ':' {
					return 0, false, false
				}
				i++
				ws()
			}
			continue // the first member's value
		case c == '"':
			if i = fastString(b, i); i < 0 {
				return 0, false, false
			}
		case c == '-' || c >= '0' && c <= '9':
			if i = fastNumber(b, i); i < 0 {
				return 0, false, false
			}
		case c == 't' && bytes.HasPrefix(b[i:], litTrue):
			i += 4
		case c == 'f' && bytes.HasPrefix(b[i:], litFalse):
			i += 5
		case c == 'n' && bytes.HasPrefix(b[i:], litNull):
			i += 4
		default:
			return 0, false, false
		}
		// After a value: close containers, or go on to the next member.
		for {
			if depth == 0 {
				return i, lineBreak, true
			}
			ws()
			if i >= len(b) {
				return 0, false, false
			}
			open := stack[depth-1]
			if b[i] == ',' {
				i++
				ws()
				if open == '{' {
					if i = fastString(b, i); i < 0 {
						return 0, false, false
					}
					ws()
					if i >= len(b) || b[i] != ':' {
						return 0, false, false
					}
					i++
					ws()
				}
				break // the next member's value
			}
			if open == '{' && b[i] == '}' || open == '[' && b[i] == ']' {
				depth--
				i++
				continue
			}
			return 0, false, false
		}
	}
}

// fastString returns the index after the JSON string at b[i], or -1.
func fastString(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			i++
			if i >= len(b) {
				return -1
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return -1
				}
				for _, h := range b[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return -1
					}
				}
				i += 4
			default:
				return -1
			}
		}
	}
	return -1
}

// fastNumber returns the index after the JSON number at b[i], or -1.
func fastNumber(b []byte, i int) int {
	digits := func() bool {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > start
	}
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return -1
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return -1
		}
	}
	return i
}

// oneLine reports whether v is one valid JSON value, white space around
// it allowed, without a line break: what a frame can carry verbatim. False
// means no, or that encoding/json must say.
func oneLine(v []byte) bool {
	i := 0
	for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
		i++
	}
	end, lineBreak, ok := fastValue(v, i)
	if !ok || lineBreak {
		return false
	}
	for end < len(v) && (v[end] == ' ' || v[end] == '\t') {
		end++
	}
	return end == len(v)
}
