//go:build !js && !wasip1

// These tests need TCP on loopback, which js/wasm and wasip1 do not have:
// the broker listens on 127.0.0.1. The other targets run them.

package mesh_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/mqtt/mqttbroker"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
)

// startHub runs a hub of the given pool size against the broker and
// returns its DB once both wildcard subscriptions are in place.
func startHub(t *testing.T, brokerURL string, slots int, log *slog.Logger) *aimdb.DB {
	t.Helper()
	d, err := mesh.HubDialer(brokerURL)
	if err != nil {
		t.Fatal(err)
	}
	if d.ClientID() != "weather-hub" {
		t.Errorf("hub client id %q; want weather-hub", d.ClientID())
	}
	db := newDB(t, d, nil, log)
	if err := mesh.Hub(db, slots); err != nil {
		t.Fatal(err)
	}
	aimdbtest.Start(t, db)
	waitConnected(t, db, contracts.TemperatureKey(0).Name(), 0)
	waitConnected(t, db, contracts.HumidityKey(0).Name(), 0)
	return db
}

// slotSubs are a test's subscriptions to one slot's hub records.
type slotSubs struct {
	temp *aimdb.Subscription[contracts.Temperature]
	hum  *aimdb.Subscription[contracts.Humidity]
	dew  *aimdb.Subscription[contracts.DewPoint]
}

func subscribeSlot(t *testing.T, db *aimdb.DB, n int) slotSubs {
	return slotSubs{
		temp: subscribe(t, db, contracts.TemperatureKey(n)),
		hum:  subscribe(t, db, contracts.HumidityKey(n)),
		dew:  subscribe(t, db, contracts.DewPointKey(n)),
	}
}

// TestHubCollectsStations runs a hub and two simulated stations, on
// virtual clocks, against an in-process broker: every sample of both
// stations reaches the hub's records exactly, and the hub's dew points
// are the formula applied to the inputs it received.
func TestHubCollectsStations(t *testing.T) {
	brokerURL := mqttbroker.Start(t)
	hub := startHub(t, brokerURL, mesh.DefaultSlots, nil)

	const (
		samples  = 3
		interval = time.Minute
	)
	start := time.Date(2026, 7, 1, 14, 0, 0, 0, time.UTC)
	slots := []int{1, 2}
	subs := map[int]slotSubs{}
	clocks := map[int]*aimdb.VirtualClock{}
	stations := map[int]*aimdb.DB{}
	for _, n := range slots {
		subs[n] = subscribeSlot(t, hub, n)
		d, err := mesh.StationDialer(brokerURL, n)
		if err != nil {
			t.Fatal(err)
		}
		if want := "weather-station-" + strconv.Itoa(n); d.ClientID() != want {
			t.Errorf("station client id %q; want %q", d.ClientID(), want)
		}
		clocks[n] = aimdb.NewVirtualClock(start)
		stations[n] = newDB(t, d, clocks[n], nil)
		if err := mesh.Station(stations[n], n, interval, mesh.NewSimulator(uint64(100+n))); err != nil {
			t.Fatal(err)
		}
		aimdbtest.Start(t, stations[n])
	}

	got := map[int]struct {
		temps []contracts.Temperature
		hums  []contracts.Humidity
	}{}
	for k := range samples {
		if k > 0 {
			// Both sources sleep; wake them for the next sample.
			for _, n := range slots {
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				err := clocks[n].WaitSleepers(ctx, 2)
				cancel()
				if err != nil {
					t.Fatalf("slot %d: waiting for both sources to sleep: %v", n, err)
				}
				clocks[n].AdvanceToNext()
			}
		}
		at := start.Add(time.Duration(k) * interval)
		for _, n := range slots {
			ref := mesh.NewSimulator(uint64(100 + n)) // the station's simulator, replayed
			var wantT contracts.Temperature
			var wantH contracts.Humidity
			for i := 0; i <= k; i++ {
				wantT = ref.Temperature(start.Add(time.Duration(i) * interval))
				wantH = ref.Humidity(start.Add(time.Duration(i) * interval))
			}
			if wantT.Timestamp != uint64(at.UnixMilli()) {
				t.Fatalf("reference timestamp %d; want %d", wantT.Timestamp, at.UnixMilli())
			}
			gt, gh := recv(t, subs[n].temp), recv(t, subs[n].hum)
			if gt != wantT {
				t.Errorf("slot %d sample %d: hub temperature %+v; want %+v", n, k, gt, wantT)
			}
			if gh != wantH {
				t.Errorf("slot %d sample %d: hub humidity %+v; want %+v", n, k, gh, wantH)
			}
			g := got[n]
			g.temps, g.hums = append(g.temps, gt), append(g.hums, gh)
			got[n] = g
		}
	}

	for _, n := range slots {
		g := got[n]
		// The join fires on every input once it has seen both, with the
		// latest value of each: every dew point is the formula of some
		// received pair, and the last one that of the last pair. How many
		// fire depends on how the join's two input pumps interleave.
		var possible []contracts.DewPoint
		for _, tv := range g.temps {
			for _, hv := range g.hums {
				possible = append(possible, contracts.DewPointOf(tv, hv))
			}
		}
		last := contracts.DewPointOf(g.temps[samples-1], g.hums[samples-1])
		for i := 0; ; i++ {
			if i == 2*samples-1 {
				t.Fatalf("slot %d: %d dew points, none the formula of the last inputs %+v", n, i, last)
			}
			d := recv(t, subs[n].dew)
			if !slices.Contains(possible, d) {
				t.Errorf("slot %d: dew point %d %+v is not the formula of any received inputs", n, i, d)
			}
			if d == last {
				break
			}
		}
		// The station published every sample, and the hub stored each
		// of them in this slot only.
		for _, key := range []string{contracts.TemperatureKey(n).Name(), contracts.HumidityKey(n).Name()} {
			connectortest.WaitLink(t, stations[n], key, 0, 5*time.Second, "3 published", func(md aimdb.LinkMetadata) bool {
				return md.Published == samples
			})
		}
	}
	for _, k := range []string{contracts.TemperatureKey(0).Name(), contracts.HumidityKey(0).Name()} {
		md := connectortest.LinkStats(t, hub, k, 0)
		if md.Received != uint64(samples*len(slots)) || md.DecodeErrors != 0 {
			t.Errorf("%s inbound link: received %d, decode errors %d; want %d, 0", k, md.Received, md.DecodeErrors, samples*len(slots))
		}
	}
	for _, n := range []int{0, 3} { // slots no station publishes to
		s := subscribe(t, hub, contracts.TemperatureKey(n))
		if v, err := s.TryRecv(); !errors.Is(err, aimdb.ErrEmpty) {
			t.Errorf("slot %d temperature: TryRecv = %+v, %v; want ErrEmpty", n, v, err)
		}
	}
}

