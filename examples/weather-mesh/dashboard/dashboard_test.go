// The test drives Chromium, a separate process, which js/wasm and
// wasip1 do not have.
//go:build !js && !wasip1

package dashboard_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/mqtt/mqttbroker"
	"github.com/aimdb-go/aimdb/connector/websocket"
	"github.com/aimdb-go/aimdb/contract"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/dashboard"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
	"github.com/aimdb-go/aimdb/internal/chromiumtest"
	"github.com/aimdb-go/aimdb/persist"
	"github.com/chromedp/chromedp"
)

var screenshot = flag.String("screenshot", "", "TestDashboard also writes a 1280×800 PNG of the page, with four simulated stations, to this file")

// TestDashboard serves the page with a weather hub (mesh.Hub, every
// record opened for remote access) and AimX's WebSocket at /ws, produces
// readings for stations 1 and 2, and checks in headless Chromium that
// the page is live, shows one card per station with its values and dew
// point, follows a live update, and draws the station's record graph.
func TestDashboard(t *testing.T) {
	hub := startHub(t, "", nil)
	db := hub.db
	now := time.Now()
	reading(t, db, 1, 21.4, 58.2, now)
	reading(t, db, 2, 18.7, 63.0, now)

	b := newBrowser(t)
	if err := chromedp.Do(b.ctx, chromedp.Navigate(hub.url+"/")); err != nil {
		t.Fatal(err)
	}
	b.wait("the connection to go live", `document.getElementById("status").dataset.state === "live" &&
		document.getElementById("status-text").textContent === "Live"`)
	b.wait("cards for stations 1 and 2, in order", `[...document.querySelectorAll(".card")].map(c => c.dataset.slot).join() === "1,2"`)
	want := map[string]string{
		metric(1, "temperature"): "21.4",
		metric(1, "humidity"):    "58.2",
		metric(1, "dew_point"):   dew(21.4, 58.2),
		metric(2, "temperature"): "18.7",
		metric(2, "humidity"):    "63.0",
		metric(2, "dew_point"):   dew(18.7, 63.0),
	}
	for sel, v := range want {
		b.wait(sel+" = "+v, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent === %q`, sel, v))
	}
	b.wait("the contracts read from /schemas", `document.body.dataset.schemas === "loaded"`)
	if got := b.text(`.card[data-slot="1"] .metric[data-kind="temperature"] .unit`); got != "°C" {
		t.Errorf("temperature unit = %q, want °C", got)
	}

	// A live update replaces the value, and the join's dew point follows.
	reading(t, db, 1, 22.6, 58.2, time.Now())
	b.wait("the live temperature", fmt.Sprintf(`document.querySelector(%q).textContent === "22.6"`, metric(1, "temperature")))
	b.wait("the live dew point", fmt.Sprintf(`document.querySelector(%q).textContent === %q`, metric(1, "dew_point"), dew(22.6, 58.2)))
	if got := b.text(metric(2, "temperature")); got != "18.7" {
		t.Errorf("station 2's temperature after station 1's update = %q, want 18.7", got)
	}

	// The record graph of station 1, from record.list: two MQTT links
	// (the instances' views of the families' wildcard links) into the
	// readings, joined into the dew point.
	b.wait("the record graph", `document.querySelectorAll("#graph .node").length === 5`)
	for _, node := range []string{"mqtt://station/1/temperature", "mqtt://station/1/humidity",
		"station.1.temperature", "station.1.humidity", "station.1.dew_point"} {
		if !strings.Contains(b.text("#graph"), node) {
			t.Errorf("record graph has no node %s: %q", node, b.text("#graph"))
		}
	}
	if got := b.text(`#graph .node-join .node-detail`); !strings.HasPrefix(got, "join") {
		t.Errorf("dew point node says %q, want a join", got)
	}
	b.wait("the summary", `document.getElementById("stat-stations").textContent === "2" &&
		document.getElementById("stat-live").textContent === "2"`)
	if got := b.text("#stat-lost"); got != "0" {
		t.Errorf("lost = %s, want 0", got)
	}

	// The connection drops: the page reconnects with backoff, subscribes
	// again and follows new values; the snapshots it gets again are no
	// new values.
	hub.drop()
	b.wait("the reconnect", `document.getElementById("status").dataset.connects === "2" &&
		document.getElementById("status").dataset.state === "live"`)
	reading(t, db, 2, 19.9, 63.0, time.Now())
	b.wait("a value after the reconnect", fmt.Sprintf(`document.querySelector(%q).textContent === "19.9"`, metric(2, "temperature")))
	// Station 2's values: the three snapshots, then two readings and the
	// two dew points joined from them; not the snapshots sent again.
	b.wait("station 2's count", `document.querySelector('.card[data-slot="2"] .card-foot').textContent.endsWith(" 7 values")`)
	if got := b.text("#stat-lost"); got != "0" {
		t.Errorf("lost after the reconnect = %s, want 0", got)
	}

	// A station that appears while the page is open gets a card without
	// a reload: its records are family instances created after the
	// page subscribed to station.*.
	t.Run("new station", func(t *testing.T) {
		b := &browser{t: t, ctx: b.ctx} // fails this subtest, not its parent
		reading(t, db, 4711, 12.5, 70, time.Now())
		b.wait("a card for station 4711, which appeared after the page subscribed (the AimX wildcard subscription must deliver records created after it, via db.WatchRecords)",
			fmt.Sprintf(`(document.querySelector(%q) || {}).textContent === "12.5"`, metric(4711, "temperature")))
	})

	if *screenshot != "" {
		t.Run("screenshot", func(t *testing.T) { writeScreenshot(t, b, *screenshot) })
	}
}

// TestDashboardHistory: against a hub that keeps history, the page's
// sparklines start with the stored values of the last five minutes, not
// with one point ("collecting history…"), and after a reconnect they get
// the values produced while the page was cut off, each once.
func TestDashboardHistory(t *testing.T) {
	store := persist.NewMemory()
	hub := startHub(t, "", store)
	db := hub.db
	// Two minutes of readings of station 5, every two seconds, stored
	// before the page opens.
	const before, during = 60, 20
	start := time.Now().Add(-2 * time.Minute)
	at := func(i int) time.Time { return start.Add(time.Duration(i) * 2 * time.Second) }
	for i := range before {
		reading(t, db, 5, 20+float64(i%7)/10, 55, at(i))
	}
	stored := func(key string) int {
		rows, err := store.Query(t.Context(), persist.Query{Pattern: key})
		if err != nil {
			t.Fatal(err)
		}
		return len(rows)
	}
	// points is what a sparkline of station 5 should hold: the record's
	// stored values, one per distinct time and number (the join stamps
	// both dew points of a reading with its time, and gives the same
	// number when the humidity did not change). The page asks for the
	// newest 150 per record on every connect; the first had all of them.
	points := func(kind string) int {
		rows, err := store.Query(t.Context(), persist.Query{Pattern: "station.5." + kind})
		if err != nil {
			t.Fatal(err)
		}
		field := map[string]string{"temperature": "celsius", "humidity": "percent", "dew_point": "celsius"}[kind]
		seen := map[[2]float64]bool{}
		for _, r := range rows {
			var v map[string]float64
			if err := json.Unmarshal(r.Data, &v); err != nil {
				t.Fatalf("stored %s: %v", r.Data, err)
			}
			seen[[2]float64{v["timestamp"], v[field]}] = true
		}
		return len(seen)
	}
	// waitStored waits until the store holds n readings of station 5 and
	// the dew point joined from the last one (the join has caught up).
	waitStored := func(n int, celsius, percent float64) {
		t.Helper()
		ms := contracts.Millis(at(n - 1))
		last, err := contracts.DewPointCodec.Encode(contracts.DewPointOf(
			contracts.Temperature{Celsius: float32(celsius), Timestamp: ms}, contracts.Humidity{Percent: float32(percent), Timestamp: ms}))
		if err != nil {
			t.Fatal(err)
		}
		done := func() bool {
			rows, err := store.Latest(t.Context(), "station.5.dew_point")
			if err != nil {
				t.Fatal(err)
			}
			return stored("station.5.temperature") == n && stored("station.5.humidity") == n &&
				len(rows) == 1 && string(rows[0].Data) == string(last)
		}
		for deadline := time.Now().Add(10 * time.Second); !done(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the store does not hold %d readings of station 5 and the dew point %s of the last", n, last)
			}
		}
	}
	waitStored(before, 20+float64((before-1)%7)/10, 55)

	b := newBrowser(t)
	if err := chromedp.Do(b.ctx, chromedp.Navigate(hub.url+"/")); err != nil {
		t.Fatal(err)
	}
	spark := func(kind string) string {
		return fmt.Sprintf(`(document.querySelector('.card[data-slot="5"] .metric[data-kind="%s"] .spark') || {dataset: {}}).dataset.points`, kind)
	}
	for _, kind := range []string{"temperature", "humidity", "dew_point"} {
		want := points(kind)
		if kind != "dew_point" && want != before {
			t.Fatalf("the store has %d distinct %s values of station 5; want %d", want, kind, before)
		}
		b.wait(fmt.Sprintf("%s's sparkline with the %d stored values", kind, want), fmt.Sprintf(`%s === "%d"`, spark(kind), want))
	}
	if got := b.text(`.card[data-slot="5"] .metric[data-kind="temperature"] .range`); strings.Contains(got, "collecting") {
		t.Errorf("the temperature range says %q after the history loaded", got)
	}
	b.wait("the newest stored temperature shown", fmt.Sprintf(`document.querySelector(%q).textContent === %q`, metric(5, "temperature"), fmt.Sprintf("%.1f", 20+float64((before-1)%7)/10)))

	// The page is cut off while the station reports on.
	hub.refused.Store(true)
	hub.drop()
	b.wait("the page to notice", `document.getElementById("status").dataset.state === "reconnecting"`)
	for i := before; i < before+during; i++ {
		reading(t, db, 5, 21+float64(i%5)/10, 56, at(i))
	}
	waitStored(before+during, 21+float64((before+during-1)%5)/10, 56)
	hub.refused.Store(false)
	b.wait("the reconnect", `document.getElementById("status").dataset.connects === "2" &&
		document.getElementById("status").dataset.state === "live"`)
	for _, kind := range []string{"temperature", "humidity", "dew_point"} {
		want := points(kind)
		if kind != "dew_point" && want != before+during {
			t.Fatalf("the store has %d distinct %s values of station 5; want %d", want, kind, before+during)
		}
		b.wait(fmt.Sprintf("%s's sparkline with the %d values, those missed while cut off too", kind, want), fmt.Sprintf(`%s === "%d"`, spark(kind), want))
	}
	if got := b.text("#stat-lost"); got != "0" {
		t.Errorf("lost = %s, want 0", got)
	}
}

