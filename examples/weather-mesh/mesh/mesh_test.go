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

// A testHub is a running hub and a publisher on its broker.
type testHub struct {
	db      *aimdb.DB
	fams    *mesh.HubFamilies
	publish func(topic, payload string)
}

// startHub runs a hub against the broker and returns it once both
// wildcard subscriptions are in place. Family links have no instance to
// report their connection on, so it publishes a probe (a topic that
// names no station, rejected without creating a record) until each
// family counts one.
func startHub(t *testing.T, brokerURL string, opts *mesh.HubOptions, log *slog.Logger) *testHub {
	t.Helper()
	d, err := mesh.HubDialer(brokerURL)
	if err != nil {
		t.Fatal(err)
	}
	if id := d.ClientID(); !strings.HasPrefix(id, mesh.HubClientIDPrefix) || len(id) != len(mesh.HubClientIDPrefix)+8 {
		t.Errorf("hub client id %q; want %s<8 hex digits>", id, mesh.HubClientIDPrefix)
	}
	db := newDB(t, d, nil, log)
	fams, err := mesh.Hub(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	aimdbtest.Start(t, db)
	h := &testHub{db: db, fams: fams, publish: mqttbroker.Publisher(t, brokerURL, "foreign-station")}
	deadline := time.Now().Add(5 * time.Second)
	for h.rejected(0) == 0 || h.rejected(1) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the hub's subscriptions are not in place after 5 s")
		}
		h.publish("station/probe/temperature", "{}")
		h.publish("station/probe/humidity", "{}")
		time.Sleep(20 * time.Millisecond)
	}
	return h
}

// rejected returns the Rejected count of the hub's family i
// (temperature, humidity, dew point).
func (h *testHub) rejected(i int) uint64 { return h.db.Families()[i].Rejected }

// famRecv receives a family's values by instance.
type famRecv[T any] struct {
	s       *aimdb.FamilySubscription[T]
	pending map[string][]T
}

func subscribeFamily[T any](t *testing.T, f *aimdb.Family[T]) *famRecv[T] {
	s := f.Subscribe()
	t.Cleanup(s.Close)
	return &famRecv[T]{s: s, pending: map[string][]T{}}
}

// next returns the next value of the instance key, failing the test
// after 5 s.
func (r *famRecv[T]) next(t *testing.T, key string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for len(r.pending[key]) == 0 {
		inst, v, err := r.s.Recv(ctx)
		if err != nil {
			t.Fatalf("%s: Recv: %v", key, err)
		}
		r.pending[inst.Key] = append(r.pending[inst.Key], v)
	}
	v := r.pending[key][0]
	r.pending[key] = r.pending[key][1:]
	return v
}

// empty reports whether no value of key arrives within 50 ms.
func (r *famRecv[T]) empty(t *testing.T, key string) bool {
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	for len(r.pending[key]) == 0 {
		inst, v, err := r.s.Recv(ctx)
		if err != nil {
			return true
		}
		r.pending[inst.Key] = append(r.pending[inst.Key], v)
	}
	return false
}

