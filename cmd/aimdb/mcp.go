package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/aimdb-go/aimdb/aimx"
)

// mcpOptions are the flags of aimdb mcp.
type mcpOptions struct {
	allowWrite bool   // add set_record and the resets
	public     bool   // only list_records and get_record
	http       string // serve streamable HTTP on this address instead of stdio
}

func newMCPCmd(a *app) *cobra.Command {
	var o mcpOptions
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Serve the DB to AI assistants as an MCP server (stdio or HTTP)",
		Long: `Serve the DB at --connect to AI assistants over the Model Context Protocol:
over stdio by default, over streamable HTTP with --http ADDR.

Tools: list_records, get_record, drain_record, sample_subscription, graph,
query_history, health, get_buffer_metrics, get_stage_profiling,
query_schema, discover_instances, get_instance_info; with --allow-write
also set_record, reset_buffer_metrics and reset_stage_profiling.
Resources: aimdb://records, aimdb://graph and aimdb://record/{key}.
Prompts: diagnose_db and explain_record.
--public serves list_records, get_record, aimdb://records and
aimdb://record/{key} only. Every tool talks to the --connect endpoint
(or $AIMDB_CONNECT); only get_instance_info takes an endpoint, one that
discover_instances found.

An MCP client configuration:
  {"mcpServers": {"aimdb": {"command": "aimdb",
    "args": ["--connect", "tcp://127.0.0.1:7433", "mcp"]}}}`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.public && o.allowWrite {
				return usagef("--public and --allow-write exclude each other")
			}
			b := &mcpBackend{a: a, opts: o}
			defer b.close()
			s := b.server()
			ctx := cmd.Context()
			if o.http != "" {
				return b.serveHTTP(ctx, s, o.http)
			}
			err := s.Run(ctx, stdioTransport(os.Stdin, os.Stdout))
			if ctx.Err() != nil || errors.Is(err, mcp.ErrConnectionClosed) {
				return nil
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&o.allowWrite, "allow-write", false, "add set_record, reset_buffer_metrics and reset_stage_profiling (the server's policy still decides)")
	cmd.Flags().BoolVar(&o.public, "public", false, "serve only list_records, get_record and the record resources")
	cmd.Flags().StringVar(&o.http, "http", "", "serve streamable HTTP on this address (e.g. 127.0.0.1:8931) instead of stdio")
	return cmd
}

// mcpBackend holds one AimX connection for every tool call, so that a
// record's drain cursor survives between calls. It reconnects after a
// loss.
type mcpBackend struct {
	a    *app
	opts mcpOptions

	mu sync.Mutex
	c  *aimx.Client
}

// client returns the connection, dialing it on first use.
func (b *mcpBackend) client(ctx context.Context) (*aimx.Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.c != nil {
		return b.c, nil
	}
	c, err := b.a.dial(ctx)
	if err != nil {
		return nil, err
	}
	b.c = c
	return c, nil
}

func (b *mcpBackend) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.c != nil {
		b.c.Close()
		b.c = nil
	}
}

// call runs f with the connection and a context bounded by --timeout.
// Errors come back as one line, as the command line prints them.
func (b *mcpBackend) call(ctx context.Context, f func(ctx context.Context, c *aimx.Client) error) error {
	ctx, cancel := context.WithTimeout(ctx, b.a.timeout)
	defer cancel()
	c, err := b.client(ctx)
	if err == nil {
		err = f(ctx, c)
	}
	if err != nil {
		return errors.New(errorLine(err, b.endpoint()))
	}
	return nil
}

func (b *mcpBackend) endpoint() string {
	if b.opts.public {
		return ""
	}
	return b.a.connect
}

