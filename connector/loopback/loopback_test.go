package loopback_test

import (
	"testing"

	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/loopback"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type peer struct{ b *loopback.Broker }

func (p peer) Scheme() string                     { return "loop" }
func (p peer) Dialer(testing.TB) connector.Dialer { return p.b.Dialer() }
func (p peer) Stop(testing.TB)                    { p.b.Stop() }
func (p peer) Start(testing.TB)                   { p.b.Start() }

func TestConformance(t *testing.T) {
	connectortest.Run(t, peer{loopback.New()}, connectortest.Features{Wildcards: true, Bulk: 10000, LargePayload: 256 << 10})
}
