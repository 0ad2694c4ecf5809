package knx_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/aimdb-go/aimdb/connector/connectortest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var gaSeq atomic.Int64

// nextGA returns a group address no other test of the process uses.
func nextGA(string) string {
	n := gaSeq.Add(1)
	return fmt.Sprintf("%d/%d/%d", 1+n/2048%31, n/256%8, n%256)
}

func TestConformanceFakeGateway(t *testing.T) {
	connectortest.Run(t, startGateway(t), connectortest.Features{
		Bulk:         2000,
		LargePayload: 254,
		Topic:        nextGA,
	})
}