// server returns the MCP server with the tools the options allow.
func (b *mcpBackend) server() *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "aimdb", Title: "AimDB data plane", Version: version()}, &mcp.ServerOptions{
		Instructions: "Tools to inspect a running AimDB data plane: records (typed values with buffers), their live values, history and dependency graph, and a health summary.",
	})
	ro := &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: new(false)}
	mcp.AddTool(s, &mcp.Tool{Name: "list_records", Annotations: ro,
		Description: "List the records of the DB: key, Go type, buffer, origin (source, passive, link, transform, join), producer/consumer counts, produced/consumed/dropped counters and whether they are writable. Optionally filter by a key pattern ('*' one segment, '#' any number)."},
		b.listRecords)
	mcp.AddTool(s, &mcp.Tool{Name: "get_record", Annotations: ro,
		Description: "Read the current value of a record (by key) as JSON: a latest record's value, a mailbox's pending value (observed, not taken), a ring's newest value. A record that exists but holds no value yet fails with \"has no value yet\", an unknown key with \"unknown record key\"."},
		b.getRecord)
	b.addResources(s)
	if b.opts.public {
		return s
	}
	b.addPrompts(s)
	if b.opts.allowWrite {
		mcp.AddTool(s, &mcp.Tool{Name: "set_record", Annotations: &mcp.ToolAnnotations{DestructiveHint: new(false), IdempotentHint: true, OpenWorldHint: new(false)},
			Description: "Write a record's value (JSON in the record's own encoding). The DB's write policy decides: records written by a source or transform, and records outside the policy, are refused."},
			b.setRecord)
		reset := &mcp.ToolAnnotations{DestructiveHint: new(true), IdempotentHint: true, OpenWorldHint: new(false)}
		mcp.AddTool(s, &mcp.Tool{Name: "reset_buffer_metrics", Annotations: reset,
			Description: "Reset the produced, consumed and dropped counters of every record to zero (buffer_metrics.reset). The server's policy must be read-write."},
			b.reset("buffer metrics", (*aimx.Client).ResetBufferMetrics))
		mcp.AddTool(s, &mcp.Tool{Name: "reset_stage_profiling", Annotations: reset,
			Description: "Reset the call counts and times of every stage to zero (profiling.reset). The server's policy must be read-write."},
			b.reset("stage profiling", (*aimx.Client).ResetProfiling))
	}
	mcp.AddTool(s, &mcp.Tool{Name: "get_buffer_metrics", Annotations: ro,
		Description: "Buffer counters of the records matching a key or pattern (all when empty): produced, consumed and dropped values, values retained and capacity, producers and consumers."},
		b.bufferMetrics)
	mcp.AddTool(s, &mcp.Tool{Name: "get_stage_profiling", Annotations: ro,
		Description: "Stage profiles of the records matching a key or pattern (all when empty): for each source, tap and transform its call count, total/avg/min/max time in ns, errors, restarts and whether it runs; and each record's bottleneck, the stage with the highest average time."},
		b.stageProfiling)
	mcp.AddTool(s, &mcp.Tool{Name: "query_schema", Annotations: ro,
		Description: "The contract of a record: its Go type (the type is the contract), type id, buffer, whether it is writable, and a JSON Schema inferred from its current value, with that value as an example."},
		b.querySchema)
	mcp.AddTool(s, &mcp.Tool{Name: "discover_instances", Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: new(false)},
		Description: "Find the AimDB servers running on this machine (registered in the runtime directory) and the --connect endpoint, and describe each: version, uptime, record count, policy and endpoints, or why it could not be reached."},
		b.discoverInstances)
	mcp.AddTool(s, &mcp.Tool{Name: "get_instance_info", Annotations: ro,
		Description: "Describe one server: name, pid, server and protocol version, start time and uptime, record count, policy (permissions and writable records), subscription limit and endpoints. By default the --connect endpoint; `endpoint` may name one discover_instances found."},
		b.instanceInfo)
	mcp.AddTool(s, &mcp.Tool{Name: "drain_record", Annotations: &mcp.ToolAnnotations{OpenWorldHint: new(false)},
		Description: "Take the values of a record that arrived since the previous drain_record of it, oldest first. The first drain of a ring opens its cursor and returns nothing; call again later. Draining a mailbox takes its pending value away from the record's own consumer, so the server allows it only when its write policy names the record (denied otherwise); get_record reads a mailbox without taking."},
		b.drainRecord)
	mcp.AddTool(s, &mcp.Tool{Name: "sample_subscription", Annotations: ro,
		Description: "Subscribe to a record key or pattern ('*' one segment, '#' any number) and collect updates until `count` arrived or `seconds` passed. Wildcard subscriptions start with a snapshot of each matched record's value. `lost` counts values missed."},
		b.sample)
	mcp.AddTool(s, &mcp.Tool{Name: "graph", Annotations: ro,
		Description: "The record dependency graph: nodes (records with origin, inputs, buffer, taps, inbound and outbound links), edges and a topological order; `view` nodes, edges or topo_order returns one of them. `format` dot, mermaid or tree adds a rendering in `text`."},
		b.graph)
	mcp.AddTool(s, &mcp.Tool{Name: "query_history", Annotations: ro,
		Description: "Query stored values of the records matching a pattern, oldest first. `since`/`until`: RFC 3339, Unix milliseconds, or a duration before now ('15m'). `limit` is per record (the oldest since `since`, or with order desc the newest); `bucket` ('1m') downsamples. Needs a DB with persistence."},
		b.queryHistory)
	mcp.AddTool(s, &mcp.Tool{Name: "health", Annotations: ro,
		Description: "A health and bottleneck summary from the metadata, sampled twice `interval_ms` apart: stale records (silent, by an unchanged produced count or the age of a `timestamp` field, for 10 times their own mean interval between values and at least 1 s; mailboxes and passive records are sporadic and never stale), dropped values and lagging readers, slow taps and transforms, failing stages, disconnected links and decode errors."},
		b.health)
	return s
}

