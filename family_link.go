package aimdb

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aimdb-go/aimdb/connector"
)

// grammar returns the level separator and one-level wildcard of the
// connector a link URL names (see connector.TopicGrammar).
func (db *DB) grammar(raw string) (byte, string) {
	scheme, _, _ := strings.Cut(raw, "://")
	if g, ok := db.opts.Connectors[strings.ToLower(scheme)].(connector.TopicGrammar); ok {
		return g.TopicGrammar()
	}
	return '/', "+"
}

// familyURL parses a family link URL such as
// "mqtt://station/{id}/temperature?qos=1": the topic's captures are whole
// levels separated by sep. It returns the topic template and the URL with
// every capture replaced by w (the connector's one-level wildcard, for an
// inbound link).
func familyURL(raw string, sep byte, w string) (*keyTemplate, string, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, raw, nil // ParseLink reports it
	}
	topic, query, hasQuery := strings.Cut(rest, "?")
	lead := ""
	if strings.HasPrefix(topic, "/") {
		lead, topic = "/", topic[1:]
	}
	if topic == "" {
		return nil, raw, nil
	}
	t, err := parseTemplate(topic, sep, false)
	if err != nil {
		return nil, raw, fmt.Errorf("link topic: %v", err)
	}
	out := scheme + "://" + lead + t.wildcard(w)
	if hasQuery {
		out += "?" + query
	}
	return t, out, nil
}

// reorder returns vals, named by from, in the order of to.
func reorder(from, vals, to []string) []string {
	out := make([]string, len(to))
	for i, n := range to {
		for j, m := range from {
			if m == n {
				out[i] = vals[j]
			}
		}
	}
	return out
}

// captureList formats capture names as "{a}, {b}".
func captureList(names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = "{" + n + "}"
	}
	return strings.Join(parts, ", ")
}

// view returns the link as the instance rec, whose captures names took
// vals, sees it: its own counters and its concrete topic.
func (l *link) view(rec *recordBase, names, vals []string) *link {
	v := &link{rec: rec, raw: l.raw, display: l.display, scheme: l.scheme, inbound: l.inbound, conn: l.conn, parent: l}
	if l.tmpl != nil {
		v.topic = l.tmpl.fillNamed(names, vals)
		v.display = l.scheme + "://" + v.topic
	}
	return v
}

// rateLimit lets a warning through at most once every 10 seconds,
// carrying the count of the ones held back.
type rateLimit struct {
	last atomic.Int64
	held atomic.Uint64
}

// allow reports whether to log now and how many were held back since.
func (rl *rateLimit) allow() (bool, uint64) {
	now := time.Now().UnixNano()
	last := rl.last.Load()
	if now-last < int64(10*time.Second) || !rl.last.CompareAndSwap(last, now) {
		rl.held.Add(1)
		return false, 0
	}
	return true, rl.held.Swap(0)
}

// LinkFrom stores the messages of every topic that fills the URL's
// template into the instance whose captures the topic holds: a family
// "station.{id}.temperature" linked from "mqtt://station/{id}/temperature"
// subscribes once to "station/+/temperature", and a message on
// "station/17/temperature" lands in "station.17.temperature", created on
// its first valid message. The URL must capture every name of the
// family's template, as whole topic levels (split as the connector's
// connector.TopicGrammar says; '/' by default). A topic whose values cannot
// fill a key segment, or a payload that fails to decode before its
// instance exists, is counted in FamilyMetadata.Rejected; a payload that
// fails to decode for an existing instance is counted in that instance's
// link metadata, as for a record.
func (f *Family[T]) LinkFrom(url string, c Codec[T], opts ...LinkOption) {
	sep, one := f.db.grammar(url)
	tmpl, filter, terr := familyURL(url, sep, one)
	l := f.addLink(filter, true, c, opts)
	l.display = connector.Redact(url)
	l.tmpl = tmpl
	switch {
	case terr != nil:
		l.typeErr = terr.Error()
	case tmpl != nil && f.fs.tmpl != nil && !sameCaptures(tmpl.names, f.fs.tmpl.names):
		l.typeErr = fmt.Sprintf("the URL captures [%s] but the family's template captures [%s]; an inbound family link must capture each of them once",
			captureList(tmpl.names), captureList(f.fs.tmpl.names))
	case l.cfg.topicFn != nil:
		l.typeErr = "TopicFrom applies to .LinkTo() only"
	case l.cfg.route != nil:
		l.typeErr = "RouteTopic does not apply to a family link: the URL's captures route its messages"
	}
	if l.codecNil || l.typeErr != "" || tmpl == nil || f.fs.tmpl == nil {
		return
	}
	idx := len(f.linksIn) - 1
	td, _ := c.(TopicDecoder[T])
	var (
		mu     sync.Mutex
		cache  = map[string]*Record[T]{} // topic → instance; bounded by MaxInstances
		reject rateLimit
	)
	warn := func(msg, topic string, err error) {
		if ok, held := reject.allow(); ok {
			f.logger().Warn(msg, "link", l.display, "topic", topic, "err", err, "suppressed", held)
		}
	}
	l.deliver = func(m *connector.Message) {
		l.received.Add(1)
		l.lost.Add(m.Lost)
		mu.Lock()
		r := cache[m.Topic]
		if r != nil && r.evicted.Load() {
			delete(cache, m.Topic)
			r = nil
		}
		mu.Unlock()
		var vals []string
		if r == nil {
			var ok bool
			if vals, ok = tmpl.match(m.Topic); !ok {
				f.fs.rejected.Add(1)
				warn("aimdb: inbound topic does not fill the family's template; not stored", m.Topic,
					fmt.Errorf("want %s with each capture a key segment", tmpl.raw))
				return
			}
		}
		var (
			v   T
			err error
		)
		if td != nil {
			v, err = td.DecodeTopic(m.Topic, m.Payload)
		} else {
			v, err = c.Decode(m.Payload)
		}
		if err != nil {
			if r != nil {
				r.linksIn[idx].received.Add(1)
				r.linksIn[idx].decodeErrors.Add(1)
			} else {
				f.fs.rejected.Add(1)
			}
			warn("aimdb: inbound payload failed to decode; not stored", m.Topic, err)
			return
		}
		for range 2 { // a second time if the instance was evicted meanwhile
			if r == nil {
				if vals == nil {
					vals, _ = tmpl.match(m.Topic)
				}
				fv := reorder(tmpl.names, vals, f.fs.tmpl.names)
				if r, err = f.instance(f.fs.tmpl.fill(fv), fv); err != nil {
					if !errors.Is(err, ErrFamilyFull) && !errors.Is(err, ErrClosed) {
						warn("aimdb: inbound message not stored", m.Topic, err)
					}
					return
				}
				mu.Lock()
				cache[m.Topic] = r
				mu.Unlock()
			}
			view := r.linksIn[idx]
			err = r.produce(v)
			if err == nil || !r.evicted.Load() {
				view.received.Add(1)
				if err != nil && !errors.Is(err, ErrClosed) {
					warn("aimdb: inbound message not stored", m.Topic, err)
				}
				return
			}
			r = nil
		}
	}
}

