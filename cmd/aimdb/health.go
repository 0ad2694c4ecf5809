package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/aimdb-go/aimdb/aimx"
)

// Defaults and limits of the health tool.
const (
	healthDefaultInterval   = time.Second
	healthMaxInterval       = 30 * time.Second
	healthDefaultStaleAfter = 5 * time.Minute
	healthDefaultSlowStage  = 10 * time.Millisecond
)

type healthIn struct {
	IntervalMs  int     `json:"interval_ms,omitempty" jsonschema:"time between the two samples of the counters (default 1000, at most 30000)"`
	StaleAfterS float64 `json:"stale_after_s,omitempty" jsonschema:"a value whose timestamp field (Unix ms) is older than this many seconds is stale (default 300)"`
	SlowStageMs float64 `json:"slow_stage_ms,omitempty" jsonschema:"a stage whose average call takes longer than this is slow (default 10)"`
}

// A finding is one problem the health tool found.
type finding struct {
	Kind   string `json:"kind" jsonschema:"stale, dropped, lagging, slow_stage, stage_errors, stage_stopped, link_disconnected, link_decode_errors or link_errors"`
	Record string `json:"record"`
	Detail string `json:"detail"`
}

type healthOut struct {
	Healthy    bool      `json:"healthy" jsonschema:"true when there are no findings"`
	Records    int       `json:"records" jsonschema:"records checked"`
	IntervalMs int64     `json:"interval_ms"`
	Summary    string    `json:"summary"`
	Findings   []finding `json:"findings"`
}

// findingOrder is the order of finding kinds in the report, most urgent
// first.
var findingOrder = []string{"link_disconnected", "stage_errors", "stage_stopped", "lagging", "dropped", "stale", "slow_stage", "link_decode_errors", "link_errors"}

