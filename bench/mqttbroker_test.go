package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/mqtt"
	"github.com/aimdb-go/aimdb/connector/mqtt/mqttbroker"
	"github.com/aimdb-go/aimdb/internal/tooltest"
	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
)

// startMosquitto runs Debian's mosquitto on a free loopback port until b
// ends and returns its URL. Its configuration is mosquitto's default but
// for persistence (off) and the queue of a slow client (100 000
// messages): the broker's receive maximum stays 20.
func startMosquitto(b *testing.B) string {
	b.Helper()
	bin := tooltest.Path(b, "mosquitto")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\n", port)
	if os.Geteuid() == 0 {
		conf += "user root\n"
	}
	file := filepath.Join(b.TempDir(), "mosquitto.conf")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", file)
	if err := cmd.Start(); err != nil {
		b.Fatalf("start mosquitto: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	b.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return "mqtt://" + addr
		}
		select {
		case <-exited:
			b.Fatalf("mosquitto exited before listening on %s", addr)
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("mosquitto did not listen on %s", addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startMochi runs the in-process mochi-mqtt broker until b ends.
func startMochi(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	br, err := mqttbroker.New(ln, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = br.Close(5 * time.Second) })
	return br.URL()
}

var clientSeq atomic.Int64

// pahoClient connects a raw paho.golang (MQTT 5) client to url; it
// disconnects when b ends. onPublish, if not nil, receives every message.
func pahoClient(b *testing.B, url string, onPublish func(*paho.Publish)) *paho.Client {
	b.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "mqtt://"))
	if err != nil {
		b.Fatal(err)
	}
	cfg := paho.ClientConfig{Conn: packets.NewThreadSafeConn(conn), OnClientError: func(error) {}}
	if onPublish != nil {
		cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			onPublish(pr.Packet)
			return true, nil
		}}
	}
	c := paho.NewClient(cfg)
	id := "bench-raw-" + strconv.FormatInt(clientSeq.Add(1), 10)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = c.Disconnect(&paho.Disconnect{})
		<-c.Done()
	})
	return c
}

// subscribe subscribes c to filters at qos, 100 filters per SUBSCRIBE.
func subscribe(b *testing.B, c *paho.Client, qos byte, filters ...string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for len(filters) > 0 {
		n := min(len(filters), 100)
		s := &paho.Subscribe{}
		for _, f := range filters[:n] {
			s.Subscriptions = append(s.Subscriptions, paho.SubscribeOptions{Topic: f, QoS: qos})
		}
		if _, err := c.Subscribe(ctx, s); err != nil {
			b.Fatal(err)
		}
		filters = filters[n:]
	}
}

// mqttDB returns a DB whose mqtt scheme is the broker at url.
func mqttDB(b *testing.B, url string) *aimdb.DB {
	b.Helper()
	d, err := mqtt.NewDialer(url, mqtt.Options{ClientID: "bench-aimdb-" + strconv.FormatInt(clientSeq.Add(1), 10)})
	if err != nil {
		b.Fatal(err)
	}
	return aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": d}})
}

// runConnected runs db until b ends and returns once every link of the
// record key is connected (for an inbound link: subscribed).
func runConnected(b *testing.B, db *aimdb.DB, key string) {
	b.Helper()
	stop := running(b, db)
	b.Cleanup(stop)
	for deadline := time.Now().Add(2 * time.Minute); ; {
		for _, md := range db.Records() {
			if md.RecordKey == key && len(md.Links) > 0 && md.Links[0].Connected {
				return
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("the links of %s did not connect", key)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
