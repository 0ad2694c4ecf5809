//go:build amd64 && !race && !purego

package buffer

// lockFree selects the lock-free ring. It relies on amd64's ordering of
// loads (a seqlock read of a plain value between two atomic loads), and it
// is hidden from the race detector, which cannot see that protocol: -race
// builds test the mutex ring instead.
const lockFree = true
