//go:build tinygo

package buffertest

import (
	"runtime"
	"testing"
	"time"
)

// TinyGo has no testing/synctest, so under TinyGo the cases that park a
// reader run without a bubble, and settle yields and sleeps briefly to let
// the reader park. Every such case asserts an outcome that holds whether
// or not the reader had parked in time, so this can make a case weaker but
// not flaky. The exact "parked before" ordering is proven by the same
// cases on the gc targets, where bubble.go uses synctest.
func bubble(t *testing.T, f func(*testing.T)) { f(t) }

func settle() {
	runtime.Gosched()
	time.Sleep(2 * time.Millisecond)
}
