package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
	"github.com/aimdb-go/aimdb/persist"
	"github.com/aimdb-go/aimdb/persist/postgres"
)

// historyMaxAge is how long the demo keeps readings.
const historyMaxAge = 7 * 24 * time.Hour

// openHistory opens the hub's history backend: PostgreSQL for a
// postgres:// URL, DIR/aimdb.db for a directory, memory when dir is empty. It also describes it for the banner.
func openHistory(dir string) (persist.Backend, string, error) {
	if dir == "" {
		return persist.NewMemory(), "in memory only: lost when the demo stops (--data DIR keeps it)", nil
	}
	if strings.HasPrefix(dir, "postgres://") || strings.HasPrefix(dir, "postgresql://") {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b, err := postgres.Open(ctx, dir)
		if err != nil {
			return nil, "", &usageError{fmt.Errorf("--data: %w", err)}
		}
		return b, "PostgreSQL (kept across restarts, " + historyMaxAge.String() + ")", nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", &usageError{fmt.Errorf("--data %s: %w", dir, err)}
	}
	path := filepath.Join(dir, "aimdb.db")
	b, err := openSQLite(path)
	if err != nil {
		return nil, "", &usageError{fmt.Errorf("--data %s: %w", dir, err)}
	}
	return b, path + " (SQLite; kept across restarts, " + historyMaxAge.String() + ")", nil
}

// persistHub keeps every reading and dew point of the hub in s; on start
// each station's records come back with their last RingSize values.
func persistHub(f *mesh.HubFamilies, s *persist.Store) {
	o := &persist.Options{Replay: mesh.RingSize, MaxAge: historyMaxAge}
	persist.AttachFamily(f.Temperature, s, contracts.TemperatureCodec, o)
	persist.AttachFamily(f.Humidity, s, contracts.HumidityCodec, o)
	persist.AttachFamily(f.DewPoint, s, contracts.DewPointCodec, o)
}