// TestDashboardNoHistory: a hub without a history store answers
// record.query with an error; the page says so to itself (data-history)
// and fills its sparklines from live values, starting with one point.
func TestDashboardNoHistory(t *testing.T) {
	hub := startHub(t, "", nil)
	reading(t, hub.db, 6, 19.0, 50, time.Now())
	b := newBrowser(t)
	if err := chromedp.Do(b.ctx, chromedp.Navigate(hub.url+"/")); err != nil {
		t.Fatal(err)
	}
	b.wait("the history refused", `document.body.dataset.history === "none"`)
	b.wait("one point, collecting", `(document.querySelector('.card[data-slot="6"] .metric[data-kind="temperature"] .spark') || {dataset: {}}).dataset.points === "1" &&
		document.querySelector('.card[data-slot="6"] .metric[data-kind="temperature"] .range').textContent === "collecting history…"`)
}

// writeScreenshot loads the page against a fresh hub, connected to an
// MQTT broker as in the demo, with four simulated stations, one of which
// stops reporting, and writes a PNG of it.
func writeScreenshot(t *testing.T, parent *browser, path string) {
	b := &browser{t: t, ctx: parent.ctx} // fails this subtest, not its parent
	broker := mqttbroker.Start(t)
	hub := startHub(t, broker, nil)
	db := hub.db
	for _, key := range []string{"station.0.temperature", "station.0.humidity"} {
		connectortest.WaitLink(t, db, key, 0, 5*time.Second, "connected", func(md aimdb.LinkMetadata) bool { return md.Connected })
	}
	publish := mqttbroker.Publisher(t, broker, "dashboard-screenshot")
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(hub.url+"/")); err != nil {
		t.Fatal(err)
	}
	b.wait("live", `document.getElementById("status").dataset.state === "live"`)
	const (
		stations = 4
		interval = 2 * time.Second
		history  = 150 // readings: five minutes
	)
	sims := make([]*mesh.Simulator, stations+1)
	for n := 1; n <= stations; n++ {
		sims[n] = mesh.NewSimulator(uint64(n))
	}
	// The readings go through the broker, as a station's would.
	produce := func(n int, at time.Time) {
		temp, err := contracts.TemperatureCodec.Encode(sims[n].Temperature(at))
		if err != nil {
			t.Fatal(err)
		}
		hum, err := contracts.HumidityCodec.Encode(sims[n].Humidity(at))
		if err != nil {
			t.Fatal(err)
		}
		publish(contracts.TemperatureTopic(n), string(temp))
		publish(contracts.HumidityTopic(n), string(hum))
	}
	// Five minutes of history, paced so that no event is dropped; the
	// last station stopped a minute ago.
	start := time.Now().Add(-history * interval)
	for i := range history {
		at := start.Add(time.Duration(i) * interval)
		for n := 1; n <= stations; n++ {
			if n < stations || i < history-30 {
				produce(n, at)
			}
		}
		time.Sleep(4 * time.Millisecond)
	}
	// Then live readings, long enough for the rate window and for the
	// last station to turn stale.
	for range 6 {
		time.Sleep(interval)
		for n := 1; n < stations; n++ {
			produce(n, time.Now())
		}
	}
	time.Sleep(300 * time.Millisecond)
	b.wait("a stale station", `document.querySelectorAll(".card.stale").length === 1`)
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes); lost %s", path, len(png), b.text("#stat-lost"))
}

