package aimdb

// Origin says what writes a record; of a record with several inbound
// links, the one that delivered the most values. Its JSON form matches AimDB's
// RecordOrigin: "source", "passive", {"transform":{"input":…}},
// {"transform_join":{"inputs":[…]}} or {"link":{"protocol":…,"address":…}}.
type Origin struct {
	Kind     string   // "source", "transform", "transform_join", "link" or "passive"
	Input    string   // the input of a transform
	Inputs   []string // the inputs of a join
	Protocol string   // the scheme of an inbound link
	Address  string   // the URL of an inbound link
}

// EdgeType says what an edge of the dependency graph stands for. Its JSON
// form matches AimDB's EdgeType: "source", "transform", "transform_join",
// {"tap":{"index":n}}, {"link":{"protocol":…}} or {"link_out":{"protocol":…}}.
type EdgeType struct {
	Kind     string // "source", "transform", "transform_join", "tap", "link" or "link_out"
	Index    int    // the tap's index
	Protocol string // the scheme of a link
}

// A GraphNode is one record in the dependency graph.
type GraphNode struct {
	Key             string `json:"key"`
	Origin          Origin `json:"origin"`
	BufferType      string `json:"buffer_type"`     // "spmc_ring", "single_latest", "mailbox" or "none"
	BufferCapacity  *int   `json:"buffer_capacity"` // rings only; null otherwise
	TapCount        int    `json:"tap_count"`
	HasOutboundLink bool   `json:"has_outbound_link"`

	// Beyond AimDB: a family's node has its template as Key and its live
	// instance count in Instances; an instance's node names its family.
	// Edges connect families, not instances.
	Instances *int   `json:"instances,omitempty"`
	Family    string `json:"family,omitempty"`
}

// A GraphEdge connects two records, or a record and the outside world
// (From or To is nil): sources and inbound links feed a record, taps and
// outbound links consume it.
type GraphEdge struct {
	From     *string  `json:"from"`
	To       *string  `json:"to"`
	EdgeType EdgeType `json:"edge_type"`
}

// Graph is the record dependency graph: every record, the edges between
// records and stages, and a topological order (inputs before outputs;
// independent records in registration order). Its JSON form matches
// AimDB's graph.nodes, graph.edges and graph.topo_order.
type Graph struct {
	Nodes     []GraphNode `json:"nodes"`
	Edges     []GraphEdge `json:"edges"`
	TopoOrder []string    `json:"topo_order"`
}

func (b *recordBase) origin() Origin {
	if len(b.transforms) > 0 {
		t := b.transforms[0]
		if t.join && len(t.inputs) > 1 {
			return Origin{Kind: "transform_join", Inputs: t.inputs}
		}
		return Origin{Kind: "transform", Input: t.inputs[0]}
	}
	if len(b.linksIn) > 0 {
		// Of several inbound links, the one the values arrive over: the
		// one that delivered the most (the first while none delivered).
		l := b.linksIn[0]
		for _, o := range b.linksIn[1:] {
			if o.received.Load() > l.received.Load() {
				l = o
			}
		}
		return Origin{Kind: "link", Protocol: l.scheme, Address: l.display}
	}
	if len(b.sources) > 0 {
		return Origin{Kind: "source"}
	}
	return Origin{Kind: "passive"}
}

// Graph returns the dependency graph of the registered records. It may be
// called at any time; when the configuration has a cycle, TopoOrder leaves
// out the records on or behind it.
func (db *DB) Graph() Graph {
	db.mu.Lock()
	defer db.mu.Unlock()
	nodes := db.nodesLocked()
	g := Graph{Nodes: []GraphNode{}, Edges: []GraphEdge{}, TopoOrder: []string{}}
	for _, c := range db.records {
		if c == nil || c.base().fam == nil {
			continue
		}
		b := c.base()
		n := GraphNode{
			Key:             b.key,
			Origin:          b.origin(),
			BufferType:      b.cfg.Type(),
			TapCount:        len(b.famBase.taps),
			HasOutboundLink: len(b.linksOut) > 0,
			Family:          b.famBase.key,
		}
		if b.cfg.kind == "spmc_ring" {
			n.BufferCapacity = new(b.cfg.capacity)
		}
		g.Nodes = append(g.Nodes, n)
	}
	for _, c := range nodes {
		b := c.base()
		n := GraphNode{
			Key:             b.key,
			Origin:          b.origin(),
			BufferType:      b.cfg.Type(),
			TapCount:        len(b.taps),
			HasOutboundLink: len(b.linksOut) > 0,
		}
		if b.cfg.kind == "spmc_ring" {
			n.BufferCapacity = new(b.cfg.capacity)
		}
		if f, ok := c.(familyCore); ok {
			n.Instances = new(int(f.state().count.Load()))
		}
		g.Nodes = append(g.Nodes, n)

		key := new(b.key)
		switch n.Origin.Kind {
		case "source":
			g.Edges = append(g.Edges, GraphEdge{To: key, EdgeType: EdgeType{Kind: "source"}})
		case "transform", "transform_join":
			for _, in := range b.transforms[0].inputs {
				g.Edges = append(g.Edges, GraphEdge{From: new(in), To: key, EdgeType: EdgeType{Kind: n.Origin.Kind}})
			}
		case "link":
			for _, l := range b.linksIn {
				g.Edges = append(g.Edges, GraphEdge{To: key, EdgeType: EdgeType{Kind: "link", Protocol: l.scheme}})
			}
		}
		if len(b.linksOut) > 0 {
			// AimDB emits one link_out edge per record, whatever the
			// number of outbound links, and does not name the protocol.
			g.Edges = append(g.Edges, GraphEdge{From: key, EdgeType: EdgeType{Kind: "link_out", Protocol: "unknown"}})
		}
		for i := range b.taps {
			g.Edges = append(g.Edges, GraphEdge{From: key, EdgeType: EdgeType{Kind: "tap", Index: i}})
		}
	}
	for _, c := range buildDeps(nodes, db.nodeIndexLocked(nodes)).order {
		g.TopoOrder = append(g.TopoOrder, c.base().key)
	}
	return g
}
