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
	// A record is stale when it has been silent for staleFactor times
	// its own mean interval between values, and at least staleFloor.
	staleFactor = 10
	staleFloor  = time.Second
)

type healthIn struct {
	IntervalMs  int     `json:"interval_ms,omitempty" jsonschema:"time between the two samples of the counters (default 1000, at most 30000)"`
	StaleAfterS float64 `json:"stale_after_s,omitempty" jsonschema:"a fixed threshold: a value whose timestamp field (Unix ms) is older than this many seconds is stale (default: 10 times the record's own mean interval between values, at least 1 s; 300 s when its rate is unknown)"`
	SlowStageMs float64 `json:"slow_stage_ms,omitempty" jsonschema:"a tap or transform whose average call takes longer than this is slow (default 10); a source's average is the interval between its values and is not judged"`
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
	var staleAfter time.Duration // by each record's rate
	if in.StaleAfterS > 0 {
		staleAfter = time.Duration(in.StaleAfterS * float64(time.Second))
	}
	slow := healthDefaultSlowStage
	if in.SlowStageMs > 0 {
		slow = time.Duration(in.SlowStageMs * float64(time.Millisecond))
	}
	out := healthOut{IntervalMs: interval.Milliseconds(), Findings: []finding{}}
	var before, after []aimx.RecordInfo
	var uptime time.Duration
	values := map[string]json.RawMessage{}
	err := b.call(ctx, func(ctx context.Context, c *aimx.Client) error {
		var err error
		if before, err = c.Records(ctx); err != nil {
			return err
		}
		// The uptime turns produced counts into rates; AimDB's servers do
		// not tell it.
		if info, err := c.Info(ctx); err == nil {
			uptime = time.Duration(info.UptimeMs) * time.Millisecond
		}
		return nil
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
	if fs := diagnose(before, after, values, healthParams{now: b.a.now(), interval: interval, uptime: uptime, staleAfter: staleAfter, slow: slow}); fs != nil {
		out.Findings = fs
	}
	out.Healthy = len(out.Findings) == 0
	out.Summary = summarize(out)
	return nil, out, nil
}

// healthParams are the circumstances and thresholds of a diagnosis.
type healthParams struct {
	now        time.Time
	interval   time.Duration // between the two samples
	uptime     time.Duration // the server's, at the first sample; 0 when unknown
	staleAfter time.Duration // a fixed threshold for timestamps; 0: by each record's rate
	slow       time.Duration // a tap or transform averaging more is slow
}

// diagnose compares two record.list samples taken p.interval apart and
// the records' current values, and returns the findings sorted by
// urgency, then key.
//
// A record is stale when it has been silent for much longer than its
// own rate: staleFactor times its mean interval between values
// ([meanInterval]), and at least staleFloor. Silence is the age of a
// timestamp in its value, else an unchanged produced count over the
// interval; a record whose rate is unknown is judged by its timestamp
// against healthDefaultStaleAfter only. Records sporadic by nature are
// never stale: mailboxes (commands) and passive records (no writer of
// their own).
func diagnose(before, after []aimx.RecordInfo, values map[string]json.RawMessage, p healthParams) []finding {
	prev, cur := map[string]aimx.RecordInfo{}, map[string]aimx.RecordInfo{}
	for _, r := range before {
		prev[r.RecordKey] = r
	}
	for _, r := range after {
		cur[r.RecordKey] = r
	}
	counters := hasCounters(after)
	interval := p.interval
	var fs []finding
	add := func(kind, key, format string, args ...any) {
		fs = append(fs, finding{Kind: kind, Record: key, Detail: fmt.Sprintf(format, args...)})
	}
	for _, r := range after {
		pr, seen := prev[r.RecordKey]
		o := decodeOrigin(r.Origin)

		if o.Kind != "passive" && r.BufferType != "mailbox" {
			mean := meanInterval(pr, p.uptime)
			if !seen {
				mean = meanInterval(r, p.uptime)
			}
			limit, why := max(staleFactor*mean, staleFloor), fmt.Sprintf("%d × its mean interval of %s", staleFactor, mean.Round(time.Millisecond))
			if ts, ok := valueTimestamp(values[r.RecordKey]); ok {
				switch {
				case p.staleAfter > 0:
					limit, why = p.staleAfter, "stale_after_s"
				case mean == 0:
					limit, why = healthDefaultStaleAfter, "its rate is unknown"
				}
				if age := p.now.Sub(ts); age > limit {
					add("stale", r.RecordKey, "newest value is %s old (timestamp %s), older than %s (%s)", age.Round(time.Second), ts.UTC().Format(time.RFC3339), limit, why)
				}
			} else if counters && seen && r.ProducedCount == pr.ProducedCount && mean > 0 && interval >= limit {
				silent := fmt.Sprintf("produced count stayed at %d for %s, more than %s", r.ProducedCount, interval, why)
				switch o.Kind {
				case "source":
					add("stale", r.RecordKey, "%s, although its source should write it", silent)
				case "link":
					// A link may route its messages to other records: it is
					// alive while it receives.
					if received(r) == received(pr) {
						add("stale", r.RecordKey, "%s, and its link %s received nothing", silent, o.Address)
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
							add("stale", r.RecordKey, "%s, while its input %s produced %d value(s)", silent, in, n)
							break
						}
					}
				}
			}
		}

		if r.DroppedCount > 0 {
			delta := uint64(0)
			if seen && r.DroppedCount > pr.DroppedCount {
				delta = r.DroppedCount - pr.DroppedCount
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
			// A source's average is the interval between its values, not
			// time spent working: it is never slow.
			if avg := time.Duration(st.AvgTimeNs); st.StageType != "source" && st.CallCount > 0 && avg > p.slow {
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

// meanInterval is a record's own rate: the mean time between its
// values, from its source's profile (a source's average is the
// interval to its next value), else its produced count over the
// server's uptime. It is 0 when unknown: fewer than two values, or no
// uptime.
func meanInterval(r aimx.RecordInfo, uptime time.Duration) time.Duration {
	for _, st := range r.StageProfiling {
		if st.StageType == "source" && st.CallCount >= 2 && st.AvgTimeNs > 0 {
			return time.Duration(st.AvgTimeNs)
		}
	}
	if uptime > 0 && r.ProducedCount >= 2 {
		return uptime / time.Duration(r.ProducedCount)
	}
	return 0
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