// LinkTo publishes every value of every instance through the connector
// named by the URL's scheme, encoded by c, to the URL's topic with the
// instance's captures filled in: "mqtt://station/{id}/dew_point" publishes
// the values of "station.17.dew_point" to "station/17/dew_point". The URL
// may capture any of the family's names (or none: every instance
// publishes to one topic). Otherwise it behaves as Record.LinkTo.
func (f *Family[T]) LinkTo(url string, c Codec[T], opts ...LinkOption) {
	sep, _ := f.db.grammar(url)
	tmpl, _, terr := familyURL(url, sep, "x")
	l := f.addLink(url, false, c, opts)
	l.tmpl = tmpl
	switch {
	case terr != nil:
		l.typeErr = terr.Error()
	case tmpl != nil && f.fs.tmpl != nil && !subsetCaptures(tmpl.names, f.fs.tmpl.names):
		l.typeErr = fmt.Sprintf("the URL captures [%s] but the family's template captures only [%s]",
			captureList(tmpl.names), captureList(f.fs.tmpl.names))
	case l.cfg.route != nil:
		l.typeErr = "RouteTopic applies to .LinkFrom() only"
	case l.cfg.topicFn != nil:
		l.typeErr = "TopicFrom does not apply to a family link: the URL's captures give each instance its topic"
	case l.cfg.outbox != nil:
		l.typeErr = "DurableOutbox applies to a record's .LinkTo(), not a family's"
	}
	idx := len(f.linksOut) - 1
	l.prepare = func(rs *runState, m *linkManager) {
		fi := newFanIn(1)
		fi.busy = &rs.busy
		rs.pending = append(rs.pending, fi.queued)
		ctx := rs.stageCtx
		enc := newEncoder(c) // the fan-in's goroutine is its only user
		sub := f.subscribeInto(fi, func(fr *famReader[T], v T) {
			view := fr.rec.linksOut[idx]
			msg, err := enc.encode(v)
			if err != nil {
				view.encodeErrors.Add(1)
				fr.rec.logger().Warn("aimdb: value failed to encode; not published", "link", view.display, "err", err)
				m.failed(1)
			} else {
				msg.l, msg.topic = view, view.topic
				enc.push(ctx, m, msg)
			}
			if receipts {
				fr.through.Store(fr.r.Position())
			}
		}, true)
		sub.onLag = func(fr *famReader[T], missed uint64) {
			view := fr.rec.linksOut[idx]
			view.dropped.Add(missed)
			fr.rec.logger().Warn("aimdb: outbound link lagged, values not published", "link", view.display, "missed", missed)
			m.failed(missed)
			if receipts {
				fr.through.Store(fr.r.Position())
			}
		}
		if receipts {
			rs.marks = append(rs.marks, sub.marks)
		}
		m.addPump()
		rs.queue(func() {
			rs.goConsumer(func() {
				defer m.pumpDone()
				_ = runFanIn(ctx, fi, f.logger)
			})
		})
	}
}

// validateFamily checks what only families have: that a derived family's
// inputs capture the same names as the family.
func (db *DB) validateFamily(v *validation, f familyCore, byKey map[string]recordCore) {
	b := f.base()
	t := f.state().tmpl
	if t == nil {
		return
	}
	for _, tr := range b.transforms {
		for _, in := range tr.inputs {
			ic, ok := byKey[in].(familyCore)
			if !ok || ic.state().tmpl == nil {
				continue // reported with the inputs
			}
			if it := ic.state().tmpl; !sameCaptures(it.names, t.names) {
				v.add(b.key, "%s input family %q captures [%s], but the family captures [%s]; derived families match instances on the same captures",
					tr.verb(), in, captureList(it.names), captureList(t.names))
			}
		}
	}
}