// TestHubCollectsStations runs a hub and two simulated stations, on
// virtual clocks, against an in-process broker: every sample of both
// stations reaches the hub's records exactly, each instance's link counts
// its own station's messages, and the hub's dew points are the formula
// applied to the inputs it received.
func TestHubCollectsStations(t *testing.T) {
	brokerURL := mqttbroker.Start(t)
	hub := startHub(t, brokerURL, nil, nil)
	temps, hums, dews := subscribeFamily(t, hub.fams.Temperature), subscribeFamily(t, hub.fams.Humidity), subscribeFamily(t, hub.fams.DewPoint)

	const (
		samples  = 3
		interval = time.Minute
	)
	start := time.Date(2026, 7, 1, 14, 0, 0, 0, time.UTC)
	slots := []int{1, 4711}
	clocks := map[int]*aimdb.VirtualClock{}
	stations := map[int]*aimdb.DB{}
	for _, n := range slots {
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
			gt := temps.next(t, contracts.KeyName(n, contracts.KindTemperature))
			gh := hums.next(t, contracts.KeyName(n, contracts.KindHumidity))
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
			d := dews.next(t, contracts.KeyName(n, contracts.KindDewPoint))
			if !slices.Contains(possible, d) {
				t.Errorf("slot %d: dew point %d %+v is not the formula of any received inputs", n, i, d)
			}
			if d == last {
				break
			}
		}
		// The station published every sample, and the hub stored each
		// of them in this station's instances only, counted there.
		for _, k := range []contracts.Kind{contracts.KindTemperature, contracts.KindHumidity} {
			connectortest.WaitLink(t, stations[n], contracts.KeyName(n, k), 0, 5*time.Second, "3 published", func(md aimdb.LinkMetadata) bool {
				return md.Published == samples
			})
			md := connectortest.LinkStats(t, hub.db, contracts.KeyName(n, k), 0)
			if md.Received != samples || md.DecodeErrors != 0 || md.Address != "mqtt://"+contracts.Topic(n, k) {
				t.Errorf("%s inbound link: %s received %d, decode errors %d; want %s, %d, 0", contracts.KeyName(n, k), md.Address, md.Received, md.DecodeErrors, contracts.Topic(n, k), samples)
			}
		}
	}
	// Two stations: six records, and nothing for stations that never
	// published.
	if got := len(hub.db.Records()); got != 3*len(slots) {
		t.Errorf("%d records; want %d", got, 3*len(slots))
	}
	for _, n := range []int{0, 3} {
		if _, err := hub.db.Remote(contracts.KeyName(n, contracts.KindTemperature)); !errors.Is(err, aimdb.ErrUnknownKey) {
			t.Errorf("slot %d temperature: Remote = %v; want ErrUnknownKey", n, err)
		}
	}
	for i, f := range hub.db.Families() {
		if f.Instances != len(slots) || f.MaxInstances != mesh.DefaultMaxStations {
			t.Errorf("family %d %s: %d instances of at most %d; want %d of %d", i, f.Template, f.Instances, f.MaxInstances, len(slots), mesh.DefaultMaxStations)
		}
	}
}

