package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx"
)

const tmpl = "station.{id}.temperature"

// instance is the synthetic metadata of one instance of tmpl.
func instance(id string, produced uint64, samples uint64, mean float64) aimdb.RecordMetadata {
	return aimdb.RecordMetadata{
		RecordKey: "station." + id + ".temperature", Family: tmpl,
		ProducedCount: produced, Occupancy: [2]int{1, 1},
		StageProfiling: []aimdb.StageProfile{{StageType: "tap", Index: 0, Name: "log", CallCount: produced, TotalTimeNs: produced * 1000, MinTimeNs: 500, MaxTimeNs: 2000 * produced, Running: true}},
		SignalStats:    []aimdb.SignalStats{{Signal: "celsius", Unit: "°C", Count: samples, Last: mean, Min: mean - 1, Max: mean + 1, Mean: mean}},
		Links:          []aimdb.LinkMetadata{{Direction: "in", Protocol: "mqtt", Address: "mqtt://broker/station/" + id + "/temperature", State: aimdb.LinkConnected, Connected: true, Reconnects: 2, Received: produced}},
	}
}

func fixedCollector(in *input, perInstance bool) *Collector {
	return &Collector{read: func() input { return *in }, perInstance: perInstance}
}

var family = aimdb.FamilyMetadata{Template: tmpl, Instances: 2, MaxInstances: 100, Created: 3, Refused: 1, Evicted: 1, Rejected: 4}

// TestFamilyAggregated checks that the instances of a family are summed
// into one set of series labelled with the template, that gauges
// combine by their own rule, and that an evicted instance's counters
// stay in the sum.
func TestFamilyAggregated(t *testing.T) {
	in := &input{
		records: []aimdb.RecordMetadata{
			{RecordKey: "cfg", ProducedCount: 4, Occupancy: [2]int{1, 1}},
			instance("1", 10, 2, 20),
			instance("2", 30, 6, 24),
		},
		families: []aimdb.FamilyMetadata{family},
	}
	c := fixedCollector(in, false)
	want := `
# HELP aimdb_record_produced_total Values written to the record's buffer.
# TYPE aimdb_record_produced_total counter
aimdb_record_produced_total{family="",record="cfg"} 4
aimdb_record_produced_total{family="station.{id}.temperature",record="station.{id}.temperature"} 40
# HELP aimdb_record_buffer_items Values the record's buffer holds.
# TYPE aimdb_record_buffer_items gauge
aimdb_record_buffer_items{family="",record="cfg"} 1
aimdb_record_buffer_items{family="station.{id}.temperature",record="station.{id}.temperature"} 2
# HELP aimdb_stage_calls_total Values produced by a source, handed to a tap, or passed to a transform.
# TYPE aimdb_stage_calls_total counter
aimdb_stage_calls_total{family="station.{id}.temperature",record="station.{id}.temperature",stage="tap[0] log"} 40
# HELP aimdb_stage_max_seconds Longest timed call of the stage.
# TYPE aimdb_stage_max_seconds gauge
aimdb_stage_max_seconds{family="station.{id}.temperature",record="station.{id}.temperature",stage="tap[0] log"} 6e-05
# HELP aimdb_stage_running 1 while the stage runs (for a family: the instances whose stage runs).
# TYPE aimdb_stage_running gauge
aimdb_stage_running{family="station.{id}.temperature",record="station.{id}.temperature",stage="tap[0] log"} 2
# HELP aimdb_signal_mean The mean of the gauge's samples.
# TYPE aimdb_signal_mean gauge
aimdb_signal_mean{family="station.{id}.temperature",record="station.{id}.temperature",signal="celsius",unit="°C"} 23
# HELP aimdb_signal_min The gauge's smallest sample.
# TYPE aimdb_signal_min gauge
aimdb_signal_min{family="station.{id}.temperature",record="station.{id}.temperature",signal="celsius",unit="°C"} 19
# HELP aimdb_link_received_total Inbound: messages the connector delivered.
# TYPE aimdb_link_received_total counter
aimdb_link_received_total{direction="in",family="station.{id}.temperature",link="mqtt[0]",protocol="mqtt",record="station.{id}.temperature"} 40
# HELP aimdb_link_reconnects_total Successful connections after the first, of the link's scheme.
# TYPE aimdb_link_reconnects_total counter
aimdb_link_reconnects_total{direction="in",family="station.{id}.temperature",link="mqtt[0]",protocol="mqtt",record="station.{id}.temperature"} 2
# HELP aimdb_family_instances Live instances of the record family.
# TYPE aimdb_family_instances gauge
aimdb_family_instances{family="station.{id}.temperature"} 2
# HELP aimdb_family_refused_total Writes refused because the family was full.
# TYPE aimdb_family_refused_total counter
aimdb_family_refused_total{family="station.{id}.temperature"} 1
# HELP aimdb_family_rejected_total Inbound messages that reached no instance: a topic that does not fill the template, or a payload that failed to decode before its instance existed.
# TYPE aimdb_family_rejected_total counter
aimdb_family_rejected_total{family="station.{id}.temperature"} 4
`
	names := []string{"aimdb_record_produced_total", "aimdb_record_buffer_items", "aimdb_stage_calls_total", "aimdb_stage_max_seconds",
		"aimdb_stage_running", "aimdb_signal_mean", "aimdb_signal_min", "aimdb_signal_last", "aimdb_link_received_total",
		"aimdb_link_reconnects_total", "aimdb_family_instances", "aimdb_family_refused_total", "aimdb_family_rejected_total"}
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}

	// Instance 2 is evicted, instance 1 moves on: the family's counters
	// keep what instance 2 had counted.
	in.records = []aimdb.RecordMetadata{in.records[0], instance("1", 15, 3, 20)}
	want = `
# HELP aimdb_record_produced_total Values written to the record's buffer.
# TYPE aimdb_record_produced_total counter
aimdb_record_produced_total{family="",record="cfg"} 4
aimdb_record_produced_total{family="station.{id}.temperature",record="station.{id}.temperature"} 45
# HELP aimdb_link_received_total Inbound: messages the connector delivered.
# TYPE aimdb_link_received_total counter
aimdb_link_received_total{direction="in",family="station.{id}.temperature",link="mqtt[0]",protocol="mqtt",record="station.{id}.temperature"} 45
# HELP aimdb_signal_samples_total Samples folded into the gauge.
# TYPE aimdb_signal_samples_total counter
aimdb_signal_samples_total{family="station.{id}.temperature",record="station.{id}.temperature",signal="celsius",unit="°C"} 9
# HELP aimdb_record_buffer_items Values the record's buffer holds.
# TYPE aimdb_record_buffer_items gauge
aimdb_record_buffer_items{family="",record="cfg"} 1
aimdb_record_buffer_items{family="station.{id}.temperature",record="station.{id}.temperature"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "aimdb_record_produced_total", "aimdb_link_received_total",
		"aimdb_signal_samples_total", "aimdb_record_buffer_items"); err != nil {
		t.Error(err)
	}

	// Every instance gone: the family's counters remain.
	in.records = in.records[:1]
	if got, want := testutil.CollectAndCount(c, "aimdb_record_produced_total"), 2; got != want {
		t.Errorf("produced series with no instance left: %d, want %d", got, want)
	}
}

// TestFamilyPerInstance checks that PerInstance exports every instance
// under its own key, with its family's template and its links'
// addresses.
func TestFamilyPerInstance(t *testing.T) {
	in := &input{
		records:  []aimdb.RecordMetadata{instance("1", 10, 2, 20), instance("2", 30, 6, 24)},
		families: []aimdb.FamilyMetadata{family},
	}
	c := fixedCollector(in, true)
	want := `
