//go:build !tinygo

package dashboard_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaks a goroutine. On js/wasm the
// runtime parks one goroutine of its own to deliver JavaScript callbacks
// (runtime.handleEvent); it is not a leak.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("runtime.handleEvent"))
}
