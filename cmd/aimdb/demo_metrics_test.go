package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
)

// TestDemoMetrics scrapes /metrics from a running demo, parses it with
// Prometheus's text parser, and checks that a station's hub record and
// the hub's inbound MQTT link (on slot 0's record: one wildcard link
// routes every station's readings) count what arrives.
func TestDemoMetrics(t *testing.T) {
	d := startTestDemo(t, freeDemo(t, 2))
	url := d.httpURL + "metrics"
	// sum adds the series of name for record key (and direction, when
	// not empty), and reports whether there is any.
	sum := func(fams map[string]*dto.MetricFamily, name, key, direction string) (float64, bool) {
		var v float64
		found := false
		for _, m := range fams[name].GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			if labels["record"] != key || direction != "" && labels["direction"] != direction {
				continue
			}
			found = true
			v += m.GetCounter().GetValue()
		}
		return v, found
	}
	counters := []struct{ name, key, direction string }{
		{"aimdb_record_produced_total", contracts.TemperatureFamily.Template(), ""},
		{"aimdb_link_received_total", contracts.TemperatureFamily.Template(), "in"},
	}
	// A station's records appear with its first reading; the metrics
	// aggregate a family's instances under its template.
	var first map[string]*dto.MetricFamily
	for wait := time.Now().Add(10 * time.Second); ; {
		first = scrapeDemo(t, url)
		missing := ""
		for _, c := range counters {
			if _, ok := sum(first, c.name, c.key, c.direction); !ok {
				missing = fmt.Sprintf("%s{record=%q}", c.name, c.key)
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(wait) {
			t.Fatalf("%s: not exported 10 s after the demo started", missing)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, ok := first["aimdb_aimx_connections_open"]; !ok {
		t.Error("aimdb_aimx_connections_open: not exported")
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, c := range counters {
		before, _ := sum(first, c.name, c.key, c.direction)
		for {
			now, _ := sum(scrapeDemo(t, url), c.name, c.key, c.direction)
			if now > before {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s{record=%q} stayed at %v for 10 s", c.name, c.key, now)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func scrapeDemo(t *testing.T, url string) map[string]*dto.MetricFamily {
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
		t.Fatalf("GET %s: %v", url, err)
	}
	return fams
}

// TestDemoRefusesForeignHost: the demo's HTTP server listens on
// loopback, so it answers localhost and IP addresses but refuses a
// foreign Host on every route (a page rebound to 127.0.0.1 by its DNS).
func TestDemoRefusesForeignHost(t *testing.T) {
	d := startTestDemo(t, freeDemo(t, 0))
	for _, tc := range []struct {
		host, path string
		want       int
	}{
		{"evil.example", "", 403}, {"evil.example", "metrics", 403}, {"evil.example", "ws?v=3.0", 403},
		{"localhost", "", 200}, {"", "metrics", 200},
	} {
		req, _ := http.NewRequest("GET", d.httpURL+tc.path, nil)
		if tc.host != "" {
			req.Host = tc.host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET /%s with Host %q: %s; want %d", tc.path, tc.host, resp.Status, tc.want)
		}
	}
}
