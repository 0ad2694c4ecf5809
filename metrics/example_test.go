package metrics_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/metrics"
)

// Serve a DB's metrics at /metrics and scrape them.
func ExampleHandler() {
	db := aimdb.New(nil)
	temp, _ := aimdb.Register(db, aimdb.NewKey[float64]("sensor.temp"), aimdb.Ring(8))
	for _, v := range []float64{21.5, 21.75, 22} {
		_ = temp.Produce(v)
	}

	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics.Handler(db, nil))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if l := lines.Text(); strings.HasPrefix(l, "aimdb_record_") {
			fmt.Println(l)
		}
	}
	// Output:
	// aimdb_record_buffer_capacity{family="",record="sensor.temp"} 8
	// aimdb_record_buffer_items{family="",record="sensor.temp"} 3
	// aimdb_record_consumed_total{family="",record="sensor.temp"} 0
	// aimdb_record_dropped_total{family="",record="sensor.temp"} 0
	// aimdb_record_produced_total{family="",record="sensor.temp"} 3
}
