//go:build tinygo

package aimdb_test

// funcIntString is how fmt's %T names a func(int) string. TinyGo's
// reflect does not record func signatures: %T of any func is "func".
const funcIntString = "func"