// serveHTTP serves s over streamable HTTP on addr until ctx ends.
func (b *mcpBackend) serveHTTP(ctx context.Context, s *mcp.Server, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("mcp --http %s: %w", addr, err)
	}
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil)
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(b.a.stderr, "aimdb mcp: serving MCP over streamable HTTP at http://%s/ for %s\n", ln.Addr(), b.a.connect)
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("mcp --http %s: %w", addr, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	<-done
	return nil
}

// recordSummary is one record as list_records returns it.
type recordSummary struct {
	Key          string `json:"key"`
	Type         string `json:"type" jsonschema:"the Go value type"`
	Buffer       string `json:"buffer" jsonschema:"ring(N), latest, mailbox or none"`
	Origin       string `json:"origin" jsonschema:"what writes the record: source, passive, link <url>, transform ← input, join ← inputs"`
	Producers    int    `json:"producers"`
	Consumers    int    `json:"consumers"`
	Produced     uint64 `json:"produced"`
	Consumed     uint64 `json:"consumed"`
	Dropped      uint64 `json:"dropped" jsonschema:"values ring readers missed"`
	Writable     bool   `json:"writable" jsonschema:"whether set_record may write it"`
	RemoteAccess bool   `json:"remote_access" jsonschema:"whether its value can be read remotely"`
}

type listRecordsIn struct {
	Pattern      string `json:"pattern,omitempty" jsonschema:"a key or pattern; all records when empty"`
	WritableOnly bool   `json:"writable_only,omitempty" jsonschema:"only the writable records"`
}

type listRecordsOut struct {
	Endpoint string          `json:"endpoint,omitempty"`
	Count    int             `json:"count"`
	Records  []recordSummary `json:"records"`
}

