package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx"
)

// The MCP tools that match upstream's runtime tools beyond reading and
// writing records: buffer metrics, stage profiling and their resets,
// schemas, and instance discovery.

type patternIn struct {
	Pattern string `json:"pattern,omitempty" jsonschema:"a record key or pattern ('*' one segment, '#' any number); every record when empty"`
}

type bufferMetrics struct {
	Key       string `json:"key"`
	Buffer    string `json:"buffer" jsonschema:"ring(N), latest, mailbox or none"`
	Produced  uint64 `json:"produced"`
	Consumed  uint64 `json:"consumed"`
	Dropped   uint64 `json:"dropped" jsonschema:"values ring readers missed"`
	Retained  int    `json:"retained" jsonschema:"values the buffer holds now"`
	Capacity  int    `json:"capacity" jsonschema:"values the buffer can hold"`
	Producers int    `json:"producers"`
	Consumers int    `json:"consumers"`
}

type bufferMetricsOut struct {
	Count   int             `json:"count"`
	Records []bufferMetrics `json:"records"`
}

// matching returns the record.list rows whose key matches pattern, in
// key order; an error when a pattern matches nothing.
func matching(ctx context.Context, c *aimx.Client, pattern string) ([]aimx.RecordInfo, error) {
	rows, err := c.Records(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(rows, func(x, y aimx.RecordInfo) int { return compareKeys(x.RecordKey, y.RecordKey) })
	if pattern == "" {
		return rows, nil
	}
	rows = slices.DeleteFunc(rows, func(r aimx.RecordInfo) bool { return !aimx.MatchTopic(pattern, r.RecordKey) })
	if len(rows) == 0 {
		return nil, fmt.Errorf("no record matches %q; list_records lists the keys", pattern)
	}
	return rows, nil
}

func (b *mcpBackend) bufferMetrics(ctx context.Context, _ *mcp.CallToolRequest, in patternIn) (*mcp.CallToolResult, bufferMetricsOut, error) {
	out := bufferMetricsOut{Records: []bufferMetrics{}}
	err := b.call(ctx, func(ctx context.Context, c *aimx.Client) error {
		rows, err := matching(ctx, c, in.Pattern)
		for _, r := range rows {
			m := bufferMetrics{Key: r.RecordKey, Buffer: bufferText(r.BufferType, r.BufferCapacity),
				Produced: r.ProducedCount, Consumed: r.ConsumedCount, Dropped: r.DroppedCount,
				Producers: r.ProducerCount, Consumers: r.ConsumerCount}
			if len(r.Occupancy) == 2 {
				m.Retained, m.Capacity = r.Occupancy[0], r.Occupancy[1]
			}
			out.Records = append(out.Records, m)
		}
		return err
	})
	out.Count = len(out.Records)
	return nil, out, err
}

type stageRecord struct {
	Key    string               `json:"key"`
	Stages []aimdb.StageProfile `json:"stages"`
	// Bottleneck is the tap or transform with the highest average time per
	// call (a source's time is the interval between its values).
	Bottleneck *aimdb.StageProfile `json:"bottleneck,omitempty" jsonschema:"the tap or transform with the highest average time per call; sources are not judged (their time is the interval between values)"`
}

type stageProfilingOut struct {
	Count   int           `json:"count"`
	Records []stageRecord `json:"records" jsonschema:"the matching records that have stages (sources, taps, transforms)"`
}

func (b *mcpBackend) stageProfiling(ctx context.Context, _ *mcp.CallToolRequest, in patternIn) (*mcp.CallToolResult, stageProfilingOut, error) {
	out := stageProfilingOut{Records: []stageRecord{}}
	err := b.call(ctx, func(ctx context.Context, c *aimx.Client) error {
		rows, err := matching(ctx, c, in.Pattern)
		for _, r := range rows {
			if len(r.StageProfiling) == 0 {
				continue
			}
			sr := stageRecord{Key: r.RecordKey, Stages: r.StageProfiling}
			for i := range r.StageProfiling {
				// A source's time is the interval between its values,
				// not work: only taps and transforms can be bottlenecks.
				if s := &r.StageProfiling[i]; s.StageType != "source" && s.CallCount > 0 && (sr.Bottleneck == nil || s.AvgTimeNs > sr.Bottleneck.AvgTimeNs) {
					sr.Bottleneck = s
				}
			}
			out.Records = append(out.Records, sr)
		}
		return err
	})
	out.Count = len(out.Records)
	return nil, out, err
}

type noInput struct{}

type resetOut struct {
	Reset   bool   `json:"reset"`
	Message string `json:"message"`
}

// reset returns the handler of reset_buffer_metrics or
// reset_stage_profiling.
func (b *mcpBackend) reset(what string, f func(*aimx.Client, context.Context) error) mcp.ToolHandlerFor[noInput, resetOut] {
	return func(ctx context.Context, _ *mcp.CallToolRequest, _ noInput) (*mcp.CallToolResult, resetOut, error) {
		err := b.call(ctx, func(ctx context.Context, c *aimx.Client) error { return f(c, ctx) })
		if err != nil {
			return nil, resetOut{}, err
		}
		return nil, resetOut{Reset: true, Message: what + " of every record reset to zero"}, nil
	}
}

type schemaOut struct {
	RecordName string `json:"record_name"`
	Type       string `json:"type" jsonschema:"the Go value type: the record's contract"`
	TypeID     string `json:"type_id" jsonschema:"the Go type with its package path"`
	SchemaType string `json:"schema_type,omitempty" jsonschema:"the contract's schema name, when the type declares one"`
	Buffer     string `json:"buffer"`
	Writable   bool   `json:"writable"`
	Schema     any    `json:"schema,omitempty" jsonschema:"a JSON Schema inferred from the current value; absent when the record has no value to read"`
	Example    any    `json:"example,omitempty" jsonschema:"the current value"`
}

func (b *mcpBackend) querySchema(ctx context.Context, _ *mcp.CallToolRequest, in recordIn) (*mcp.CallToolResult, schemaOut, error) {
	out := schemaOut{RecordName: in.RecordName}
	err := b.call(ctx, func(ctx context.Context, c *aimx.Client) error {
		rows, err := c.Records(ctx)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(rows, func(r aimx.RecordInfo) bool { return r.RecordKey == in.RecordName })
		if i < 0 {
			return &aimx.Error{Code: aimx.CodeNotFound, Method: "record.list", Target: in.RecordName}
		}
		r := rows[i]
		out.Type, out.TypeID, out.SchemaType = r.Name, r.TypeID, r.SchemaType
		out.Buffer, out.Writable = bufferText(r.BufferType, r.BufferCapacity), r.Writable
		raw, err := c.Get(ctx, in.RecordName)
		if errors.Is(err, aimx.ErrNoValue) || errors.Is(err, aimx.ErrNotFound) || errors.Is(err, aimx.ErrInternal) {
			return nil // no value yet, or no remote access: the type only
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &out.Example); err != nil {
			return err
		}
		out.Schema = inferSchema(out.Example)
		return nil
	})
	return nil, out, err
}

// inferSchema returns a JSON Schema that v satisfies: the types of v and
// of its members, every member of an object required.
func inferSchema(v any) map[string]any {
	switch v := v.(type) {
	case nil:
		return map[string]any{"type": "null"}
	case bool:
		return map[string]any{"type": "boolean"}
	case float64:
		if v == float64(int64(v)) {
			return map[string]any{"type": "integer"}
		}
		return map[string]any{"type": "number"}
	case string:
		return map[string]any{"type": "string"}
	case []any:
		s := map[string]any{"type": "array"}
		if len(v) > 0 {
			s["items"] = inferSchema(v[0])
		}
		return s
	case map[string]any:
		props := map[string]any{}
		req := make([]string, 0, len(v))
		for k, m := range v {
			props[k] = inferSchema(m)
			req = append(req, k)
		}
		sort.Strings(req)
		return map[string]any{"type": "object", "properties": props, "required": req}
	}
	return map[string]any{}
}

type instancesOut struct {
	RuntimeDir string        `json:"runtime_dir" jsonschema:"where servers on this machine register"`
	Count      int           `json:"count"`
	Instances  []instanceRow `json:"instances"`
}

func (b *mcpBackend) discoverInstances(ctx context.Context, _ *mcp.CallToolRequest, _ noInput) (*mcp.CallToolResult, instancesOut, error) {
	out := instancesOut{RuntimeDir: aimx.RuntimeDir(), Instances: []instanceRow{}}
	rows, err := discover(ctx, b.a, []string{b.a.connect})
	if err != nil {
		return nil, out, errors.New(errorLine(err, ""))
	}
	out.Instances = append(out.Instances, rows...)
	out.Count = len(out.Instances)
	return nil, out, nil
}

type instanceIn struct {
	Endpoint string `json:"endpoint,omitempty" jsonschema:"an endpoint discover_instances listed; the --connect endpoint when empty"`
}

func (b *mcpBackend) instanceInfo(ctx context.Context, _ *mcp.CallToolRequest, in instanceIn) (*mcp.CallToolResult, instanceRow, error) {
	ep := in.Endpoint
	if ep == "" {
		ep = b.a.connect
	}
	// Only endpoints the user configured or that registered themselves:
	// a client must not make this server probe arbitrary addresses.
	if ep != b.a.connect {
		list, err := aimx.Instances()
		if err != nil {
			return nil, instanceRow{}, errors.New(errorLine(err, ""))
		}
		if !slices.ContainsFunc(list, func(i aimx.Instance) bool { return i.Endpoint == ep }) {
			return nil, instanceRow{}, fmt.Errorf("get_instance_info: endpoint %q is neither the --connect endpoint nor registered on this machine (see discover_instances)", ep)
		}
	}
	row := probe(ctx, b.a, aimx.Instance{Endpoint: ep})
	if row.err != nil {
		return nil, instanceRow{}, row.err
	}
	return nil, row, nil
}
