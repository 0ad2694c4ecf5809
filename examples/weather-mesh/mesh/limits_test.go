//go:build !js && !wasip1

// TCP on loopback, as in broker_test.go.

package mesh_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/connector/mqtt/mqttbroker"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
)

// TestHubMaxPacketSize: the broker does not forward to the hub a
// message bigger than HubMaxPacketSize; the small one after it arrives.
func TestHubMaxPacketSize(t *testing.T) {
	h := startHub(t, mqttbroker.Start(t), nil, nil)
	before := h.rejected(0)
	h.publish("station/probe/temperature", "{"+strings.Repeat(" ", mesh.HubMaxPacketSize)+"}")
	h.publish("station/probe/temperature", "{}")
	deadline := time.Now().Add(5 * time.Second)
	for h.rejected(0) == before {
		if time.Now().After(deadline) {
			t.Fatal("the hub received neither message")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // a second message would have come by now
	if got := h.rejected(0) - before; got != 1 {
		t.Errorf("the hub received %d of the two messages; want only the small one", got)
	}
}
