package aimx

import "time"

// SetLogEvery sets how often a Server logs a warning of one kind, and
// returns a function that restores it.
func SetLogEvery(d time.Duration) (restore func()) {
	old := logEvery
	logEvery = d
	return func() { logEvery = old }
}
