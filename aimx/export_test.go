package aimx

import "time"

// SetLogEvery sets how often a Server logs a warning of one kind, and
// returns a function that restores it.
func SetLogEvery(d time.Duration) (restore func()) {
	old := logEvery
	logEvery = d
	return func() { logEvery = old }
}

// SetFailWait sets the shortest and the longest pause before a wrong
// hello is answered, and returns a function that restores them.
func SetFailWait(lo, hi time.Duration) (restore func()) {
	oldLo, oldHi := minFailWait, maxFailWait
	minFailWait, maxFailWait = lo, hi
	return func() { minFailWait, maxFailWait = oldLo, oldHi }
}
