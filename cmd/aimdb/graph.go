package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aimdb-go/aimdb/aimx"
)

func newGraphCmd(a *app) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "graph",
		Short: "Draw the record dependency graph",
		Long: `Draw the record dependency graph from graph.nodes and graph.edges:
  tree     records under the records they derive from, with their sources,
           links and taps (the default)
  dot      Graphviz (aimdb graph --format dot | dot -Tsvg > graph.svg)
  mermaid  a Mermaid flowchart, for Markdown
  json     {"nodes","edges","topo_order"} as the server sent them
-o json without --format is --format json.`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("format") && a.json() {
				format = "json"
			}
			if !slices.Contains([]string{"tree", "dot", "mermaid", "json"}, format) {
				return usagef("--format %q: want tree, dot, mermaid or json", format)
			}
			return a.withClient(cmd, func(ctx context.Context, c *aimx.Client) error {
				if format == "json" {
					var raw struct {
						Nodes     json.RawMessage `json:"nodes"`
						Edges     json.RawMessage `json:"edges"`
						TopoOrder json.RawMessage `json:"topo_order"`
					}
					for _, m := range []struct {
						method string
						dst    *json.RawMessage
					}{{"graph.nodes", &raw.Nodes}, {"graph.edges", &raw.Edges}, {"graph.topo_order", &raw.TopoOrder}} {
						if err := c.Call(ctx, m.method, nil, m.dst); err != nil {
							return err
						}
					}
					return writeJSON(a.stdout, raw)
				}
				g, err := fetchGraph(ctx, c)
				if err != nil {
					return err
				}
				return g.render(a.stdout, format)
			})
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "tree", "tree, dot, mermaid or json")
	cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"tree", "dot", "mermaid", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// A graph is the dependency graph decoded from graph.nodes, graph.edges
// and graph.topo_order, with the link addresses of record.list.
type graph struct {
	Nodes     []graphNode `json:"nodes"`
	Edges     []graphEdge `json:"edges"`
	TopoOrder []string    `json:"topo_order"`
}

// A graphNode is one record of the graph.
type graphNode struct {
	Key        string   `json:"key"`
	Origin     string   `json:"origin" jsonschema:"source, passive, link, transform or transform_join"`
	Inputs     []string `json:"inputs,omitempty" jsonschema:"the records a transform or join reads"`
	Buffer     string   `json:"buffer" jsonschema:"ring(N), latest, mailbox or none"`
	Taps       int      `json:"taps"`
	LinksIn    []string `json:"links_in,omitempty" jsonschema:"addresses of inbound links"`
	LinksOut   []string `json:"links_out,omitempty" jsonschema:"addresses of outbound links (the protocol when the server does not list them)"`
	originText string
}

// A graphEdge is one edge: from a record (or the outside) to a record
// (or the outside).
type graphEdge struct {
	From     string `json:"from,omitempty" jsonschema:"the input record; empty for a source or an inbound link"`
	To       string `json:"to,omitempty" jsonschema:"the output record; empty for a tap or an outbound link"`
	Type     string `json:"type" jsonschema:"source, link, transform, transform_join, tap or link_out"`
	Protocol string `json:"protocol,omitempty"`
	Index    int    `json:"index,omitempty" jsonschema:"the tap's index"`
}

