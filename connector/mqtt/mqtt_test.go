package mqtt_test

import (
	"testing"

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
