package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/aimdb-go/aimdb/aimx"
)

// The MCP resources and prompts.
const (
	recordsURI     = "aimdb://records"
	graphURI       = "aimdb://graph"
	recordURIBase  = "aimdb://record/"
	recordTemplate = recordURIBase + "{key}"
)

// addResources adds the resources to s: the record list and each
// record's latest value, and with all tools the graph.
func (b *mcpBackend) addResources(s *mcp.Server) {
	s.AddResource(&mcp.Resource{URI: recordsURI, Name: "records", MIMEType: "application/json",
		Description: "The records of the DB, as list_records returns them: key, type, buffer, origin, counters, writable."},
		b.readRecords)
	s.AddResourceTemplate(&mcp.ResourceTemplate{URITemplate: recordTemplate, Name: "record", MIMEType: "application/json",
		Description: "The latest value of the record keyed {key}, as get_record returns it (aimdb://record/sensors.temp)."},
		b.readRecord)
	if b.opts.public {
		return
	}
	s.AddResource(&mcp.Resource{URI: graphURI, Name: "graph", MIMEType: "application/json",
		Description: "The record dependency graph: nodes, edges and a topological order, as the graph tool returns it."},
		b.readGraph)
}

// jsonResource returns v as the JSON contents of uri.
func jsonResource(uri string, v any) (*mcp.ReadResourceResult, error) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "application/json", Text: string(body)}}}, nil
}

func (b *mcpBackend) readRecords(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	_, out, err := b.listRecords(ctx, nil, listRecordsIn{})
	if err != nil {
		return nil, err
	}
	return jsonResource(req.Params.URI, out)
}

func (b *mcpBackend) readGraph(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	_, out, err := b.graph(ctx, nil, graphIn{})
	if err != nil {
		return nil, err
	}
	return jsonResource(req.Params.URI, out)
}

func (b *mcpBackend) readRecord(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	uri := req.Params.URI
	key, err := url.PathUnescape(strings.TrimPrefix(uri, recordURIBase))
	if err != nil || key == "" || !strings.HasPrefix(uri, recordURIBase) {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	var raw json.RawMessage
	err = b.call(ctx, func(ctx context.Context, c *aimx.Client) error {
		raw, err = c.Get(ctx, key)
		return err
	})
	if err != nil {
		// A key the DB does not know is a resource that does not exist;
		// anything else (no value yet, no connection) says why.
		if strings.Contains(err.Error(), "unknown record key") {
			return nil, mcp.ResourceNotFoundError(uri)
		}
		return nil, err
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return jsonResource(uri, v)
}

// addPrompts adds the prompts to s.
func (b *mcpBackend) addPrompts(s *mcp.Server) {
	s.AddPrompt(&mcp.Prompt{Name: "diagnose_db", Title: "Diagnose this DB",
		Description: "Check the DB's health: stale records, drops, lagging readers, slow or failing stages, broken links; and suggest fixes."},
		b.diagnosePrompt)
	s.AddPrompt(&mcp.Prompt{Name: "explain_record", Title: "Explain this record",
		Description: "Explain what a record holds, what writes it, what reads it and how its values move.",
		Arguments:   []*mcp.PromptArgument{{Name: "key", Title: "Record key", Description: "the record key, e.g. station.2.temperature", Required: true}}},
		b.explainPrompt)
}

func userPrompt(desc, text string) *mcp.GetPromptResult {
	return &mcp.GetPromptResult{Description: desc, Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: text}}}}
}

func (b *mcpBackend) diagnosePrompt(ctx context.Context, _ *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	return userPrompt("Diagnose this DB", `Diagnose the AimDB data plane these tools are connected to.

1. Call health (interval_ms 2000) for a summary of findings.
2. For each finding, look closer: get_buffer_metrics for drops and occupancy of the records involved, get_stage_profiling for slow or failing stages (the bottleneck of each record), graph (view nodes) for the links and their inputs, and get_record or sample_subscription for the values.
3. Read aimdb://graph to see which records a problem propagates to.
4. Report: what is wrong, the evidence (counters, errors, timestamps), the records affected downstream, and a concrete fix for each (a bigger ring, a faster tap, a broker or sensor to check). Say plainly when everything is healthy.`), nil
}

func (b *mcpBackend) explainPrompt(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	key := req.Params.Arguments["key"]
	if key == "" {
		return nil, errors.New(`explain_record: the argument "key" is required: a record key, e.g. station.2.temperature`)
	}
	err := b.call(ctx, func(ctx context.Context, c *aimx.Client) error {
		_, err := matching(ctx, c, key)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("explain_record: %w", err)
	}
	text := fmt.Sprintf(`Explain the record %[1]q of the AimDB data plane these tools are connected to, for someone who did not write it.

1. Call query_schema with record_name %[1]q for its Go type, buffer, whether it is writable, and the shape of its value.
2. Call graph (view nodes) and find %[1]q: its origin (a source, an inbound link, a transform or join of other records, or passive), its inputs, its taps and outbound links; and the records derived from it.
3. Call get_record (or read aimdb://record/%[1]s) for its current value, and get_buffer_metrics with pattern %[1]q for how many values moved and were dropped.
4. Explain in a few short paragraphs: what the value means (units, fields), where it comes from, where it goes, how its buffer behaves (a ring keeps the last N for every reader, latest keeps the newest, a mailbox hands each value to one reader), and anything unusual in its counters.`, key)
	return userPrompt("Explain the record "+key, text), nil
}
