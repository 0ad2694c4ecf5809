package persist_test

import (
	"testing"

	"github.com/aimdb-go/aimdb/persist"
	"github.com/aimdb-go/aimdb/persist/persisttest"
)

func TestMemoryConformance(t *testing.T) {
	persisttest.Run(t, func(t *testing.T) persist.Backend { return persist.NewMemory() })
}
