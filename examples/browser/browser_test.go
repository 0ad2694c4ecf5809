// The test builds the page with the go command and drives Chromium:
// it needs processes, which js/wasm and wasip1 do not have.
//go:build !js && !wasip1

package main_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector/websocket"
	"github.com/aimdb-go/aimdb/internal/chromiumtest"
	"github.com/chromedp/chromedp"
)

type Temperature struct {
	Celsius float64 `json:"celsius"`
}

// TestBrowser builds the page's WebAssembly module, serves it with a hub
// whose station records the test produces, and loads it in headless
// Chromium. The page must show the snapshots of station.# and then a
// live value, and its write to a read-only record must be refused and
// change nothing.
func TestBrowser(t *testing.T) {
	chromiumtest.Require(t)
	dir := t.TempDir()
	wasm := filepath.Join(dir, "main.wasm")
	build := exec.Command("go", "build", "-o", wasm, ".")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=js GOARCH=wasm go build: %v\n%s", err, out)
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	wasmExec := filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js")

	// The hub: three station records with values before the page loads.
	db := aimdb.New(nil)
	temp1 := register(t, db, aimdb.NewKey[Temperature]("station.1.temperature"), aimdb.Ring(16))
	temp2 := register(t, db, aimdb.NewKey[Temperature]("station.2.temperature"), aimdb.Ring(16))
	hum1 := register(t, db, aimdb.NewKey[float64]("station.1.humidity"), aimdb.Latest())
	aimdbtest.Start(t, db)
	temp1.Produce(Temperature{21.5})
	temp2.Produce(Temperature{19})
	hum1.Produce(55)

	h := websocket.NewHandler(aimx.NewServer(db, nil), nil) // read-only
	t.Cleanup(func() { h.Close() })
	mux := h.Mux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, "index.html") })
	mux.HandleFunc("GET /main.wasm", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, wasm) })
	mux.HandleFunc("GET /wasm_exec.js", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, wasmExec) })
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)

	// The page's uncaught exceptions go to the test log; the checks below
	// say what went wrong.
	bctx := chromiumtest.Open(t, 2*time.Minute, t.Logf)

	ua, err := chromedp.Run(bctx, chromedp.Evaluate[string]("navigator.userAgent"))
	if err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	t.Logf("browser: %s", ua)
	if err := chromedp.Do(bctx, chromedp.Navigate(ts.URL+"/?pattern=station.%23")); err != nil {
		t.Fatal(err)
	}
	text := func(id string) string {
		s, err := chromedp.Run(bctx, chromedp.Evaluate[string](fmt.Sprintf(`document.getElementById(%q).textContent`, id)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	value := func(key string) string {
		return fmt.Sprintf(`(document.querySelector('tr[data-key="%s"] .value') || {}).textContent`, key)
	}
	// wait polls a JavaScript condition on the page.
	wait := func(what, cond string) {
		t.Helper()
		if _, err := chromedp.Run(bctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(time.Minute))); err != nil {
			t.Fatalf("waiting for %s: %v (status %q, snapshots %q, events %q)", what, err, text("status"), text("snapshots"), text("events"))
		}
	}

	// Snapshots of every station record, in the stream and in the
	// mirrored DB's table.
	wait("the snapshots", `document.getElementById("snapshots").textContent === "3 (last)"`)
	wait("the mirrored values", value("station.1.temperature")+` === '{"celsius":21.5}' && `+
		value("station.2.temperature")+` === '{"celsius":19}' && `+value("station.1.humidity")+` === "55"`)
	if got := text("events"); got != "0" {
		t.Errorf("live events before any value was produced: %q", got)
	}

	// Then a live value.
	temp1.Produce(Temperature{22.25})
	wait("the live event", `document.getElementById("last-event").textContent === 'station.1.temperature = {"celsius":22.25}'`)
	wait("the mirrored live value", value("station.1.temperature")+` === '{"celsius":22.25}'`)
	if got := text("events"); got != "1" {
		t.Errorf("live events = %q, want 1", got)
	}

	// The write to a read-only record was refused and changed nothing.
	wait("the write attempt", `document.getElementById("after-write").textContent !== ""`)
	if got := text("write"); got != "refused: denied" {
		t.Errorf("record.set from the page: %q, want refused: denied", got)
	}
	if got := text("after-write"); strings.Contains(got, "-99") {
		t.Errorf("station.1.temperature after the page's writes: %s", got)
	}
	r, err := db.Remote("station.1.temperature")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := r.Latest(); err != nil || string(v) != `{"celsius":22.25}` {
		t.Errorf("the hub's station.1.temperature = %s, %v; want {\"celsius\":22.25}", v, err)
	}
	t.Logf("the page showed 3 snapshots, then the live value; its write was %q", text("write"))
}

func register[T any](t *testing.T, db *aimdb.DB, k aimdb.Key[T], b aimdb.Buffer) *aimdb.Record[T] {
	t.Helper()
	r, err := aimdb.Register(db, k, b)
	if err != nil {
		t.Fatal(err)
	}
	r.RemoteAccess(codec.JSON[T]{})
	return r
}
