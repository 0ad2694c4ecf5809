//go:build !tinygo

package buffertest

import (
	"testing"
	"testing/synctest"
)

// bubble runs f in a synctest bubble, and settle returns once every other
// goroutine in the bubble is durably blocked, so a Recv started before
// settle has parked by the time it returns. TinyGo has no testing/synctest;
// bubble_tinygo.go is its stand-in.
func bubble(t *testing.T, f func(*testing.T)) { synctest.Test(t, f) }

func settle() { synctest.Wait() }
