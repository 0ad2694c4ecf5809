package aimdb_test

import (
	"context"
	"fmt"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/loopback"
)

// reading is a temperature reading of a station.
type reading struct {
	Station string  `json:"station"`
	Celsius float64 `json:"celsius"`
}

// Two DBs linked through a connector: a station publishes its readings,
// a hub stores every station's readings in one record. The in-memory
// loopback broker stands in for MQTT (connector/mqtt) here.
func ExampleRecord_LinkTo() {
	broker := loopback.New()
	connectors := func() map[string]connector.Dialer {
		return map[string]connector.Dialer{"loop": broker.Dialer()}
	}

	hub := aimdb.New(&aimdb.Options{Connectors: connectors()})
	all, _ := aimdb.Register(hub, aimdb.NewKey[reading]("hub.temp.all"), aimdb.Ring(16))
	all.LinkFrom("loop://station/+/temperature", codec.JSON[reading]{})
	sub, _ := all.Subscribe()
	defer sub.Close()

	station := aimdb.New(&aimdb.Options{Connectors: connectors()})
	temp, _ := aimdb.Register(station, aimdb.NewKey[reading]("station.temp.1"), aimdb.Ring(16))
	temp.LinkTo("loop://station/1/temperature", codec.JSON[reading]{})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	for _, db := range []*aimdb.DB{hub, station} {
		go func() { _ = db.Run(ctx); done <- struct{}{} }()
	}
	for _, db := range []*aimdb.DB{hub, station} {
		for !db.Records()[0].Links[0].Connected {
			time.Sleep(time.Millisecond)
		}
	}

	for _, c := range []float64{21.5, 21.75} {
		_ = temp.Produce(reading{Station: "1", Celsius: c})
	}
	for range 2 {
		r, _ := sub.Recv(ctx)
		fmt.Printf("hub: station %s: %.2f °C\n", r.Station, r.Celsius)
	}
	cancel()
	<-done
	<-done
	l := station.Records()[0].Links[0]
	fmt.Printf("station link %s: %s, published %d, dropped %d\n", l.Address, l.State, l.Published, l.Dropped)
	// Output:
	// hub: station 1: 21.50 °C
	// hub: station 1: 21.75 °C
	// station link loop://station/1/temperature: stopped, published 2, dropped 0
}
