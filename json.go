package aimdb

import (
	"strconv"
	"unicode/utf8"
)

// The core package does not import encoding/json (it must stay small and
// TinyGo-friendly), so the two externally tagged enums of AimDB's JSON
// shapes are encoded by hand here. Everything else carries json tags.

// MarshalJSON encodes o as AimDB's RecordOrigin.
func (o Origin) MarshalJSON() ([]byte, error) {
	var b []byte
	switch o.Kind {
	case "transform":
		b = append(b, `{"transform":{"input":`...)
		b = appendJSONString(b, o.Input)
		b = append(b, "}}"...)
	case "transform_join":
		b = append(b, `{"transform_join":{"inputs":[`...)
		for i, in := range o.Inputs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, in)
		}
		b = append(b, "]}}"...)
	case "link":
		b = append(b, `{"link":{"protocol":`...)
		b = appendJSONString(b, o.Protocol)
		b = append(b, `,"address":`...)
		b = appendJSONString(b, o.Address)
		b = append(b, "}}"...)
	default:
		b = appendJSONString(b, o.Kind)
	}
	return b, nil
}

// MarshalJSON encodes e as AimDB's EdgeType.
func (e EdgeType) MarshalJSON() ([]byte, error) {
	var b []byte
	switch e.Kind {
	case "tap":
		b = append(b, `{"tap":{"index":`...)
		b = strconv.AppendInt(b, int64(e.Index), 10)
		b = append(b, "}}"...)
	case "link", "link_out":
		b = append(b, '{')
		b = appendJSONString(b, e.Kind)
		b = append(b, `:{"protocol":`...)
		b = appendJSONString(b, e.Protocol)
		b = append(b, "}}"...)
	default:
		b = appendJSONString(b, e.Kind)
	}
	return b, nil
}

const hex = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaping what JSON
// requires and replacing invalid UTF-8 with U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
