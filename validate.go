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

func (db *DB) validateLocked() validation {
	v := validation{errs: slices.Clone(db.mistakes)}
	byKey := *db.byKey.Load()
	for _, c := range db.records {
		b := c.base()
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
				case !ok:
					v.add(b.key, "%s references unregistered input %q", t.verb(), in)
				case ic.base().typ != t.types[i]:
					v.add(b.key, "%s input %q has type %s, but the function takes %s",
						t.verb(), in, ic.base().typ, t.types[i])
				}
			}
		}
	}
	g := buildDeps(db.records, byKey)
	v.order = g.order
	if cyc := g.cycle(); len(cyc) > 0 {
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
	for _, c := range records {
		b := c.base()
		for _, t := range b.transforms {
			for _, in := range t.inputs {
				if ic, ok := byKey[in]; ok {
					from := ic.base().id
					g.out[from] = append(g.out[from], b.id)
					indeg[b.id]++
				}
			}
		}
	}
	// Kahn's algorithm, always taking the lowest ready id so the order is
	// deterministic and follows registration among independent records.
	ready := []int{}
	for i, d := range indeg {
		if d == 0 {
			ready = append(ready, i)
		}
	}
	for len(ready) > 0 {
		i := slices.Min(ready)
		ready = slices.DeleteFunc(ready, func(x int) bool { return x == i })
		g.order = append(g.order, records[i])
		for _, o := range g.out[i] {
			if indeg[o]--; indeg[o] == 0 {
				ready = append(ready, o)
			}
		}
	}
	for i, d := range indeg {
		g.left[i] = d > 0
	}
	return g
}

// cycle returns the keys of the records that lie on a cycle: what Kahn's
// algorithm left over, minus records that are merely downstream of one.
func (g *deps) cycle() []string {
	left := slices.Clone(g.left)
	for changed := true; changed; {
		changed = false
		for i := range left {
			if !left[i] {
				continue
			}
			feedsCycle := slices.ContainsFunc(g.out[i], func(o int) bool { return left[o] })
			if !feedsCycle {
				left[i] = false
				changed = true
			}
		}
	}
	var keys []string
	for i, l := range left {
		if l {
			keys = append(keys, g.records[i].base().key)
		}
	}
	return keys
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
	if l.cfg.err != "" {
		v.addURL(key, l.display, "%s: %s", verb, l.cfg.err)
	}
	if l.typeErr != "" {
		v.addURL(key, l.display, "%s: %s", verb, l.typeErr)
	}
}
