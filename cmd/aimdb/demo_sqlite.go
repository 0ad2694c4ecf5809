//go:build !js && !wasip1

package main

import (
	"github.com/aimdb-go/aimdb/persist"
	"github.com/aimdb-go/aimdb/persist/sqlite"
)

func openSQLite(path string) (persist.Backend, error) { return sqlite.Open(path, nil) }