// TestHubRejects publishes, as a foreign station would, a version 1
// payload (migrated and stored) and payloads that break the contract or
// name no valid station (logged, counted, never stored; the record keeps
// its previous value).
func TestHubRejects(t *testing.T) {
	brokerURL := mqttbroker.Start(t)
	var logs logBuffer
	hub := startHub(t, brokerURL, nil, slog.New(slog.NewTextHandler(&logs, nil)))
	temps, hums, dews := subscribeFamily(t, hub.fams.Temperature), subscribeFamily(t, hub.fams.Humidity), subscribeFamily(t, hub.fams.DewPoint)
	publish := hub.publish
	const tk, hk, dk = "station.3.temperature", "station.3.humidity", "station.3.dew_point"

	publish("station/3/humidity", `{"percent":50,"timestamp":1000}`)
	publish("station/3/temperature", `{"schema_version":2,"celsius":20.5,"timestamp":1000}`)
	if got, want := temps.next(t, tk), (contracts.Temperature{Celsius: 20.5, Timestamp: 1000}); got != want {
		t.Errorf("v2 payload stored as %+v; want %+v", got, want)
	}
	if got := hums.next(t, hk); got.Percent != 50 {
		t.Errorf("slot 3 humidity %+v; want 50 %%", got)
	}
	publish("station/3/temperature", `{"schema_version":1,"temp":70.5,"timestamp":2000,"unit":"F"}`)
	migrated := contracts.Temperature{Celsius: (70.5 - 32) * 5 / 9, Timestamp: 2000}
	if got := temps.next(t, tk); got != migrated {
		t.Errorf("v1 Fahrenheit payload stored as %+v; want %+v", got, migrated)
	}
	rejectedT, rejectedH := hub.rejected(0), hub.rejected(1)

	// Bad payloads of an existing station count in its instance's link.
	badTemps := []string{
		`{"schema_version":2,"celsius":`,
		`{"celsius":30,"timestamp":3000}`,
		`{"schema_version":3,"celsius":30,"timestamp":3000}`,
		`{"schema_version":2,"celsius":"30","timestamp":3000}`,
		`{"schema_version":2,"timestamp":3000}`,
		`{"schema_version":2,"celsius":-300,"timestamp":3000}`,         // implausible
		`{"schema_version":1,"temp":1000,"timestamp":3000,"unit":"K"}`, // 726.85 °C once migrated
	}
	for _, p := range badTemps {
		publish("station/3/temperature", p)
	}
	badHums := []string{`{"percent":120,"timestamp":3000}`, `{"percent":-0.5,"timestamp":3000}`, `{"timestamp":3000}`}
	for _, p := range badHums {
		publish("station/3/humidity", p)
	}
	// Topics that name no valid station, and a bad first payload, count
	// in the family: no record is created for them.
	noStation := []string{"station/03/temperature", "station/70000/temperature", "station/-1/temperature", "station/5/temperature"}
	for _, topic := range noStation {
		payload := `{"schema_version":2,"celsius":30,"timestamp":3000}`
		if topic == "station/5/temperature" {
			payload = `{"schema_version":9}`
		}
		publish(topic, payload)
	}

	connectortest.WaitLink(t, hub.db, tk, 0, 5*time.Second, "decode errors", func(md aimdb.LinkMetadata) bool {
		return md.DecodeErrors == uint64(len(badTemps))
	})
	connectortest.WaitLink(t, hub.db, hk, 0, 5*time.Second, "decode errors", func(md aimdb.LinkMetadata) bool {
		return md.DecodeErrors == uint64(len(badHums))
	})
	deadline := time.Now().Add(5 * time.Second)
	for hub.rejected(0)-rejectedT != uint64(len(noStation)) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := hub.rejected(0) - rejectedT; got != uint64(len(noStation)) {
		t.Errorf("temperature family rejected %d messages; want %d", got, len(noStation))
	}
	if got := hub.rejected(1) - rejectedH; got != 0 {
		t.Errorf("humidity family rejected %d messages; want 0", got)
	}
	if md := connectortest.LinkStats(t, hub.db, tk, 0); md.Received != uint64(2+len(badTemps)) {
		t.Errorf("temperature link received %d; want %d", md.Received, 2+len(badTemps))
	}
	if md := connectortest.LinkStats(t, hub.db, hk, 0); md.Received != uint64(1+len(badHums)) {
		t.Errorf("humidity link received %d; want %d", md.Received, 1+len(badHums))
	}
	if n := len(hub.db.Records()); n != 3 {
		t.Errorf("%d records after rejected payloads; want station 3's 3", n)
	}

	// Nothing was stored.
	if !temps.empty(t, tk) || !hums.empty(t, hk) {
		t.Errorf("station 3 stored a rejected payload")
	}
	// The record keeps its previous value, which remote access serves.
	rr, err := hub.db.Remote(tk)
	if err != nil {
		t.Fatal(err)
	}
	latest, err := rr.Latest()
	if want, _ := contracts.TemperatureCodec.Encode(migrated); err != nil || string(latest) != string(want) {
		t.Errorf("remote latest of %s = %s, %v; want %s", tk, latest, err, want)
	}
	// Humidity kept its value too: the next temperature joins with it.
	publish("station/3/temperature", `{"schema_version":2,"celsius":25,"timestamp":4000}`)
	if got, want := temps.next(t, tk), (contracts.Temperature{Celsius: 25, Timestamp: 4000}); got != want {
		t.Errorf("after rejections, stored %+v; want %+v", got, want)
	}
	var dew contracts.DewPoint
	for dew.Timestamp != 4000 {
		dew = dews.next(t, dk)
	}
	if want := (contracts.DewPoint{Celsius: 15, Timestamp: 4000}); dew != want {
		t.Errorf("dew point %+v; want %+v", dew, want)
	}

	// Rejections are logged (at most once every 10 s per link), naming
	// the topic.
	if out := logs.String(); !strings.Contains(out, "station/probe/temperature") || !strings.Contains(out, "station/probe/humidity") {
		t.Errorf("log lacks the first rejections; log:\n%s", out)
	}
}
