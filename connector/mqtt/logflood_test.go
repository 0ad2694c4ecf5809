package mqtt_test

import (
	"context"
	"log/slog"
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

// TestRejectedMessagesLogOnce: a flood of payloads that fail to decode
// is counted message by message but logged once per 10 s, not once per
// message.
func TestRejectedMessagesLogOnce(t *testing.T) {
	url := mqttbroker.Start(t)
	d, err := mqtt.NewDialer(url, mqtt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	db := aimdb.New(&aimdb.Options{
		Connectors: map[string]connector.Dialer{"mqtt": d},
		Logger:     slog.New(slog.NewTextHandler(&logs, nil)),
	})
	type reading struct{ Celsius float64 }
	in, _ := aimdb.Register(db, aimdb.NewKey[reading]("flood.in"), aimdb.Latest())
	in.LinkFrom("mqtt://flood/x", codec.JSON[reading]{})
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
	connectortest.WaitLink(t, db, "flood.in", 0, 10*time.Second, "connected", func(md aimdb.LinkMetadata) bool { return md.Connected })
	publish := mqttbroker.Publisher(t, url, "junk")
	const n = 50
	for range n { // published until the subscription counts them all
		publish("flood/x", "not json")
	}
	md := connectortest.WaitLink(t, db, "flood.in", 0, 10*time.Second, "decode errors", func(md aimdb.LinkMetadata) bool { return md.DecodeErrors > 0 })
	for md.DecodeErrors < n && ctx.Err() == nil {
		publish("flood/x", "not json")
		md = connectortest.WaitLink(t, db, "flood.in", 0, 10*time.Second, "decode errors", func(aimdb.LinkMetadata) bool { return true })
	}
	if got := strings.Count(logs.String(), "failed to decode"); got != 1 {
		t.Errorf("%d decode errors logged %d lines; want 1:\n%s", md.DecodeErrors, got, logs.String())
	}
}