func (b *mcpBackend) listRecords(ctx context.Context, _ *mcp.CallToolRequest, in listRecordsIn) (*mcp.CallToolResult, listRecordsOut, error) {
	out := listRecordsOut{Endpoint: b.endpoint(), Records: []recordSummary{}}
	err := b.call(ctx, func(ctx context.Context, c *aimx.Client) error {
		rows, err := c.Records(ctx)
		if err != nil {
			return err
		}
		slices.SortStableFunc(rows, func(x, y aimx.RecordInfo) int { return compareKeys(x.RecordKey, y.RecordKey) })
		for _, r := range rows {
			if in.Pattern != "" && !aimx.MatchTopic(in.Pattern, r.RecordKey) || in.WritableOnly && !r.Writable {
				continue
			}
			out.Records = append(out.Records, recordSummary{
				Key: r.RecordKey, Type: r.Name, Buffer: bufferText(r.BufferType, r.BufferCapacity), Origin: originText(r.Origin),
				Producers: r.ProducerCount, Consumers: r.ConsumerCount,
				Produced: r.ProducedCount, Consumed: r.ConsumedCount, Dropped: r.DroppedCount,
				Writable: r.Writable, RemoteAccess: r.RemoteAccess,
			})
		}
		return nil
	})
	out.Count = len(out.Records)
	return nil, out, err
}

type recordIn struct {
	RecordName string `json:"record_name" jsonschema:"the record key, e.g. station.2.temperature"`
}

type recordValueOut struct {
	RecordName string `json:"record_name"`
	Value      any    `json:"value" jsonschema:"the value as JSON"`
}

func (b *mcpBackend) getRecord(ctx context.Context, _ *mcp.CallToolRequest, in recordIn) (*mcp.CallToolResult, recordValueOut, error) {
	out := recordValueOut{RecordName: in.RecordName}
	err := b.call(ctx, func(ctx context.Context, c *aimx.Client) error {
		raw, err := c.Get(ctx, in.RecordName)
		if err != nil {
			return err
		}
		return json.Unmarshal(raw, &out.Value)
	})
	return nil, out, err
}

type setRecordIn struct {
	RecordName string `json:"record_name" jsonschema:"the record key"`
	Value      any    `json:"value" jsonschema:"the new value itself in the record's JSON encoding (an object, number or string), not a string holding JSON"`
}

type setRecordOut struct {
	RecordName string `json:"record_name"`
	Status     string `json:"status"`
	Value      any    `json:"value,omitempty" jsonschema:"the value after the write, when the record has one to read"`
}

func (b *mcpBackend) setRecord(ctx context.Context, _ *mcp.CallToolRequest, in setRecordIn) (*mcp.CallToolResult, setRecordOut, error) {
	out := setRecordOut{RecordName: in.RecordName}
	raw, err := json.Marshal(in.Value)
	if err != nil {
		return nil, out, fmt.Errorf("set_record %q: %w", in.RecordName, err)
	}
	err = b.call(ctx, func(ctx context.Context, c *aimx.Client) error {
		res, err := c.Set(ctx, in.RecordName, raw)
		if err != nil {
			return err
		}
		out.Status = res.Status
		if len(res.Value) > 0 {
			return json.Unmarshal(res.Value, &out.Value)
		}
		return nil
	})
	return nil, out, err
}

type drainIn struct {
	RecordName string `json:"record_name" jsonschema:"the record key"`
	Limit      uint64 `json:"limit,omitempty" jsonschema:"take at most this many values; all when 0"`
}

type drainOut struct {
	RecordName string `json:"record_name"`
	Values     []any  `json:"values"`
	Count      int    `json:"count"`
}

func (b *mcpBackend) drainRecord(ctx context.Context, _ *mcp.CallToolRequest, in drainIn) (*mcp.CallToolResult, drainOut, error) {
	out := drainOut{RecordName: in.RecordName, Values: []any{}}
	err := b.call(ctx, func(ctx context.Context, c *aimx.Client) error {
		res, err := c.Drain(ctx, in.RecordName, in.Limit)
		if err != nil {
			return err
		}
		for _, raw := range res.Values {
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				return err
			}
			out.Values = append(out.Values, v)
		}
		return nil
	})
	out.Count = len(out.Values)
	return nil, out, err
}

