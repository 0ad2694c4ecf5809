//go:build !tinygo

package aimdb_test

// funcIntString is how fmt's %T names a func(int) string.
const funcIntString = "func(int) string"