func (b *mcpBackend) health(ctx context.Context, _ *mcp.CallToolRequest, in healthIn) (*mcp.CallToolResult, healthOut, error) {
	interval := healthDefaultInterval
	if in.IntervalMs > 0 {
		interval = min(time.Duration(in.IntervalMs)*time.Millisecond, healthMaxInterval)
	}
	staleAfter := healthDefaultStaleAfter
	if in.StaleAfterS > 0 {
		staleAfter = time.Duration(in.StaleAfterS * float64(time.Second))
	}
	slow := healthDefaultSlowStage
	if in.SlowStageMs > 0 {
		slow = time.Duration(in.SlowStageMs * float64(time.Millisecond))
	}
	out := healthOut{IntervalMs: interval.Milliseconds(), Findings: []finding{}}
	var before, after []aimx.RecordInfo
	values := map[string]json.RawMessage{}
	err := b.call(ctx, func(ctx context.Context, c *aimx.Client) error {
		var err error
		before, err = c.Records(ctx)
		return err
	})
	if err != nil {
		return nil, out, err
	}
	select {
	case <-time.After(interval):
	case <-ctx.Done():
		return nil, out, ctx.Err()
	}
	err = b.call(ctx, func(ctx context.Context, c *aimx.Client) error {
		var err error
		if after, err = c.Records(ctx); err != nil {
			return err
		}
		for _, r := range after {
			if r.RemoteAccess {
				if v, err := c.Get(ctx, r.RecordKey); err == nil {
					values[r.RecordKey] = v
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, out, err
	}
	out.Records = len(after)
	if fs := diagnose(before, after, values, b.a.now(), interval, staleAfter, slow); fs != nil {
		out.Findings = fs
	}
	out.Healthy = len(out.Findings) == 0
	out.Summary = summarize(out)
	return nil, out, nil
}

// diagnose compares two record.list samples taken interval apart and
// the records' current values, and returns the findings sorted by
// urgency, then key.
func diagnose(before, after []aimx.RecordInfo, values map[string]json.RawMessage, now time.Time, interval, staleAfter, slow time.Duration) []finding {
	prev, cur := map[string]aimx.RecordInfo{}, map[string]aimx.RecordInfo{}
	for _, r := range before {
		prev[r.RecordKey] = r
	}
	for _, r := range after {
		cur[r.RecordKey] = r
	}
	counters := hasCounters(after)
	var fs []finding
	add := func(kind, key, format string, args ...any) {
		fs = append(fs, finding{Kind: kind, Record: key, Detail: fmt.Sprintf(format, args...)})
	}
	for _, r := range after {
		p, seen := prev[r.RecordKey]
		o := decodeOrigin(r.Origin)

		// Staleness: a timestamp in the value decides when there is one;
		// otherwise a record whose writer should have written during the
		// interval and did not.
		if ts, ok := valueTimestamp(values[r.RecordKey]); ok {
			if age := now.Sub(ts); age > staleAfter {
				add("stale", r.RecordKey, "newest value is %s old (timestamp %s), older than %s", age.Round(time.Second), ts.UTC().Format(time.RFC3339), staleAfter)
			}
		} else if counters && seen && r.ProducedCount == p.ProducedCount {
			switch o.Kind {
			case "source":
				add("stale", r.RecordKey, "produced count stayed at %d for %s although its source should write it", r.ProducedCount, interval)
			case "link":
				// A link may route its messages to other records: it is
				// alive while it receives.
				if received(r) == received(p) {
					add("stale", r.RecordKey, "produced count stayed at %d for %s and its link %s received nothing", r.ProducedCount, interval, o.Address)
				}
			case "transform", "transform_join":
				// Idle inputs make an idle output; a busy input and an
				// idle output make a stuck stage.
				inputs := o.Inputs
				if o.Kind == "transform" {
					inputs = []string{o.Input}
				}
				for _, in := range inputs {
					if n := cur[in].ProducedCount - min(prev[in].ProducedCount, cur[in].ProducedCount); n > 0 {
						add("stale", r.RecordKey, "produced count stayed at %d for %s while its input %s produced %d value(s)", r.ProducedCount, interval, in, n)
						break
					}
				}
			}
		}

		if r.DroppedCount > 0 {
			delta := uint64(0)
			if seen && r.DroppedCount > p.DroppedCount {
				delta = r.DroppedCount - p.DroppedCount
			}
			if delta > 0 {
				add("lagging", r.RecordKey, "readers missed %d value(s) in the last %s: a reader is slower than the producer (%s)", delta, interval, bufferText(r.BufferType, r.BufferCapacity))
			} else {
				add("dropped", r.RecordKey, "readers missed %d value(s) in total, none in the last %s", r.DroppedCount, interval)
			}
		}

		for _, st := range r.StageProfiling {
			name := fmt.Sprintf("%s %d", st.StageType, st.Index)
			if st.Name != "" {
				name += " (" + st.Name + ")"
			}
			if avg := time.Duration(st.AvgTimeNs); st.CallCount > 0 && avg > slow {
				add("slow_stage", r.RecordKey, "%s averages %s per call over %d call(s) (max %s)", name, avg, st.CallCount, time.Duration(st.MaxTimeNs))
			}
			if st.ErrorCount > 0 {
				detail := fmt.Sprintf("%s failed %d time(s), restarted %d time(s)", name, st.ErrorCount, st.RestartCount)
				if st.LastError != "" {
					detail += "; last error: " + st.LastError
				}
				add("stage_errors", r.RecordKey, "%s", detail)
			}
		}

		for _, l := range r.Links {
			if l.State == "disconnected" || l.State == "connecting" && l.LastError != "" {
				detail := fmt.Sprintf("%s link %s is %s", l.Direction, l.Address, l.State)
				if l.LastError != "" {
					detail += ": " + l.LastError
				}
				add("link_disconnected", r.RecordKey, "%s", detail)
			}
			if l.DecodeErrors > 0 {
				add("link_decode_errors", r.RecordKey, "%d message(s) from %s did not decode and were not stored", l.DecodeErrors, l.Address)
			}
			if n := l.EncodeErrors + l.PublishErrs + l.Dropped; n > 0 {
				add("link_errors", r.RecordKey, "link %s: %d encode error(s), %d publish error(s), %d dropped", l.Address, l.EncodeErrors, l.PublishErrs, l.Dropped)
			}
		}
	}
	slices.SortStableFunc(fs, func(x, y finding) int {
		return cmp.Or(cmp.Compare(slices.Index(findingOrder, x.Kind), slices.Index(findingOrder, y.Kind)), compareKeys(x.Record, y.Record))
	})
	return fs
}

// received sums the messages a record's inbound links received.
func received(r aimx.RecordInfo) uint64 {
	var n uint64
	for _, l := range r.Links {
		if l.Direction == "in" {
			n += l.Received
		}
	}
	return n
}

// valueTimestamp returns the "timestamp" field of a JSON object, in Unix
// milliseconds.
func valueTimestamp(v json.RawMessage) (time.Time, bool) {
	if len(v) == 0 {
		return time.Time{}, false
	}
	var obj struct {
		Timestamp *float64 `json:"timestamp"`
	}
	if json.Unmarshal(v, &obj) != nil || obj.Timestamp == nil || *obj.Timestamp <= 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(*obj.Timestamp)), true
}

func summarize(out healthOut) string {
	if out.Healthy {
		return fmt.Sprintf("%d record(s) checked over %dms: no findings", out.Records, out.IntervalMs)
	}
	counts := map[string]int{}
	for _, f := range out.Findings {
		counts[f.Kind]++
	}
	var parts []string
	for _, k := range findingOrder {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	return fmt.Sprintf("%d record(s) checked over %dms: %d finding(s): %s", out.Records, out.IntervalMs, len(out.Findings), strings.Join(parts, ", "))
}