// A hub is a weather hub DB served over AimX's WebSocket at /ws, with
// the dashboard at /.
type hub struct {
	db      *aimdb.DB
	url     string // the HTTP server's
	srv     *aimx.Server
	ws      atomic.Pointer[websocket.Handler]
	refused atomic.Bool // /ws answers 503, as a hub that is down
}

// drop ends every WebSocket connection, as a server restart would, and
// serves later upgrades with a new handler.
func (h *hub) drop() {
	old := h.ws.Swap(websocket.NewHandler(h.srv, nil))
	old.Close()
}

// startHub runs a weather hub with every record opened for remote
// access and serves it until the test ends. The test produces the
// readings itself; with broker "", the hub's MQTT connector points at a
// port nobody listens on and keeps retrying in the background. With a
// history backend, the hub keeps every reading in it, as the demo does,
// and answers record.query from it.
func startHub(t *testing.T, broker string, history persist.Backend) *hub {
	t.Helper()
	return startMirroringHub(t, broker, history, "")
}

// startMirroringHub is startHub with, when device is not empty, a mirror
// link (mesh.MirrorConnector) to the stations the device serves over
// AimX at that endpoint.
func startMirroringHub(t *testing.T, broker string, history persist.Backend, device string) *hub {
	t.Helper()
	if broker == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		broker = "mqtt://" + ln.Addr().String()
		ln.Close()
	}
	d, err := mesh.HubDialer(broker)
	if err != nil {
		t.Fatal(err)
	}
	connectors := map[string]connector.Dialer{"mqtt": d}
	var mirrors []string
	if device != "" {
		scheme, md, err := mesh.MirrorConnector(device, 1)
		if err != nil {
			t.Fatal(err)
		}
		connectors[scheme], mirrors = md, []string{scheme}
	}
	db := aimdb.New(&aimdb.Options{
		Logger:     slog.New(slog.DiscardHandler),
		Connectors: connectors,
	})
	fams, err := mesh.Hub(db, &mesh.HubOptions{Mirrors: mirrors})
	if err != nil {
		t.Fatal(err)
	}
	so := &aimx.ServerOptions{Contracts: contracts.All}
	if history != nil {
		s := persist.NewStore(history, &persist.StoreOptions{Logger: slog.New(slog.DiscardHandler)})
		persist.AttachFamily(fams.Temperature, s, contracts.TemperatureCodec, nil)
		persist.AttachFamily(fams.Humidity, s, contracts.HumidityCodec, nil)
		persist.AttachFamily(fams.DewPoint, s, contracts.DewPointCodec, nil)
		so.Query = aimx.History(history)
	}
	aimdbtest.Start(t, db)

	h := &hub{db: db, srv: aimx.NewServer(db, so)}
	h.ws.Store(websocket.NewHandler(h.srv, nil))
	mux := http.NewServeMux()
	mux.Handle("/ws", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.refused.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		h.ws.Load().ServeHTTP(w, r)
	}))
	mux.Handle("GET /schemas", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ws.Load().Mux().ServeHTTP(w, r) }))
	mux.Handle("/", dashboard.Handler())
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	t.Cleanup(func() { h.ws.Load().Close() }) // before ts.Close, which waits for the WebSocket handlers
	h.url = ts.URL
	return h
}

