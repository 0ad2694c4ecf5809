//go:build !tinygo

package aimdb_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaks a goroutine. goleak reads
// every goroutine's stack through runtime.Stack, which TinyGo does not
// provide, so the leak check runs on the gc targets only. On js/wasm the
// runtime parks one goroutine of its own to deliver JavaScript callbacks
// (runtime.handleEvent); it is not a leak.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("runtime.handleEvent"))
}
