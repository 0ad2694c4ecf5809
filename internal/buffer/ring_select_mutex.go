//go:build !amd64 || race || purego

package buffer

const lockFree = false

// newLockFreeRing is not built here; NewRing never calls it.
func newLockFreeRing[T any](int) RingBuffer[T] { panic("buffer: no lock-free ring in this build") }
