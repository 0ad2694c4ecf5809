//go:build !baremetal

package aimdb

// persistence says whether records can have persisters on this target.
const persistence = true
