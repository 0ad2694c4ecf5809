package metrics_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/loopback"
	"github.com/aimdb-go/aimdb/metrics"
)

// scrape GETs url and parses the body with Prometheus's own text parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: parsing the exposition: %v", url, err)
	}
	return fams
}

// value returns the value of the series of metric name whose labels
// include want, and whether there is one.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	mf := fams[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, lp := range m.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		}
	}
	return 0, false
}

// TestHandler runs a DB with a source, a named tap updating a gauge, a
// transform and a loopback link from one record to another, serves its
// metrics with an AimX server's, and checks that every metric family is
// there with its labels and that the counters move between scrapes.
func TestHandler(t *testing.T) {
	broker := loopback.New()
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"loop": broker.Dialer()}})
	temp, err := aimdb.Register(db, aimdb.NewKey[float64]("sensor.temp"), aimdb.Ring(8))
	if err != nil {
		t.Fatal(err)
	}
	temp.Source(func(ctx context.Context, p *aimdb.Producer[float64]) error {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for v := 0.0; ; v++ {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
			if err := p.Produce(v); err != nil {
				return err
			}
		}
	})
	g := temp.Gauge("celsius", "°C")
	temp.Tap(func(ctx context.Context, s *aimdb.Subscription[float64]) error {
		for v, err := range s.All(ctx) {
			if err == nil {
				g.Update(v)
			}
		}
		return nil
	}, aimdb.Named("log"))
	temp.LinkTo("loop://t/temp", codec.JSON[float64]{})
	double, err := aimdb.Register(db, aimdb.NewKey[float64]("sensor.double"), aimdb.Latest())
	if err != nil {
		t.Fatal(err)
	}
	aimdb.Transform(double, temp.Key(), func(v float64) (float64, bool) { return 2 * v, true })
	mirror, err := aimdb.Register(db, aimdb.NewKey[float64]("sensor.mirror"), aimdb.Ring(4))
	if err != nil {
		t.Fatal(err)
	}
	mirror.LinkFrom("loop://t/temp", codec.JSON[float64]{})
	aimdbtest.Start(t, db)

	srv := aimx.NewServer(db, nil)
	ln, f, err := aimx.Listen("tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln, f) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Error(err)
		}
	}()
	hs := httptest.NewServer(metrics.Handler(db, &metrics.Options{Server: srv}))
	defer hs.Close()
	url := hs.URL + "/metrics"

	dialCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	client, err := aimx.Dial(dialCtx, "tcp://"+ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	rec := func(key string) map[string]string { return map[string]string{"record": key, "family": ""} }
	with := func(m map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		maps.Copy(out, m)
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	outLink := with(rec("sensor.temp"), "link", "loop://t/temp", "direction", "out", "protocol", "loop")
	inLink := with(rec("sensor.mirror"), "link", "loop://t/temp", "direction", "in", "protocol", "loop")
	signal := with(rec("sensor.temp"), "signal", "celsius", "unit", "°C")
	// moving series must grow between two scrapes; present ones must
	// exist, with the value given unless it is negative.
	type series struct {
		name   string
		labels map[string]string
		want   float64
	}
	moving := []series{
		{"aimdb_record_produced_total", rec("sensor.temp"), 0},
		{"aimdb_record_consumed_total", rec("sensor.temp"), 0},
		{"aimdb_record_produced_total", rec("sensor.double"), 0},
		{"aimdb_record_produced_total", rec("sensor.mirror"), 0},
		{"aimdb_stage_calls_total", with(rec("sensor.temp"), "stage", "source[0]"), 0},
		{"aimdb_stage_calls_total", with(rec("sensor.temp"), "stage", "tap[0] log"), 0},
		{"aimdb_stage_calls_total", with(rec("sensor.double"), "stage", "transform[0]"), 0},
		{"aimdb_stage_seconds_total", with(rec("sensor.temp"), "stage", "tap[0] log"), 0},
		{"aimdb_signal_samples_total", signal, 0},
		{"aimdb_signal_last", signal, 0},
		{"aimdb_link_published_total", outLink, 0},
		{"aimdb_link_received_total", inLink, 0},
		{"aimdb_aimx_requests_total", nil, 0},
	}
	present := []series{
		{"aimdb_record_dropped_total", rec("sensor.temp"), -1},
		{"aimdb_record_buffer_items", rec("sensor.double"), 1},
		{"aimdb_record_buffer_capacity", rec("sensor.temp"), 8},
		{"aimdb_stage_min_seconds", with(rec("sensor.temp"), "stage", "tap[0] log"), -1},
		{"aimdb_stage_max_seconds", with(rec("sensor.temp"), "stage", "tap[0] log"), -1},
		{"aimdb_stage_errors_total", with(rec("sensor.temp"), "stage", "source[0]"), 0},
		{"aimdb_stage_restarts_total", with(rec("sensor.temp"), "stage", "source[0]"), 0},
		{"aimdb_stage_running", with(rec("sensor.temp"), "stage", "tap[0] log"), 1},
		{"aimdb_signal_min", signal, -1},
		{"aimdb_signal_max", signal, -1},
		{"aimdb_signal_mean", signal, -1},
		{"aimdb_link_connected", outLink, 1},
		{"aimdb_link_connected", inLink, 1},
		{"aimdb_link_state", with(outLink, "state", "connected"), 1},
		{"aimdb_link_state", with(outLink, "state", "disconnected"), 0},
		{"aimdb_link_reconnects_total", inLink, 0},
		{"aimdb_link_decode_errors_total", inLink, 0},
		{"aimdb_link_dropped_total", outLink, -1},
		{"aimdb_link_encode_errors_total", outLink, 0},
		{"aimdb_link_publish_errors_total", outLink, 0},
		{"aimdb_link_queued", outLink, -1},
		{"aimdb_aimx_connections_accepted_total", nil, 1},
		{"aimdb_aimx_connections_open", nil, 1},
		{"aimdb_aimx_connections_refused_total", nil, 0},
		{"aimdb_aimx_connections_unauthenticated", nil, 0},
		{"aimdb_aimx_connections_evicted_total", nil, 0},
		{"aimdb_aimx_hello_timeouts_total", nil, 0},
		{"aimdb_aimx_auth_closed_total", nil, 0},
		{"aimdb_aimx_accept_retries_total", nil, 0},
		{"aimdb_aimx_slow_closed_total", nil, 0},
		{"aimdb_aimx_records_over_cap_total", nil, 0},
		{"aimdb_aimx_error_replies_total", nil, 0},
		{"aimdb_aimx_subscriptions_open", nil, 0},
		{"aimdb_aimx_events_sent_total", nil, 0},
		{"aimdb_aimx_events_dropped_total", nil, 0},
		{"aimdb_aimx_frames_malformed_total", nil, 0},
		{"aimdb_aimx_frames_oversize_total", nil, 0},
		{"aimdb_aimx_auth_failures_total", nil, 0},
	}

	// Wait until the links are up and every moving series started.
	deadline := time.Now().Add(10 * time.Second)
	var first map[string]*dto.MetricFamily
	for {
		first = scrape(t, url)
		missing := ""
		for _, s := range moving {
			if v, ok := value(first, s.name, s.labels); !ok || v == 0 {
				missing = fmt.Sprintf("%s%v", s.name, s.labels)
				break
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not exported or still 0 after 10 s", missing)
		}
		if _, err := client.Records(dialCtx); err != nil { // moves aimx requests
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, s := range present {
		v, ok := value(first, s.name, s.labels)
		if !ok {
			t.Errorf("%s%v: not exported", s.name, s.labels)
		} else if s.want >= 0 && v != s.want {
			t.Errorf("%s%v = %v, want %v", s.name, s.labels, v, s.want)
		}
	}

	// Every moving series grows.
	deadline = time.Now().Add(10 * time.Second)
	pending := moving
	for len(pending) > 0 {
		if _, err := client.Records(dialCtx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		second := scrape(t, url)
		var still []series
		for _, s := range pending {
			a, _ := value(first, s.name, s.labels)
			b, _ := value(second, s.name, s.labels)
			if b <= a && s.name != "aimdb_signal_last" || b == a {
				still = append(still, s)
			}
		}
		pending = still
		if len(pending) > 0 && time.Now().After(deadline) {
			t.Fatalf("%s%v did not move in 10 s", pending[0].name, pending[0].labels)
		}
	}
}
