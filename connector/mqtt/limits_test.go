package mqtt_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/mqtt"
	"github.com/aimdb-go/aimdb/connector/mqtt/mqttbroker"
)

// TestMaxPacketSize: a DB whose dialer has MaxPacketSize gets no
// message bigger than that from the broker, and the smaller ones after
// it still arrive.
func TestMaxPacketSize(t *testing.T) {
	url := mqttbroker.Start(t)
	d, err := mqtt.NewDialer(url, mqtt.Options{MaxPacketSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": d}})
	in, _ := aimdb.Register(db, aimdb.NewKey[string]("mps.in"), aimdb.Ring(8))
	in.LinkFrom("mqtt://mps/x", codec.String{})
	sub, _ := in.Subscribe()
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- db.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	connectortest.WaitLink(t, db, "mps.in", 0, 10*time.Second, "connected", func(md aimdb.LinkMetadata) bool { return md.Connected })
	publish := mqttbroker.Publisher(t, url, "device")
	for { // until the subscription is live
		publish("mps/x", "probe")
		rctx, rcancel := context.WithTimeout(ctx, 100*time.Millisecond)
		_, err := sub.Recv(rctx)
		rcancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the subscription never delivered")
		}
	}
	publish("mps/x", strings.Repeat("x", 4096))
	publish("mps/x", "small")
	for {
		v, err := sub.Recv(ctx)
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if v == "probe" {
			continue
		}
		if v != "small" {
			t.Fatalf("received %d bytes; want the 4 KiB message dropped and %q", len(v), "small")
		}
		return
	}
}
