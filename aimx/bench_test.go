package aimx_test

import (
	"context"
	"testing"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
)

// benchServer runs a DB with one Ring(4096) record of Temp served over
// TCP, and returns the record and a connected client.
func benchServer(b *testing.B) (*aimdb.Record[Temp], *aimx.Client) {
	db := aimdb.New(nil)
	rec, err := aimdb.Register(db, keyTemp, aimdb.Ring(4096))
	if err != nil {
		b.Fatal(err)
	}
	rec.RemoteAccess(codec.JSON[Temp]{})
	stop := aimdbtest.Start(b, db)
	ln, f, err := aimx.Listen("tcp://127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- aimx.NewServer(db, nil).Serve(ctx, ln, f) }()
	c, err := aimx.Dial(ctx, "tcp://"+ln.Addr().String(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		c.Close()
		cancel()
		<-done
		stop()
	})
	return rec, c
}

// BenchmarkEventRoundTrip: produce one value, wait until the subscribed
// client has it. One op is one value end to end over TCP.
func BenchmarkEventRoundTrip(b *testing.B) {
	rec, c := benchServer(b)
	s, err := c.Subscribe(b.Context(), keyTemp.Name())
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		rec.Produce(Temp{float64(i)})
		if _, err := s.Next(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEventStream: produce in bursts of 256 and receive them all.
// One op is one value; lost values are reported.
func BenchmarkEventStream(b *testing.B) {
	rec, c := benchServer(b)
	s, err := c.Subscribe(b.Context(), keyTemp.Name())
	if err != nil {
		b.Fatal(err)
	}
	const burst = 256
	n := 0
	for b.Loop() {
		rec.Produce(Temp{float64(n)})
		n++
		if n%burst == 0 {
			for got := 0; got < burst; {
				u, err := s.Next(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				got += 1 + int(u.Lost)
			}
		}
	}
	b.ReportMetric(float64(s.Lost()), "lost")
}
