package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
)

// The AimXStream benchmarks stream events from a server to one
// subscribed client over TCP on the loopback, in bursts of streamBurst:
// the producer writes a burst, then waits until the client has decoded
// all of it into the event struct. One op is one event end to end.
//
// impl=aimdb is a Ring(4096) record served by aimx.Server and read with
// aimx.Watch. The anchor, impl=jsontcp, is the minimal server a Go user
// would write: a channel of events, a goroutine that json-encodes each as
// an AimX event frame into a bufio.Writer and flushes when the channel is
// empty, and a client that decodes the frames with a json.Decoder.

// streamBurst is the number of events produced before the client must
// have received them all: the client's Stream holds 256.
const streamBurst = 256

// streamEvent is the value streamed: a telemetry reading as JSON.
type streamEvent struct {
	Celsius   float64 `json:"celsius"`
	Timestamp uint64  `json:"timestamp"`
	Station   string  `json:"station"`
}

// streamFrame is an AimX event frame carrying a streamEvent.
type streamFrame struct {
	T    string      `json:"t"`
	Seq  uint64      `json:"seq"`
	Sub  string      `json:"sub"`
	Data streamEvent `json:"data"`
}

func mkEvent(i int) streamEvent {
	return streamEvent{Celsius: float64(i%400) / 10, Timestamp: 1_764_000_000_000 + uint64(i), Station: "vienna"}
}

func BenchmarkAimXStream(b *testing.B) {
	b.Run("transport=tcp/impl=aimdb", benchAimXStream)
	b.Run("transport=tcp/impl=jsontcp", benchJSONTCPStream)
}

func benchAimXStream(b *testing.B) {
	key := aimdb.NewKey[streamEvent]("bench.stream.x")
	db := aimdb.New(nil)
	rec, err := aimdb.Register(db, key, aimdb.Ring(4096))
	if err != nil {
		b.Fatal(err)
	}
	rec.RemoteAccess(codec.JSON[streamEvent]{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- db.Run(ctx) }()
	<-db.Started()
	ln, fr, err := aimx.Listen("tcp://127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { errc <- aimx.NewServer(db, &aimx.ServerOptions{Unlisted: true}).Serve(ctx, ln, fr) }()
	c, err := aimx.Dial(ctx, "tcp://"+ln.Addr().String(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	w, err := aimx.Watch(ctx, c, key)
	if err != nil {
		b.Fatal(err)
	}
	var lost uint64
	n := 0
	for b.Loop() {
		rec.Produce(mkEvent(n))
		n++
		if n%streamBurst == 0 {
			for got := 0; got < streamBurst; {
				_, u, err := w.Next(ctx)
				if err != nil {
					b.Fatal(err)
				}
				got += 1 + int(u.Lost)
				lost += u.Lost
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ev/s")
	b.ReportMetric(float64(lost), "lost")
	c.Close()
	cancel()
	for range 2 {
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
	}
}

func benchJSONTCPStream(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	events := make(chan streamEvent, 4096)
	served := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		defer conn.Close()
		w := bufio.NewWriter(conn)
		enc := json.NewEncoder(w)
		var seq uint64
		for v := range events {
			seq++
			if err := enc.Encode(&streamFrame{T: "event", Seq: seq, Sub: "1", Data: v}); err != nil {
				served <- err
				return
			}
			if len(events) == 0 {
				if err := w.Flush(); err != nil {
					served <- err
					return
				}
			}
		}
		served <- w.Flush()
	}()
	conn, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	received := make(chan streamFrame, streamBurst)
	go func() {
		defer close(received)
		dec := json.NewDecoder(bufio.NewReader(conn))
		for {
			var f streamFrame
			if dec.Decode(&f) != nil {
				return
			}
			received <- f
		}
	}()
	n := 0
	for b.Loop() {
		events <- mkEvent(n)
		n++
		if n%streamBurst == 0 {
			for range streamBurst {
				if _, ok := <-received; !ok {
					b.Fatal("the connection ended")
				}
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ev/s")
	close(events)
	if err := <-served; err != nil {
		b.Fatal(err)
	}
	conn.Close()
	for range received {
	}
}
