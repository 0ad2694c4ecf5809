package lite

import (
	"strconv"
	"unicode/utf8"
)

// The JSON of requests is read by hand: a frame is one object whose
// members are strings, numbers and objects, and encoding/json would cost
// a microcontroller more flash than the whole server.

// members calls fn with each member of the JSON object b, its key
// unquoted and its value verbatim, until fn returns false. It reports
// false for b that is not exactly one well-formed object.
func members(b []byte, fn func(key string, val []byte) bool) bool {
	i := skipSpace(b, 0)
	if i == len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipSpace(b, i+1) == len(b)
	}
	for {
		end, ok := skipValue(b, i)
		if !ok || b[i] != '"' {
			return false
		}
		key, ok := str(b[i:end])
		if !ok {
			return false
		}
		i = skipSpace(b, end)
		if i == len(b) || b[i] != ':' {
			return false
		}
		i = skipSpace(b, i+1)
		end, ok = skipValue(b, i)
		if !ok || !fn(key, b[i:end]) {
			return false
		}
		i = skipSpace(b, end)
		if i == len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return skipSpace(b, i+1) == len(b)
		default:
			return false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value at b[i:]. Strings and
// nesting are checked; numbers and literals are taken as runs of their
// characters and checked by whoever reads them.
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; {
	case c == '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1, true
			}
		}
		return len(b), false
	case c == '{' || c == '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, ok := skipValue(b, j)
				if !ok {
					return end, false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1, true
				}
			}
		}
		return len(b), false
	default:
		j := i
		for j < len(b) && (b[j] == '-' || b[j] == '+' || b[j] == '.' || '0' <= b[j] && b[j] <= '9' || 'a' <= b[j] && b[j] <= 'z' || 'A' <= b[j] && b[j] <= 'Z') {
			j++
		}
		return j, j > i
	}
}

// str unquotes the JSON string v; ok is false if v is not one.
func str(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	v = v[1 : len(v)-1]
	plain := true
	for _, c := range v {
		if c == '\\' || c == '"' || c < 0x20 {
			plain = false
			break
		}
	}
	if plain {
		return string(v), utf8.Valid(v)
	}
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '"' || c < 0x20 {
			return "", false
		}
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i++; i == len(v) {
			return "", false
		}
		switch v[i] {
		case '"', '\\', '/':
			out = append(out, v[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(v, i+1)
			if !ok {
				return "", false
			}
			i += 4
			if 0xD800 <= r && r < 0xDC00 && i+6 < len(v) && v[i+1] == '\\' && v[i+2] == 'u' {
				if r2, ok := hex4(v, i+3); ok && 0xDC00 <= r2 && r2 < 0xE000 {
					r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
					i += 6
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	return string(out), utf8.Valid(out)
}

func hex4(v []byte, i int) (rune, bool) {
	if i+4 > len(v) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(v[i:i+4]), 16, 32)
	return rune(n), err == nil
}

// appendString appends s as a JSON string.
func appendString(o []byte, s string) []byte {
	const hex = "0123456789abcdef"
	o = append(o, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			o = append(o, '\\', c)
		case c < 0x20:
			o = append(o, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		default:
			o = append(o, c)
		}
	}
	return append(o, '"')
}