// TestHubRejects publishes, as a foreign station would, a version 1
// payload (migrated and stored) and payloads that break the contract or
// name a slot outside the pool (logged, counted, never stored; the record
// keeps its previous value).
func TestHubRejects(t *testing.T) {
	brokerURL := mqttbroker.Start(t)
	var logs logBuffer
	hub := startHub(t, brokerURL, 4, slog.New(slog.NewTextHandler(&logs, nil)))
	s3 := subscribeSlot(t, hub, 3)
	s0 := subscribeSlot(t, hub, 0)
	publish := mqttbroker.Publisher(t, brokerURL, "foreign-station")

	publish("station/3/humidity", `{"percent":50,"timestamp":1000}`)
	publish("station/3/temperature", `{"schema_version":2,"celsius":20.5,"timestamp":1000}`)
	if got, want := recv(t, s3.temp), (contracts.Temperature{Celsius: 20.5, Timestamp: 1000}); got != want {
		t.Errorf("v2 payload stored as %+v; want %+v", got, want)
	}
	publish("station/3/temperature", `{"schema_version":1,"temp":70.5,"timestamp":2000,"unit":"F"}`)
	migrated := contracts.Temperature{Celsius: (70.5 - 32) * 5 / 9, Timestamp: 2000}
	if got := recv(t, s3.temp); got != migrated {
		t.Errorf("v1 Fahrenheit payload stored as %+v; want %+v", got, migrated)
	}

	badTemps := []struct{ topic, payload, log string }{
		{"station/3/temperature", `{"schema_version":2,"celsius":`, "station.3.temperature: contracts: temperature: rejected payload: malformed JSON"},
		{"station/3/temperature", `{"celsius":30,"timestamp":3000}`, "station.3.temperature: contracts: temperature: rejected payload: missing schema_version"},
		{"station/3/temperature", `{"schema_version":3,"celsius":30,"timestamp":3000}`, "schema_version 3 is newer than 2"},
		{"station/3/temperature", `{"schema_version":2,"celsius":"30","timestamp":3000}`, "celsius: want a number, got a string"},
		{"station/3/temperature", `{"schema_version":2,"timestamp":3000}`, "missing celsius"},
		{"station/4/temperature", `{"schema_version":2,"celsius":30,"timestamp":3000}`, "slot 4 outside the hub's pool 0..3"},
		{"station/03/temperature", `{"schema_version":2,"celsius":30,"timestamp":3000}`, "has a leading zero"},
	}
	for _, b := range badTemps {
		publish(b.topic, b.payload)
	}
	badHums := []struct{ topic, payload, log string }{
		{"station/3/humidity", `{"percent":120,"timestamp":3000}`, "station.3.humidity: contracts: humidity: rejected payload: percent 120 outside 0..100"},
		{"station/3/humidity", `{"timestamp":3000}`, "missing percent"},
	}
	for _, b := range badHums {
		publish(b.topic, b.payload)
	}

	tempKey, humKey := contracts.TemperatureKey(0).Name(), contracts.HumidityKey(0).Name()
	connectortest.WaitLink(t, hub, tempKey, 0, 5*time.Second, "decode errors", func(md aimdb.LinkMetadata) bool {
		return md.DecodeErrors == uint64(len(badTemps))
	})
	connectortest.WaitLink(t, hub, humKey, 0, 5*time.Second, "decode errors", func(md aimdb.LinkMetadata) bool {
		return md.DecodeErrors == uint64(len(badHums))
	})
	if md := connectortest.LinkStats(t, hub, tempKey, 0); md.Received != uint64(2+len(badTemps)) {
		t.Errorf("temperature link received %d; want %d", md.Received, 2+len(badTemps))
	}

	// Nothing was stored, in slot 3 or in slot 0, the links' own record.
	for _, sub := range []*aimdb.Subscription[contracts.Temperature]{s3.temp, s0.temp} {
		if v, err := sub.TryRecv(); !errors.Is(err, aimdb.ErrEmpty) {
			t.Errorf("%s after rejected payloads: TryRecv = %+v, %v; want ErrEmpty", sub.Key(), v, err)
		}
	}
	if v, err := s0.hum.TryRecv(); !errors.Is(err, aimdb.ErrEmpty) {
		t.Errorf("slot 0 humidity: TryRecv = %+v, %v; want ErrEmpty", v, err)
	}
	// The record keeps its previous value, which remote access serves.
	rr, err := hub.Remote(contracts.TemperatureKey(3).Name())
	if err != nil {
		t.Fatal(err)
	}
	latest, err := rr.Latest()
	if want, _ := (contracts.TemperatureCodec{}).Encode(migrated); err != nil || string(latest) != string(want) {
		t.Errorf("remote latest of station.3.temperature = %s, %v; want %s", latest, err, want)
	}
	// Humidity kept its value too: the next temperature joins with it.
	if got := recv(t, s3.hum); got.Percent != 50 {
		t.Errorf("slot 3 humidity %+v; want 50 %%", got)
	}
	publish("station/3/temperature", `{"schema_version":2,"celsius":25,"timestamp":4000}`)
	if got, want := recv(t, s3.temp), (contracts.Temperature{Celsius: 25, Timestamp: 4000}); got != want {
		t.Errorf("after rejections, stored %+v; want %+v", got, want)
	}
	var dew contracts.DewPoint
	for dew.Timestamp != 4000 {
		dew = recv(t, s3.dew)
	}
	if want := (contracts.DewPoint{Celsius: 15, Timestamp: 4000}); dew != want {
		t.Errorf("dew point %+v; want %+v", dew, want)
	}

	// Every rejection was logged, naming the slot's record.
	out := logs.String()
	for _, b := range append(badTemps, badHums...) {
		if !strings.Contains(out, b.log) {
			t.Errorf("log lacks %q; log:\n%s", b.log, out)
		}
	}
	if n := strings.Count(out, "inbound payload failed to decode"); n != len(badTemps)+len(badHums) {
		t.Errorf("%d rejections logged; want %d", n, len(badTemps)+len(badHums))
	}
}