// Limits of sample_subscription.
const (
	sampleDefaultCount   = 10
	sampleMaxCount       = 1000
	sampleDefaultSeconds = 5
	sampleMaxSeconds     = 60
)

type sampleIn struct {
	Pattern string  `json:"pattern" jsonschema:"a record key or pattern ('*' one segment, '#' any number)"`
	Count   int     `json:"count,omitempty" jsonschema:"stop after this many updates (default 10, at most 1000)"`
	Seconds float64 `json:"seconds,omitempty" jsonschema:"stop after this many seconds (default 5, at most 60)"`
}

type sampleEvent struct {
	Topic    string `json:"topic"`
	Seq      uint64 `json:"seq"`
	Lost     uint64 `json:"lost,omitempty" jsonschema:"values missed just before this one"`
	Snapshot bool   `json:"snapshot,omitempty" jsonschema:"a late-join snapshot of a wildcard subscription"`
	Data     any    `json:"data"`
}

type sampleOut struct {
	Pattern  string        `json:"pattern"`
	Count    int           `json:"count"`
	Lost     uint64        `json:"lost"`
	TimedOut bool          `json:"timed_out" jsonschema:"true when the time ran out before count updates arrived"`
	Events   []sampleEvent `json:"events"`
}

func (b *mcpBackend) sample(ctx context.Context, _ *mcp.CallToolRequest, in sampleIn) (*mcp.CallToolResult, sampleOut, error) {
	out := sampleOut{Pattern: in.Pattern, Events: []sampleEvent{}}
	count := in.Count
	if count <= 0 {
		count = sampleDefaultCount
	}
	count = min(count, sampleMaxCount)
	secs := in.Seconds
	if secs <= 0 {
		secs = sampleDefaultSeconds
	}
	secs = min(secs, sampleMaxSeconds)

	var s *aimx.Stream
	err := b.call(ctx, func(ctx context.Context, c *aimx.Client) error {
		if err := checkPatterns(ctx, c, []string{in.Pattern}); err != nil {
			return err
		}
		var err error
		s, err = c.Subscribe(ctx, in.Pattern)
		return err
	})
	if err != nil {
		return nil, out, err
	}
	defer s.Close()
	sctx, cancel := context.WithTimeout(ctx, time.Duration(secs*float64(time.Second)))
	defer cancel()
	for len(out.Events) < count {
		u, err := s.Next(sctx)
		if err != nil {
			if sctx.Err() != nil && ctx.Err() == nil {
				out.TimedOut = true
				break
			}
			return nil, out, errors.New(errorLine(err, b.endpoint()))
		}
		e := sampleEvent{Topic: u.Topic, Seq: u.Seq, Lost: u.Lost, Snapshot: u.Snapshot}
		if json.Unmarshal(u.Data, &e.Data) != nil {
			e.Data = string(u.Data)
		}
		out.Events = append(out.Events, e)
		out.Lost += u.Lost
	}
	out.Count = len(out.Events)
	return nil, out, nil
}

type graphIn struct {
	Format string `json:"format,omitempty" jsonschema:"json (structured only, the default), dot, mermaid or tree: adds a rendering in text"`
	View   string `json:"view,omitempty" jsonschema:"all (the default), nodes, edges or topo_order: which parts to return"`
}

type graphOut struct {
	Nodes     []graphNode `json:"nodes,omitempty"`
	Edges     []graphEdge `json:"edges,omitempty"`
	TopoOrder []string    `json:"topo_order,omitempty" jsonschema:"inputs before the records derived from them"`
	Text      string      `json:"text,omitempty" jsonschema:"the rendering asked for by format"`
}

