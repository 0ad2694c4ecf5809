package websocket_test

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Under js/wasm the runtime parks a goroutine to deliver
		// JavaScript callbacks.
		goleak.IgnoreTopFunction("runtime.handleEvent"),
	)
}
