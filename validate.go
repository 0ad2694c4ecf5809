package aimdb

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aimdb-go/aimdb/connector"
)

// Validate checks the DB's configuration and returns an
// *InvalidConfigError listing every mistake, or nil. Run validates too;
// Validate lets tests and tools check a configuration without running it.
// The order in which records were registered never matters.
func (db *DB) Validate() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	v := db.validateLocked()
	return v.err()
}

type validation struct {
	errs  []*ConfigError
	order []recordCore // topological order; complete only without cycles
}

func (v *validation) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	return &InvalidConfigError{Errors: v.errs}
}

func (v *validation) addURL(key, url, format string, args ...any) {
	v.errs = append(v.errs, &ConfigError{Key: key, URL: url, Message: fmt.Sprintf(format, args...)})
}

func (v *validation) add(key, format string, args ...any) {
	v.errs = append(v.errs, &ConfigError{Key: key, Message: fmt.Sprintf(format, args...)})
}

// nodesLocked returns the nodes of the dependency graph: the records
// registered before Run (not family instances) and the families.
func (db *DB) nodesLocked() []recordCore {
	nodes := make([]recordCore, 0, len(db.records)+len(db.families))
	for _, c := range db.records {
		if c != nil && c.base().fam == nil {
			nodes = append(nodes, c)
		}
	}
	for _, f := range db.families {
		nodes = append(nodes, f)
	}
	return nodes
}

// nodeIndexLocked maps keys and family templates to their nodes.
func (db *DB) nodeIndexLocked(nodes []recordCore) map[string]recordCore {
	m := make(map[string]recordCore, len(nodes))
	for _, c := range nodes {
		m[c.base().key] = c
	}
	return m
}

func (db *DB) validateLocked() validation {
	v := validation{errs: slices.Clone(db.mistakes)}
	nodes := db.nodesLocked()
	byKey := db.nodeIndexLocked(nodes)
	for _, c := range nodes {
		b := c.base()
		if b.isFamily {
			db.validateFamily(&v, c.(familyCore), byKey)
		} else if f, _ := db.familyOf(b.key); f != nil {
			v.add(b.key, "key fills the template of family %q", f.base().key)
		}
		if len(b.sources) > 1 {
			v.add(b.key, "record has %d .Source() stages; only one is allowed", len(b.sources))
		}
		if len(b.transforms) > 1 {
			v.add(b.key, "record has %d transforms or joins; only one is allowed", len(b.transforms))
		}
		if len(b.sources) > 0 && len(b.transforms) > 0 {
			v.add(b.key, "conflicting writers: record has .Source() + %s; these are mutually exclusive (all write the same buffer)",
				b.transforms[0].verb())
		}
		if len(b.linksIn) > 0 && len(b.sources) > 0 {
			v.add(b.key, "conflicting writers: record has .Source() + .LinkFrom(); these are mutually exclusive (all write the same buffer)")
		}
		if len(b.linksIn) > 0 && len(b.transforms) > 0 {
			v.add(b.key, "conflicting writers: record has %s + .LinkFrom(); these are mutually exclusive (all write the same buffer)",
				b.transforms[0].verb())
		}
		for _, links := range [][]*link{b.linksIn, b.linksOut} {
			for _, l := range links {
				db.validateLink(&v, l)
			}
		}
		for _, t := range b.transforms {
			for i, in := range t.inputs {
				ic, ok := byKey[in]
				switch {
				case !ok && b.isFamily:
					v.add(b.key, "%s references unregistered input family %q", t.verb(), in)
				case !ok:
					v.add(b.key, "%s references unregistered input %q", t.verb(), in)
				case ic.base().isFamily != b.isFamily && b.isFamily:
					v.add(b.key, "%s input %q is a record, not a family", t.verb(), in)
				case ic.base().isFamily != b.isFamily:
					v.add(b.key, "%s input %q is a family", t.verb(), in)
				case ic.base().typ != t.types[i]:
					v.add(b.key, "%s input %q has type %s, but the function takes %s",
						t.verb(), in, ic.base().typ, t.types[i])
				}
			}
		}
	}
	g := buildDeps(nodes, byKey)
	v.order = g.order
	for _, cyc := range g.cycles() {
		v.add("", "cyclic dependency among records: [%s]", strings.Join(cyc, ", "))
	}
	return v
}

// deps is the record dependency graph: an edge from each transform input
// to its output.
type deps struct {
	records []recordCore
	out     [][]int // out[i]: ids of records that record i feeds
	order   []recordCore
	left    []bool // left[i]: record i is on or behind a cycle
}

