package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/aimdb-go/aimdb/aimx"
)

// A table is printed with fixed-width, left-aligned columns separated by
// two spaces; columns listed in right are right-aligned.
type table struct {
	header []string
	rows   [][]string
	right  map[int]bool
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer) error {
	widths := make([]int, len(t.header))
	for _, r := range append([][]string{t.header}, t.rows...) {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for _, r := range append([][]string{t.header}, t.rows...) {
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			switch {
			case t.right[i]:
				b.WriteString(pad + c)
			case i == len(r)-1:
				b.WriteString(c) // no trailing blanks
			default:
				b.WriteString(c + pad)
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeJSON prints v as one indented JSON document.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// fileTerminal returns a probe that reports whether w is a terminal, and
// its size.
func fileTerminal(w io.Writer) func() (bool, int, int) {
	return func() (bool, int, int) {
		f, ok := w.(*os.File)
		if !ok {
			return false, 0, 0
		}
		fi, err := f.Stat()
		if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			return false, 0, 0
		}
		width, height, err := term.GetSize(int(f.Fd()))
		if err != nil || width <= 0 || height <= 0 {
			width, height = 100, 30
		}
		return true, width, height
	}
}

// truncate shortens s to at most n runes, marking the cut with "…".
func truncate(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// errorLine turns err into the one line printed after "aimdb: ". A
// server's refusal names endpoint, when it is not empty.
func errorLine(err error, endpoint string) string {
	var ae *aimx.Error
	if errors.As(err, &ae) {
		what := ae.Method
		if ae.Target != "" {
			what += " " + strconv.Quote(ae.Target)
		}
		on := ""
		if endpoint != "" {
			on = " on " + endpoint
		}
		why := ""
		if ae.Message != "" {
			why = ": " + ae.Message
		}
		switch ae.Code {
		case aimx.CodeNotFound:
			if ae.Reason == aimx.ReasonNoValue {
				return fmt.Sprintf("%s: record %q has no value yet%s (not_found: no_value)", what, ae.Target, on)
			}
			if ae.Method == "sub" || strings.HasPrefix(ae.Method, "record.") {
				return fmt.Sprintf("%s: unknown record key %q%s (not_found)", what, ae.Target, on)
			}
			return what + ": not found" + on + " (not_found)"
		case aimx.CodeDenied:
			return what + ": refused by the policy of the server" + on + " (denied)" + why
		case aimx.CodeInvalidParams:
			if why == "" {
				why = ": the params are wrong"
			}
			return what + ": refused by the server" + on + " (invalid_params)" + why
		case aimx.CodeInternal:
			if ae.Method == "record.query" {
				return what + ": the server" + on + " has no history (internal): it answers record.query only with persistence configured"
			}
			return what + ": failed on the server" + on + " (internal): the record may lack remote access, or the value did not decode"
		}
		return ae.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return strings.TrimPrefix(err.Error(), "aimx: ") + " (see --timeout)"
	}
	msg := strings.TrimPrefix(err.Error(), "aimx: ")
	return strings.ReplaceAll(msg, "\n", " ")
}
