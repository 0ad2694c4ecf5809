// Command publish-then-close publishes a few temperatures over MQTT and
// shuts down right after: db.Flush returns once the broker has
// acknowledged every one (PUBACK at QoS 1), so closing loses nothing.
// A plain MQTT client subscribed to the topic counts what arrives.
//
//	go run ./examples/publish-then-close                  # an embedded broker
//	go run ./examples/publish-then-close -broker mqtt://localhost:1883 -n 100
//
// It prints what Flush reported and how many of the values the
// subscriber received.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/mqtt"
	"github.com/aimdb-go/aimdb/connector/mqtt/mqttbroker"
	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
)

// Temperature is one reading of the sensor.
type Temperature struct {
	Celsius float64 `json:"celsius"`
	Seq     int     `json:"seq"`
}

const topic = "sensors/temperature"

func main() {
	broker := flag.String("broker", "", "MQTT broker URL, as mqtt://host:port (default: an embedded broker on a free loopback port)")
	n := flag.Int("n", 8, "number of temperatures to publish")
	qos := flag.Int("qos", 1, "MQTT QoS of the link: 0, 1 or 2")
	flag.Parse()
	if err := run(context.Background(), *broker, *n, *qos, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "publish-then-close:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, broker string, n, qos int, out io.Writer) error {
	if n < 1 {
		return fmt.Errorf("-n %d: want at least 1", n)
	}
	if qos < 0 || qos > 2 {
		return fmt.Errorf("-qos %d: want 0, 1 or 2", qos)
	}
	if broker == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		b, err := mqttbroker.New(ln, nil)
		if err != nil {
			return err
		}
		defer b.Close(time.Second)
		broker = b.URL()
	}
	received, unsubscribe, err := subscribe(ctx, broker)
	if err != nil {
		return err
	}
	defer unsubscribe()

	d, err := mqtt.NewDialer(broker, mqtt.Options{ClientID: "publish-then-close"})
	if err != nil {
		return err
	}
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": d}})
	rec, err := aimdb.Register(db, aimdb.NewKey[Temperature]("sensor.temperature"), aimdb.Ring(max(n, 16)))
	if err != nil {
		return err
	}
	rec.LinkTo(fmt.Sprintf("mqtt://%s?qos=%d", topic, qos), codec.JSON[Temperature]{})

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- db.Run(runCtx) }()
	select {
	case <-db.Started():
	case err := <-done:
		return err
	}
	for i := range n {
		if err := rec.Produce(Temperature{Celsius: 20 + float64(i)/2, Seq: i}); err != nil {
			return err
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	ferr := db.Flush(fctx)
	cancel()
	stop() // publish, then close
	if err := <-done; err != nil {
		return err
	}
	switch {
	case ferr == nil:
		fmt.Fprintf(out, "flush: the broker accepted all %d values\n", n)
	default:
		fmt.Fprintf(out, "flush: %v\n", ferr)
	}

	// The broker forwards what it accepted; give it a moment.
	deadline := time.Now().Add(5 * time.Second)
	for received.Load() < int64(n) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Fprintf(out, "subscriber received %d of %d\n", received.Load(), n)
	if ferr != nil {
		return errors.New("not every value was delivered")
	}
	return nil
}

// subscribe connects a plain MQTT 5 client to the broker and counts the
// messages it receives on topic, at QoS 1.
func subscribe(ctx context.Context, broker string) (*atomic.Int64, func(), error) {
	addr, ok := strings.CutPrefix(broker, "mqtt://")
	if !ok {
		return nil, nil, fmt.Errorf("-broker %q: want mqtt://host:port", broker)
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	var received atomic.Int64
	c := paho.NewClient(paho.ClientConfig{
		Conn: packets.NewThreadSafeConn(conn),
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(paho.PublishReceived) (bool, error) {
			received.Add(1)
			return true, nil
		}},
		OnClientError: func(error) {},
	})
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := c.Connect(cctx, &paho.Connect{ClientID: "publish-then-close-subscriber", CleanStart: true, KeepAlive: 30}); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("subscriber: %w", err)
	}
	if _, err := c.Subscribe(cctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: 1}}}); err != nil {
		_ = c.Disconnect(&paho.Disconnect{})
		return nil, nil, fmt.Errorf("subscriber: %w", err)
	}
	return &received, func() {
		_ = c.Disconnect(&paho.Disconnect{})
		<-c.Done()
	}, nil
}
