//go:build !js && !wasip1

package sqlite_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/persist"
	"github.com/aimdb-go/aimdb/persist/persisttest"
	"github.com/aimdb-go/aimdb/persist/sqlite"
)

func open(t *testing.T, path string) *sqlite.Backend {
	t.Helper()
	b, err := sqlite.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestConformance(t *testing.T) {
	persisttest.Run(t, func(t *testing.T) persist.Backend {
		return open(t, filepath.Join(t.TempDir(), "h.db"))
	})
}

func TestReopenKeepsRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dir with space", "h.db")
	if _, err := sqlite.Open(path, nil); err == nil {
		t.Fatal("Open in a missing directory succeeded")
	}
	path = filepath.Join(t.TempDir(), "h%20?.db")
	b := open(t, path)
	now := time.Now()
	if err := b.Append(t.Context(), []persist.Row{{Key: "k", Time: now, Schema: "s", Version: 2, Data: []byte("v")}}); err != nil {
		t.Fatal(err)
	}
	b.Close()
	b = open(t, path)
	rows, err := b.Latest(t.Context(), "k")
	if err != nil || len(rows) != 1 || string(rows[0].Data) != "v" || !rows[0].Time.Equal(now) {
		t.Fatalf("after reopen: %+v, %v", rows, err)
	}
	var check string
	if err := b.DB().QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v", check, err)
	}
}

func TestOpenRefusesBadOptions(t *testing.T) {
	if _, err := sqlite.Open(filepath.Join(t.TempDir(), "x.db"), &sqlite.Options{Synchronous: "SOMETIMES"}); !errors.Is(err, persist.ErrInvalid) {
		t.Errorf("Synchronous SOMETIMES: %v, want ErrInvalid", err)
	}
	if _, err := sqlite.Open("", nil); !errors.Is(err, persist.ErrInvalid) {
		t.Errorf("empty path: %v, want ErrInvalid", err)
	}
}