func buildDeps(records []recordCore, byKey map[string]recordCore) *deps {
	g := &deps{records: records, out: make([][]int, len(records)), left: make([]bool, len(records))}
	indeg := make([]int, len(records))
	pos := make(map[*recordBase]int, len(records))
	for i, c := range records {
		pos[c.base()] = i
	}
	for i, c := range records {
		b := c.base()
		for _, t := range b.transforms {
			for _, in := range t.inputs {
				if ic, ok := byKey[in]; ok {
					from := pos[ic.base()]
					g.out[from] = append(g.out[from], i)
					indeg[i]++
				}
			}
		}
	}
	// Kahn's algorithm, always taking the lowest ready position so the
	// order is deterministic and follows registration among independent
	// records (a min-heap keeps it O(n log n)).
	ready := &intHeap{}
	for i, d := range indeg {
		if d == 0 {
			ready.push(i)
		}
	}
	for ready.len() > 0 {
		i := ready.pop()
		g.order = append(g.order, records[i])
		for _, o := range g.out[i] {
			if indeg[o]--; indeg[o] == 0 {
				ready.push(o)
			}
		}
	}
	for i, d := range indeg {
		g.left[i] = d > 0
	}
	return g
}

// cycles returns the keys of the records on each cycle, one list per
// strongly connected component, in registration order: what Kahn's
// algorithm left over, minus records that are merely downstream of one.
func (g *deps) cycles() [][]string {
	n := len(g.records)
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var (
		stack []int
		next  int
		comps [][]int
	)
	var visit func(v int)
	visit = func(v int) { // Tarjan's algorithm, over the left-over records
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range g.out[v] {
			if !g.left[w] {
				continue
			}
			if index[w] < 0 {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var comp []int
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			if len(comp) > 1 || slices.Contains(g.out[v], v) {
				insertionSort(comp, func(a, b int) bool { return a < b })
				comps = append(comps, comp)
			}
		}
	}
	for i := range n {
		if g.left[i] && index[i] < 0 {
			visit(i)
		}
	}
	insertionSort(comps, func(a, b []int) bool { return a[0] < b[0] })
	out := make([][]string, len(comps))
	for i, c := range comps {
		for _, r := range c {
			out[i] = append(out[i], g.records[r].base().key)
		}
	}
	return out
}

// validateLink checks one link: its URL, its connector, its codec and its
// options (which the connector may check too).
func (db *DB) validateLink(v *validation, l *link) {
	key := l.rec.key
	verb := ".LinkTo()"
	if l.inbound {
		verb = ".LinkFrom()"
	}
	if l.urlErr != "" {
		v.addURL(key, l.display, "%s: %s", verb, l.urlErr)
	} else {
		d, ok := db.opts.Connectors[l.scheme]
		switch {
		case !ok:
			v.addURL(key, l.display, "%s: no connector for scheme %q (add one to aimdb.Options.Connectors)", verb, l.scheme)
		case d == nil:
			v.addURL(key, l.display, "%s: the connector for scheme %q is nil", verb, l.scheme)
		default:
			if lv, ok := d.(connector.LinkValidator); ok {
				if err := lv.ValidateLink(l.conn); err != nil {
					v.addURL(key, l.display, "%s: %v", verb, err)
				}
			}
		}
	}
	if l.codecNil {
		v.addURL(key, l.display, "%s given a nil codec", verb)
	}
	if l.codecErr != "" {
		v.addURL(key, l.display, "%s: codec: %s", verb, l.codecErr)
	}
	if l.cfg.err != "" {
		v.addURL(key, l.display, "%s: %s", verb, l.cfg.err)
	}
	if l.typeErr != "" {
		v.addURL(key, l.display, "%s: %s", verb, l.typeErr)
	}
}

// intHeap is a min-heap of ints.
type intHeap struct{ a []int }

func (h *intHeap) len() int { return len(h.a) }

func (h *intHeap) push(x int) {
	h.a = append(h.a, x)
	for i := len(h.a) - 1; i > 0; {
		p := (i - 1) / 2
		if h.a[p] <= h.a[i] {
			break
		}
		h.a[p], h.a[i] = h.a[i], h.a[p]
		i = p
	}
}

func (h *intHeap) pop() int {
	top := h.a[0]
	last := len(h.a) - 1
	h.a[0] = h.a[last]
	h.a = h.a[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h.a) && h.a[l] < h.a[m] {
			m = l
		}
		if r < len(h.a) && h.a[r] < h.a[m] {
			m = r
		}
		if m == i {
			return top
		}
		h.a[m], h.a[i] = h.a[i], h.a[m]
		i = m
	}
}

// insertionSort sorts s stably by less. The lists it sorts are short
// (cycles, a virtual clock's sleepers), and unlike slices.SortFunc it
// costs a microcontroller's flash a few hundred bytes, not kilobytes.
func insertionSort[E any](s []E, less func(a, b E) bool) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && less(s[j], s[j-1]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
