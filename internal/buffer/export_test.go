package buffer

// Mod exposes the ring's division-free modulo to tests.
func Mod(d, p uint64) uint64 { return newDivisor(d).mod(p) }