func fetchGraph(ctx context.Context, c *aimx.Client) (*graph, error) {
	nodes, err := c.GraphNodes(ctx)
	if err != nil {
		return nil, err
	}
	edges, err := c.GraphEdges(ctx)
	if err != nil {
		return nil, err
	}
	order, err := c.TopoOrder(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := c.Records(ctx)
	if err != nil {
		return nil, err
	}
	return buildGraph(nodes, edges, order, rows), nil
}

func buildGraph(nodes []aimx.GraphNode, edges []aimx.GraphEdge, order []string, rows []aimx.RecordInfo) *graph {
	links := map[string][2][]string{} // key → in, out addresses
	for _, r := range rows {
		var l [2][]string
		for _, m := range r.Links {
			if m.Direction == "in" {
				l[0] = append(l[0], m.Address)
			} else {
				l[1] = append(l[1], m.Address)
			}
		}
		links[r.RecordKey] = l
	}
	g := &graph{Nodes: []graphNode{}, Edges: []graphEdge{}, TopoOrder: order}
	if g.TopoOrder == nil {
		g.TopoOrder = []string{}
	}
	for _, n := range nodes {
		o := decodeOrigin(n.Origin)
		capacity := 0
		if n.BufferCapacity != nil {
			capacity = *n.BufferCapacity
		}
		gn := graphNode{Key: n.Key, Origin: o.Kind, Buffer: bufferText(n.BufferType, capacity), Taps: n.TapCount, originText: o.String()}
		switch o.Kind {
		case "transform":
			gn.Inputs = []string{o.Input}
		case "transform_join":
			gn.Inputs = o.Inputs
		}
		l := links[n.Key]
		gn.LinksIn, gn.LinksOut = l[0], l[1]
		if o.Kind == "link" && len(gn.LinksIn) == 0 {
			gn.LinksIn = []string{cmp.Or(o.Address, o.Protocol)}
		}
		g.Nodes = append(g.Nodes, gn)
	}
	for _, e := range edges {
		ge := graphEdge{}
		if e.From != nil {
			ge.From = *e.From
		}
		if e.To != nil {
			ge.To = *e.To
		}
		var s string
		if json.Unmarshal(e.EdgeType, &s) == nil {
			ge.Type = s
		} else {
			var m map[string]struct {
				Index    int    `json:"index"`
				Protocol string `json:"protocol"`
			}
			if json.Unmarshal(e.EdgeType, &m) == nil {
				for k, v := range m {
					ge.Type, ge.Index, ge.Protocol = k, v.Index, v.Protocol
				}
			}
		}
		g.Edges = append(g.Edges, ge)
	}
	// A node with an outbound link the server does not describe gets its
	// protocol from the link_out edge.
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if len(n.LinksOut) > 0 {
			continue
		}
		for _, e := range g.Edges {
			if e.Type == "link_out" && e.From == n.Key {
				n.LinksOut = append(n.LinksOut, "link out ("+cmp.Or(e.Protocol, "unknown")+")")
			}
		}
	}
	return g
}

