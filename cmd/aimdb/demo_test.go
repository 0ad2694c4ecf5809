package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/connector/mqtt/mqttbroker"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
)

// freeDemo is a demo configuration on free loopback ports.
func freeDemo(t *testing.T, stations int) demoConfig {
	return demoConfig{
		stations:   stations,
		interval:   50 * time.Millisecond,
		mqttListen: "127.0.0.1:0",
		aimx:       []string{"tcp://127.0.0.1:0", "unix://" + t.TempDir() + "/hub.sock"},
		http:       "127.0.0.1:0",
	}
}

func startTestDemo(t *testing.T, cfg demoConfig) *demo {
	t.Helper()
	d, err := startDemo(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		start := time.Now()
		if err := d.stop(); err != nil {
			t.Errorf("demo: %v", err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("the demo took %v to stop; want under 2 s", took)
		}
	})
	return d
}

// TestDemoEndToEnd runs the demo and checks, through AimX, that every
// station's three hub records update and that each dew point is the
// formula applied to the readings it was joined from.
func TestDemoEndToEnd(t *testing.T) {
	const stations = 3
	d := startTestDemo(t, freeDemo(t, stations))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, ep := range d.aimx {
		c, err := aimx.Dial(ctx, ep, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()

		for n := 1; n <= stations; n++ {
			// Each record must change: two values with different timestamps.
			for _, key := range []string{contracts.KeyName(n, contracts.KindTemperature), contracts.KeyName(n, contracts.KindHumidity), contracts.KeyName(n, contracts.KindDewPoint)} {
				first := waitValue(t, ctx, c, key, 0)
				waitValue(t, ctx, c, key, first)
			}
		}
	}

	// Every dew point equals the formula over a temperature and a humidity
	// the hub received, and carries the later of their timestamps.
	c, err := aimx.Dial(ctx, d.aimx[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Three stations, three records each, and nothing else.
	if rows, err := c.Records(ctx); err != nil || len(rows) != 3*stations {
		t.Errorf("record.list: %d records, %v; want %d", len(rows), err, 3*stations)
	}
	s, err := c.Subscribe(ctx, "station.1.*")
	if err != nil {
		t.Fatal(err)
	}
	var temps []contracts.Temperature
	var hums []contracts.Humidity
	var dews []contracts.DewPoint
	for len(dews) < 12 {
		u, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var err2 error
		switch u.Topic {
		case contracts.KeyName(1, contracts.KindTemperature):
			var v contracts.Temperature
			err2 = json.Unmarshal(u.Data, &v)
			temps = append(temps, v)
		case contracts.KeyName(1, contracts.KindHumidity):
			var v contracts.Humidity
			err2 = json.Unmarshal(u.Data, &v)
			hums = append(hums, v)
		default:
			var v contracts.DewPoint
			err2 = json.Unmarshal(u.Data, &v)
			dews = append(dews, v)
		}
		if err2 != nil {
			t.Fatalf("%s: %s: %v", u.Topic, u.Data, err2)
		}
	}
	s.Close()
	// A dew point may join an input received before the subscription
	// (the join's two inputs are read independently), so not every one
	// can be explained from what the subscription saw; most must be.
	// TestDemoMigratesAndRejects checks one exactly, from known inputs.
	explains := func(dp contracts.DewPoint) bool {
		for _, tv := range temps {
			for _, hv := range hums {
				if max(tv.Timestamp, hv.Timestamp) == dp.Timestamp && contracts.DewPointOf(tv, hv).Celsius == dp.Celsius {
					return true
				}
			}
		}
		return false
	}
	explained := 0
	for _, dp := range dews {
		if explains(dp) {
			explained++
		}
	}
	if explained < len(dews)/2 {
		t.Errorf("only %d of %d dew points match a received temperature and humidity", explained, len(dews))
	}
}

// waitValue polls record.get until key holds a value with a timestamp
// other than not, and returns that timestamp.
func waitValue(t *testing.T, ctx context.Context, c *aimx.Client, key string, not uint64) uint64 {
	t.Helper()
	for {
		raw, err := c.Get(ctx, key)
		if err == nil {
			var v struct {
				Timestamp uint64 `json:"timestamp"`
			}
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatalf("%s: %s: %v", key, raw, err)
			}
			if v.Timestamp != 0 && v.Timestamp != not {
				return v.Timestamp
			}
		} else if !errors.Is(err, aimx.ErrNoValue) && !errors.Is(err, aimx.ErrNotFound) {
			t.Fatalf("%s: %v", key, err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: no new value: %v", key, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestDemoMigratesAndRejects publishes into the demo's broker as a foreign
// station would: a v1 Fahrenheit reading is migrated, malformed ones are
// rejected and counted, and the record keeps its value.
func TestDemoMigratesAndRejects(t *testing.T) {
	d := startTestDemo(t, freeDemo(t, 0))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := aimx.Dial(ctx, d.aimx[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	publish := mqttbroker.Publisher(t, d.brokerURL, "foreign-station")
	// The hub's records appear with a station's first reading; until the
	// hub's subscriptions are in place readings are lost, so publish
	// until the record exists (the same reading each time).
	publishUntil(t, ctx, c, publish, "station/10/temperature", `{"schema_version":1,"temp":70.5,"timestamp":1754044800000,"unit":"F"}`, contracts.KeyName(10, contracts.KindTemperature))
	publishUntil(t, ctx, c, publish, "station/10/humidity", `{"percent":50,"timestamp":1754044800000}`, contracts.KeyName(10, contracts.KindHumidity))
	dew := waitDew(t, ctx, c, 10)
	wantT := float32((70.5 - 32) * 5 / 9)
	wantDew := contracts.DewPointOf(contracts.Temperature{Celsius: wantT}, contracts.Humidity{Percent: 50}).Celsius
	if dew.Celsius != wantDew || dew.Timestamp != 1754044800000 {
		t.Errorf("dew point from a v1 reading = %+v; want %v °C", dew, wantDew)
	}
	temp, err := aimx.Get(ctx, c, contracts.TemperatureKey(10))
	if err != nil || temp.Celsius != wantT {
		t.Errorf("migrated temperature = %+v, %v; want %v °C", temp, err, wantT)
	}

	// Now that the subscriptions are in place, a station with any id
	// appears within a second of its first reading.
	publish("station/4711/temperature", `{"schema_version":2,"celsius":4,"timestamp":1754044800000}`)
	deadline := time.Now().Add(time.Second)
	for {
		if _, err := c.Get(ctx, "station.4711.temperature"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("station 4711 did not appear within a second of its first reading")
		}
		time.Sleep(10 * time.Millisecond)
	}

	before := decodeErrors(t, ctx, c)
	bad := []string{
		`{"celsius":30,"timestamp":1754044801000}`,                    // no schema_version
		`{"schema_version":3,"celsius":30,"timestamp":1754044801000}`, // from the future
		`{"schema_version":2,"celsius":"hot","timestamp":1754044801000}`,
		`not json`,
	}
	for _, p := range bad {
		publish("station/10/temperature", p)
	}
	// A good reading after the bad ones proves they were processed.
	publish("station/11/temperature", `{"schema_version":2,"celsius":1,"timestamp":1754044802000}`)
	for {
		if _, err := c.Get(ctx, contracts.KeyName(11, contracts.KindTemperature)); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := decodeErrors(t, ctx, c); got-before != uint64(len(bad)) {
		t.Errorf("decode errors went from %d to %d; want %d more", before, got, len(bad))
	}
	after, err := aimx.Get(ctx, c, contracts.TemperatureKey(10))
	if err != nil || after != temp {
		t.Errorf("after rejected payloads the record holds %+v, %v; want %+v", after, err, temp)
	}
}

func waitDew(t *testing.T, ctx context.Context, c *aimx.Client, n int) contracts.DewPoint {
	t.Helper()
	for {
		v, err := aimx.Get(ctx, c, contracts.DewPointKey(n))
		if err == nil {
			return v
		}
		if !errors.Is(err, aimx.ErrNoValue) && !errors.Is(err, aimx.ErrNotFound) {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no dew point for slot %d", n)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// hubLinks returns the hub's records that have links: every station's
// temperature and humidity.
func hubLinks(t *testing.T, ctx context.Context, c *aimx.Client) []aimx.RecordInfo {
	t.Helper()
	rows, err := c.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []aimx.RecordInfo
	for _, r := range rows {
		if len(r.Links) > 0 {
			out = append(out, r)
		}
	}
	return out
}

func decodeErrors(t *testing.T, ctx context.Context, c *aimx.Client) uint64 {
	var n uint64
	for _, r := range hubLinks(t, ctx, c) {
		for _, l := range r.Links {
			n += l.DecodeErrors
		}
	}
	return n
}

// publishUntil publishes payload on topic every 50 ms until the hub has
// the record key.
func publishUntil(t *testing.T, ctx context.Context, c *aimx.Client, publish func(topic, payload string), topic, payload, key string) {
	t.Helper()
	for {
		publish(topic, payload)
		if _, err := c.Get(ctx, key); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the hub never stored %s: its subscription to %s is not in place", key, topic)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestDemoAddressInUse: a busy port fails before anything starts, with
// one error naming the flag to change; nothing is left bound.
func TestDemoAddressInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, flag := range []string{"--mqtt-listen", "--aimx", "--http"} {
		cfg := freeDemo(t, 1)
		switch flag {
		case "--mqtt-listen":
			cfg.mqttListen = busy.Addr().String()
		case "--aimx":
			cfg.aimx = []string{"tcp://" + busy.Addr().String()}
		case "--http":
			cfg.http = busy.Addr().String()
		}
		_, err := startDemo(context.Background(), cfg, slog.New(slog.DiscardHandler))
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), flag) || !strings.Contains(err.Error(), "in use") {
			t.Errorf("%s on a busy port: %v; want a usage error naming the flag", flag, err)
		}
	}
}

// TestDemoCommand runs `aimdb demo` through the command line: it prints
// where everything runs and the next commands, and stops on Ctrl-C.
func TestDemoCommand(t *testing.T) {
	var out syncBuffer
	var errOut bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"demo", "--stations", "2", "--mqtt-listen", "127.0.0.1:0",
			"--aimx", "tcp://127.0.0.1:0", "--http", "127.0.0.1:0"}, &out, &errOut, func(string) string { return "" })
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "Ctrl-C stops the demo") {
		if time.Now().After(deadline) {
			t.Fatalf("no banner; stdout %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, want := range []string{"(embedded)", "stations        2, in slots 1..2", "http://127.0.0.1:", "ws://127.0.0.1:", "/ws", "/metrics", "record list", "watch 'station.*.dew_point'"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out.String())
		}
	}
	start := time.Now()
	cancel()
	if c := <-code; c != 0 {
		t.Errorf("exit status %d after Ctrl-C; stderr %q", c, errOut.String())
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("stopping took %v", took)
	}
	if bad := run(context.Background(), []string{"demo", "--stations", "70000"}, &out, &errOut, func(string) string { return "" }); bad != 2 {
		t.Errorf("--stations 70000: exit status %d, want 2", bad)
	}
	if !strings.Contains(errOut.String(), "--stations 70000") {
		t.Errorf("stderr %q does not name the flag", errOut.String())
	}
}

// TestDemoPostcard runs the demo with --codec postcard: the stations
// publish Postcard, the hub decodes it; a foreign publisher's raw
// Postcard bytes of a v1 reading are migrated, and bad ones (a JSON
// payload, an impossible value, a truncated one) are counted and never
// stored.
func TestDemoPostcard(t *testing.T) {
	cfg := freeDemo(t, 1)
	cfg.codec = "postcard"
	d := startTestDemo(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := aimx.Dial(ctx, d.aimx[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if dp := waitDew(t, ctx, c, 1); dp.Timestamp == 0 {
		t.Errorf("station 1's dew point over Postcard: %+v", dp)
	}
	publish := mqttbroker.Publisher(t, d.brokerURL, "postcard-station")
	v1, _ := contracts.TemperaturePostcard.As(1).Encode(contracts.Temperature{Celsius: 21.5, Timestamp: 1754044800000})
	publishUntil(t, ctx, c, publish, "station/10/temperature", string(v1), contracts.KeyName(10, contracts.KindTemperature))
	temp, err := aimx.Get(ctx, c, contracts.TemperatureKey(10))
	if err != nil || temp.Celsius != 21.5 || temp.Timestamp != 1754044800000 {
		t.Fatalf("a v1 Postcard reading: %+v, %v; want 21.5 °C", temp, err)
	}
	before := decodeErrors(t, ctx, c)
	hot, _ := contracts.TemperaturePostcard.Encode(contracts.Temperature{Celsius: 60, Timestamp: 1754044801000})
	hot[4] = 0x44 // celsius 0x44700000: 960 °C
	bad := []string{
		`{"schema_version":2,"celsius":30,"timestamp":1754044801000}`,
		string(hot),
		string(v1[:4]),
	}
	for _, p := range bad {
		publish("station/10/temperature", p)
	}
	good, _ := contracts.TemperaturePostcard.Encode(contracts.Temperature{Celsius: 1, Timestamp: 1754044802000})
	publish("station/11/temperature", string(good))
	for {
		if _, err := c.Get(ctx, contracts.KeyName(11, contracts.KindTemperature)); err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("station 11 never appeared")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := decodeErrors(t, ctx, c); got-before != uint64(len(bad)) {
		t.Errorf("decode errors went from %d to %d; want %d more", before, got, len(bad))
	}
	if after, err := aimx.Get(ctx, c, contracts.TemperatureKey(10)); err != nil || after != temp {
		t.Errorf("after rejected payloads the record holds %+v, %v; want %+v", after, err, temp)
	}
}
