//go:build js || wasip1

package main

import (
	"errors"

	"github.com/aimdb-go/aimdb/persist"
)

func openSQLite(string) (persist.Backend, error) {
	return nil, errors.New("SQLite is not available on this platform")
}