// reading produces one reading of station n; the hub joins the dew point.
func reading(t *testing.T, db *aimdb.DB, n int, celsius, percent float64, at time.Time) {
	t.Helper()
	ms := contracts.Millis(at)
	if err := aimdb.Produce(db, contracts.TemperatureKey(n), contracts.Temperature{Celsius: float32(celsius), Timestamp: ms}); err != nil {
		t.Fatal(err)
	}
	if err := aimdb.Produce(db, contracts.HumidityKey(n), contracts.Humidity{Percent: float32(percent), Timestamp: ms}); err != nil {
		t.Fatal(err)
	}
}

// metric returns the selector of the number shown for a station's record.
func metric(slot int, kind string) string {
	return fmt.Sprintf(`.card[data-slot="%d"] .metric[data-kind="%s"] .num`, slot, kind)
}

// dew returns the dew point the page should show, to one decimal.
func dew(celsius, percent float64) string {
	return fmt.Sprintf("%.1f", contracts.DewPointOf(contracts.Temperature{Celsius: float32(celsius)}, contracts.Humidity{Percent: float32(percent)}).Celsius)
}

// A browser is a headless Chromium tab, closed when the test ends.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	bctx := chromiumtest.Open(t, time.Minute, t.Errorf, chromedp.WindowSize(1280, 800))
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[string]("navigator.userAgent")); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return &browser{t: t, ctx: bctx}
}

