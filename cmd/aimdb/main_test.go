package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/aimdb-go/aimdb/aimx"
)

func TestMain(m *testing.M) {
	// Servers register in the runtime directory; keep the tests' servers
	// (and the binaries the tests run) out of the user's.
	dir, err := os.MkdirTemp("", "aimdb-runtime-")
	if err != nil {
		panic(err)
	}
	os.Setenv(aimx.RuntimeDirEnv, dir)
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		os.RemoveAll(dir)
		os.Exit(code)
	}))
}
