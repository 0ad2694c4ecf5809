//go:build baremetal

package aimdb

// persistence says whether records can have persisters on this target.
// A bare-metal program has no store for package persist to write to,
// and the restore machinery would cost flash every program pays for:
// Persist reports a configuration mistake instead (see
// docs/PLATFORMS.md).
const persistence = false