func (b *mcpBackend) graph(ctx context.Context, _ *mcp.CallToolRequest, in graphIn) (*mcp.CallToolResult, graphOut, error) {
	var out graphOut
	if !slices.Contains([]string{"", "json", "dot", "mermaid", "tree"}, in.Format) {
		return nil, out, fmt.Errorf("graph: format %q: want json, dot, mermaid or tree", in.Format)
	}
	if !slices.Contains([]string{"", "all", "nodes", "edges", "topo_order"}, in.View) {
		return nil, out, fmt.Errorf("graph: view %q: want all, nodes, edges or topo_order", in.View)
	}
	err := b.call(ctx, func(ctx context.Context, c *aimx.Client) error {
		g, err := fetchGraph(ctx, c)
		if err != nil {
			return err
		}
		switch in.View {
		case "nodes":
			out.Nodes = g.Nodes
		case "edges":
			out.Edges = g.Edges
		case "topo_order":
			out.TopoOrder = g.TopoOrder
		default:
			out.Nodes, out.Edges, out.TopoOrder = g.Nodes, g.Edges, g.TopoOrder
		}
		if in.Format != "" && in.Format != "json" {
			var sb strings.Builder
			if err := g.render(&sb, in.Format); err != nil {
				return err
			}
			out.Text = sb.String()
		}
		return nil
	})
	return nil, out, err
}

type historyIn struct {
	Pattern string `json:"pattern,omitempty" jsonschema:"a key or pattern; every record when empty"`
	Since   string `json:"since,omitempty" jsonschema:"oldest time: RFC 3339, Unix milliseconds or a duration before now like 15m"`
	Until   string `json:"until,omitempty" jsonschema:"newest time, in the forms of since"`
	Limit   uint64 `json:"limit,omitempty" jsonschema:"values per record; the server's default when 0"`
	Order   string `json:"order,omitempty" jsonschema:"asc (oldest first, the default) or desc (newest first); with limit, desc selects the newest"`
	Bucket  string `json:"bucket,omitempty" jsonschema:"downsample to the newest value of each record per bucket of this duration, like 1m"`
}

type historyRow struct {
	Topic   string `json:"topic"`
	Time    string `json:"time" jsonschema:"RFC 3339, UTC"`
	TS      uint64 `json:"ts" jsonschema:"Unix milliseconds"`
	Payload any    `json:"payload"`
}

type historyOut struct {
	Total   int          `json:"total"`
	Records []historyRow `json:"records"`
}

func (b *mcpBackend) queryHistory(ctx context.Context, _ *mcp.CallToolRequest, in historyIn) (*mcp.CallToolResult, historyOut, error) {
	out := historyOut{Records: []historyRow{}}
	q := aimx.QueryParams{Pattern: in.Pattern}
	if q.Pattern == "" {
		q.Pattern = "#"
	}
	now := b.a.now()
	var err error
	if q.Start, err = parseTime("since", in.Since, now); err != nil {
		return nil, out, err
	}
	if q.End, err = parseTime("until", in.Until, now); err != nil {
		return nil, out, err
	}
	if in.Limit > 0 {
		q.Limit = &in.Limit
	}
	switch in.Order {
	case "", "asc", "desc":
		q.Order = in.Order
	default:
		return nil, out, fmt.Errorf("order %q: want asc or desc", in.Order)
	}
	if in.Bucket != "" {
		d, err := time.ParseDuration(in.Bucket)
		if err != nil || d < time.Millisecond {
			return nil, out, fmt.Errorf("bucket %q: want a duration of at least 1ms, like 1m", in.Bucket)
		}
		ms := uint64(d.Milliseconds())
		q.Bucket = &ms
	}
	err = b.call(ctx, func(ctx context.Context, c *aimx.Client) error {
		res, err := c.Query(ctx, q)
		if err != nil {
			return err
		}
		for _, r := range res.Records {
			row := historyRow{Topic: r.Topic, TS: r.TS, Time: time.UnixMilli(int64(r.TS)).UTC().Format(timeFormat)}
			if json.Unmarshal(r.Payload, &row.Payload) != nil {
				row.Payload = string(r.Payload)
			}
			out.Records = append(out.Records, row)
		}
		out.Total = res.Total
		return nil
	})
	return nil, out, err
}