# HELP aimdb_record_produced_total Values written to the record's buffer.
# TYPE aimdb_record_produced_total counter
aimdb_record_produced_total{family="station.{id}.temperature",record="station.1.temperature"} 10
aimdb_record_produced_total{family="station.{id}.temperature",record="station.2.temperature"} 30
# HELP aimdb_signal_last The gauge's last sample (not exported for an aggregated family).
# TYPE aimdb_signal_last gauge
aimdb_signal_last{family="station.{id}.temperature",record="station.1.temperature",signal="celsius",unit="°C"} 20
aimdb_signal_last{family="station.{id}.temperature",record="station.2.temperature",signal="celsius",unit="°C"} 24
# HELP aimdb_link_received_total Inbound: messages the connector delivered.
# TYPE aimdb_link_received_total counter
aimdb_link_received_total{direction="in",family="station.{id}.temperature",link="mqtt://broker/station/1/temperature",protocol="mqtt",record="station.1.temperature"} 10
aimdb_link_received_total{direction="in",family="station.{id}.temperature",link="mqtt://broker/station/2/temperature",protocol="mqtt",record="station.2.temperature"} 30
# HELP aimdb_family_created_total Instances created since Run.
# TYPE aimdb_family_created_total counter
aimdb_family_created_total{family="station.{id}.temperature"} 3
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "aimdb_record_produced_total", "aimdb_signal_last",
		"aimdb_link_received_total", "aimdb_family_created_total"); err != nil {
		t.Error(err)
	}
}

// TestDuplicateSeries checks that two links of one record with the same
// address, which would otherwise fail the whole scrape, are merged.
func TestDuplicateSeries(t *testing.T) {
	l := aimdb.LinkMetadata{Direction: "out", Protocol: "mqtt", Address: "mqtt://b/x", State: aimdb.LinkConnected, Published: 2}
	in := &input{
		records: []aimdb.RecordMetadata{{RecordKey: "x", Links: []aimdb.LinkMetadata{l, l}}},
		server:  &aimx.ServerStats{Accepted: 3},
	}
	want := `
# HELP aimdb_link_published_total Outbound: messages the connector took.
# TYPE aimdb_link_published_total counter
aimdb_link_published_total{direction="out",family="",link="mqtt://b/x",protocol="mqtt",record="x"} 4
# HELP aimdb_aimx_connections_accepted_total AimX connections served.
# TYPE aimdb_aimx_connections_accepted_total counter
aimdb_aimx_connections_accepted_total 3
`
	if err := testutil.CollectAndCompare(fixedCollector(in, false), strings.NewReader(want),
		"aimdb_link_published_total", "aimdb_aimx_connections_accepted_total"); err != nil {
		t.Error(err)
	}
}

// TestLint checks every exported name against Prometheus's conventions.
func TestLint(t *testing.T) {
	in := &input{
		records:  []aimdb.RecordMetadata{instance("1", 10, 2, 20), {RecordKey: "y", Links: []aimdb.LinkMetadata{{Direction: "out", Protocol: "mqtt", Address: "mqtt://b/y"}}}},
		families: []aimdb.FamilyMetadata{family},
		server:   &aimx.ServerStats{},
	}
	for _, perInstance := range []bool{false, true} {
		problems, err := testutil.CollectAndLint(fixedCollector(in, perInstance))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	}
}
