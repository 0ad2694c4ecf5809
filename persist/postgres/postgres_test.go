package postgres_test

import (
	"errors"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/aimdb-go/aimdb/persist"
	"github.com/aimdb-go/aimdb/persist/persisttest"
	"github.com/aimdb-go/aimdb/persist/postgres"
)

func TestMain(m *testing.M) {
	code := m.Run()
	stop()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			os.Stderr.WriteString("goleak: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

func open(t *testing.T) *postgres.Backend {
	t.Helper()
	b, err := postgres.Open(t.Context(), newDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestConformance(t *testing.T) {
	persisttest.Run(t, func(t *testing.T) persist.Backend { return open(t) })
}

// TestSharedHistory opens one database twice, as two hubs would: what
// one appends the other reads.
func TestSharedHistory(t *testing.T) {
	url := newDatabase(t)
	a, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := a.Append(t.Context(), []persist.Row{{Key: "hub1.x", Data: []byte("1")}}); err != nil {
		t.Fatal(err)
	}
	rows, err := b.Latest(t.Context(), "#")
	if err != nil || len(rows) != 1 || string(rows[0].Data) != "1" {
		t.Fatalf("the other hub reads %+v, %v", rows, err)
	}
}

func TestOpenRefusesBadURL(t *testing.T) {
	if _, err := postgres.Open(t.Context(), "postgres://%zz"); !errors.Is(err, persist.ErrInvalid) {
		t.Errorf("Open(bad URL): %v, want ErrInvalid", err)
	}
}
