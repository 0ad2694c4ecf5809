//go:build js && wasm

package aimdb_test

import (
	"syscall/js"
	"testing"
)

// TestJSHost logs which JavaScript host runs the js/wasm tests, so the
// log of ci/targets.sh shows that the browser target ran in a browser
// and the Node.js target in Node.js.
func TestJSHost(t *testing.T) {
	if nav := js.Global().Get("navigator"); nav.Truthy() && nav.Get("userAgent").Truthy() {
		t.Logf("JS host: %s", nav.Get("userAgent").String())
		return
	}
	if p := js.Global().Get("process"); p.Truthy() {
		t.Logf("JS host: Node.js %s", p.Get("version").String())
		return
	}
	t.Error("JS host: neither a browser nor Node.js")
}