func (g *graph) render(w io.Writer, format string) error {
	var b strings.Builder
	switch format {
	case "dot":
		g.dot(&b)
	case "mermaid":
		g.mermaid(&b)
	default:
		g.tree(&b)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// derived returns, for each record, the records derived from it, in
// topological order.
func (g *graph) derived() map[string][]string {
	rank := map[string]int{}
	for i, k := range g.TopoOrder {
		rank[k] = i
	}
	out := map[string][]string{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			out[in] = append(out[in], n.Key)
		}
	}
	for k := range out {
		slices.SortStableFunc(out[k], func(x, y string) int { return rank[x] - rank[y] })
	}
	return out
}

// ordered returns the nodes in topological order, then those the order
// leaves out (records on or behind a cycle).
func (g *graph) ordered() []graphNode {
	byKey := map[string]graphNode{}
	for _, n := range g.Nodes {
		byKey[n.Key] = n
	}
	var out []graphNode
	seen := map[string]bool{}
	for _, k := range g.TopoOrder {
		if n, ok := byKey[k]; ok && !seen[k] {
			out = append(out, n)
			seen[k] = true
		}
	}
	for _, n := range g.Nodes {
		if !seen[n.Key] {
			out = append(out, n)
		}
	}
	return out
}

// tree prints every record without record inputs as a root, with the
// records derived from it below. A join appears under each of its
// inputs; its own subtree is printed once.
func (g *graph) tree(w *strings.Builder) {
	nodes := map[string]graphNode{}
	for _, n := range g.Nodes {
		nodes[n.Key] = n
	}
	children := g.derived()
	expanded := map[string]bool{}
	var walk func(key, indent, branch string, depth int)
	walk = func(key, indent, branch string, depth int) {
		n := nodes[key]
		line := indent + branch + n.Key + "  " + n.Buffer
		var notes []string
		switch n.Origin {
		case "source":
			notes = append(notes, "← source")
		case "link":
			for _, l := range n.LinksIn {
				notes = append(notes, "← "+l)
			}
		case "transform":
			notes = append(notes, "transform")
		case "transform_join":
			notes = append(notes, n.originText)
		case "passive":
			notes = append(notes, "passive")
		default:
			notes = append(notes, n.Origin)
		}
		if n.Taps > 0 {
			notes = append(notes, fmt.Sprintf("→ %d tap(s)", n.Taps))
		}
		for _, l := range n.LinksOut {
			notes = append(notes, "→ "+l)
		}
		if expanded[key] && len(children[key]) > 0 {
			notes = append(notes, "(derived records shown above)")
		}
		if len(notes) > 0 {
			line += "  " + strings.Join(notes, "  ")
		}
		w.WriteString(line + "\n")
		if expanded[key] || depth > len(nodes) {
			return
		}
		expanded[key] = true
		kids := children[key]
		next := indent
		switch branch {
		case "├─ ":
			next += "│  "
		case "└─ ":
			next += "   "
		}
		for i, k := range kids {
			b := "├─ "
			if i == len(kids)-1 {
				b = "└─ "
			}
			walk(k, next, b, depth+1)
		}
	}
	for _, n := range g.ordered() {
		if len(n.Inputs) == 0 {
			walk(n.Key, "", "", 0)
		}
	}
	// Records on a cycle have inputs but no root above them.
	for _, n := range g.ordered() {
		if !expanded[n.Key] {
			walk(n.Key, "", "", 0)
		}
	}
}

// dotQuote quotes s as a DOT string.
func dotQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

func (g *graph) dot(w *strings.Builder) {
	w.WriteString("digraph aimdb {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n")
	for _, n := range g.ordered() {
		label := n.Key + "\n" + n.Buffer
		if n.Taps > 0 {
			label += fmt.Sprintf(", %d tap(s)", n.Taps)
		}
		fmt.Fprintf(w, "  %s [label=%s];\n", dotQuote(n.Key), dotQuote(label))
	}
	for _, n := range g.ordered() {
		switch n.Origin {
		case "source":
			id := "source:" + n.Key
			fmt.Fprintf(w, "  %s [label=\"source\", shape=circle, style=dashed];\n", dotQuote(id))
			fmt.Fprintf(w, "  %s -> %s;\n", dotQuote(id), dotQuote(n.Key))
		case "link":
			for _, l := range n.LinksIn {
				id := "in:" + n.Key + ":" + l
				fmt.Fprintf(w, "  %s [label=%s, shape=cds, style=dashed];\n", dotQuote(id), dotQuote(l))
				fmt.Fprintf(w, "  %s -> %s [label=\"link\"];\n", dotQuote(id), dotQuote(n.Key))
			}
		case "transform", "transform_join":
			label := "transform"
			if n.Origin == "transform_join" {
				label = "join"
			}
			for _, in := range n.Inputs {
				fmt.Fprintf(w, "  %s -> %s [label=%s];\n", dotQuote(in), dotQuote(n.Key), dotQuote(label))
			}
		}
		for _, l := range n.LinksOut {
			id := "out:" + n.Key + ":" + l
			fmt.Fprintf(w, "  %s [label=%s, shape=cds, style=dashed];\n", dotQuote(id), dotQuote(l))
			fmt.Fprintf(w, "  %s -> %s [label=\"link\"];\n", dotQuote(n.Key), dotQuote(id))
		}
	}
	w.WriteString("}\n")
}

// mermaidText escapes s for a quoted Mermaid label.
func mermaidText(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;").Replace(s)
}

func (g *graph) mermaid(w *strings.Builder) {
	w.WriteString("flowchart LR\n")
	ids := map[string]string{}
	nodes := g.ordered()
	for i, n := range nodes {
		ids[n.Key] = fmt.Sprintf("r%d", i)
		label := mermaidText(n.Key) + "<br/>" + mermaidText(n.Buffer)
		if n.Taps > 0 {
			label += fmt.Sprintf(", %d tap(s)", n.Taps)
		}
		fmt.Fprintf(w, "  %s[\"%s\"]\n", ids[n.Key], label)
	}
	ext := 0
	for _, n := range nodes {
		id := ids[n.Key]
		switch n.Origin {
		case "source":
			fmt.Fprintf(w, "  x%d((source)) --> %s\n", ext, id)
			ext++
		case "link":
			for _, l := range n.LinksIn {
				fmt.Fprintf(w, "  x%d([\"%s\"]) -->|link| %s\n", ext, mermaidText(l), id)
				ext++
			}
		case "transform", "transform_join":
			label := "transform"
			if n.Origin == "transform_join" {
				label = "join"
			}
			for _, in := range n.Inputs {
				if from, ok := ids[in]; ok {
					fmt.Fprintf(w, "  %s -->|%s| %s\n", from, label, id)
				}
			}
		}
		for _, l := range n.LinksOut {
			fmt.Fprintf(w, "  %s -->|link| x%d([\"%s\"])\n", id, ext, mermaidText(l))
			ext++
		}
	}
}
