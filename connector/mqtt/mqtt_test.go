package mqtt_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/mqtt"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformanceMochi(t *testing.T) {
	for _, p := range []mqtt.Protocol{mqtt.V5, mqtt.V311} {
		t.Run("v"+p.String(), func(t *testing.T) {
			connectortest.Run(t, startMochi(t, p), connectortest.Features{
				Wildcards:    true,
				Bulk:         10000,
				LargePayload: 256 << 10,
			})
		})
	}
}

// runConnected runs rx and tx until the test ends and returns, with the
// context they run under, once rxKey's first link and txKey's first link
// are connected.
func runConnected(tb testing.TB, rx, tx *aimdb.DB, rxKey, txKey string) context.Context {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	tb.Cleanup(func() { cancel(); wg.Wait() })
	for _, db := range []*aimdb.DB{rx, tx} {
		wg.Go(func() {
			if err := db.Run(ctx); err != nil {
				tb.Error(err)
			}
		})
	}
	connected := func(md aimdb.LinkMetadata) bool { return md.Connected }
	connectortest.WaitLink(tb, rx, rxKey, 0, 10*time.Second, "connected", connected)
	connectortest.WaitLink(tb, tx, txKey, 0, 10*time.Second, "connected", connected)
	return ctx
}
