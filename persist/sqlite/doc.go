// Package sqlite is a persist.Backend on SQLite (modernc.org/sqlite, pure
// Go, no cgo), the embedded default: one file in WAL mode, which a
// process crash leaves consistent, holding every committed row.
//
// It builds everywhere except js/wasm and wasip1/wasm, which the SQLite
// port does not support; there the package is empty.
package sqlite