// wait polls a JavaScript condition on the page for up to ten seconds.
func (b *browser) wait(what, cond string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		b.t.Fatalf("waiting for %s: %v (status %q; cards %q)", what, err, b.text("#status"), b.text("#stations"))
	}
}

// text returns the text content of the first element matching selector,
// or "" if there is none.
func (b *browser) text(selector string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, selector)))
	if err != nil {
		b.t.Fatalf("reading %s: %v", selector, err)
	}
	return s
}

// tempC is a temperature contract whose value field is not the mesh's.
type tempC struct {
	TempC     float32 `json:"temp_c"`
	Timestamp uint64  `json:"timestamp"`
}

func (tempC) Schema() contract.Schema { return contract.Schema{Name: "temperature", Version: 1} }

// TestDashboardFieldsFromSchemas serves the page beside a hub whose
// temperature contract names its value temp_c, not celsius: the page
// must read the name from GET /schemas to show the value.
func TestDashboardFieldsFromSchemas(t *testing.T) {
	db := aimdb.New(&aimdb.Options{Logger: slog.New(slog.DiscardHandler)})
	key := aimdb.NewKey[tempC]("station.3.temperature")
	rec, err := aimdb.Register(db, key, aimdb.Latest())
	if err != nil {
		t.Fatal(err)
	}
	tc := contract.New(contract.Def[tempC]{})
	rec.RemoteAccess(codec.JSONFor(tc))
	aimdbtest.Start(t, db)
	if err := aimdb.Produce(db, key, tempC{TempC: 19.5, Timestamp: contracts.Millis(time.Now())}); err != nil {
		t.Fatal(err)
	}
	ws := websocket.NewHandler(aimx.NewServer(db, &aimx.ServerOptions{Contracts: []contract.Versioned{tc}}), nil)
	mux := ws.Mux()
	mux.Handle("/", dashboard.Handler())
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	t.Cleanup(func() { ws.Close() })

	b := newBrowser(t)
	if err := chromedp.Do(b.ctx, chromedp.Navigate(ts.URL+"/")); err != nil {
		t.Fatal(err)
	}
	b.wait("the contracts read from /schemas", `document.body.dataset.schemas === "loaded"`)
	b.wait("station 3's temperature from temp_c", fmt.Sprintf(`(document.querySelector(%q) || {}).textContent === "19.5"`, metric(3, "temperature")))
	if got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('.card[data-slot="3"] .metric[data-kind="temperature"]').dataset.field`)); err != nil || got != "temp_c" {
		t.Errorf("the temperature row reads field %q (%v); want temp_c", got, err)
	}
}
