package mqtt

import (
	"fmt"
	"strings"
	"sync"

	"github.com/aimdb-go/aimdb/connector"
)

// routes is a session's inbound routing table: the links subscribed to
// each broker filter, found for a message by one connector.TopicRouter
// match (a map lookup when no filter holds a wildcard), never by a scan
// of every link.
//
// Overlapping subscriptions ("station/+/t" and "station/#") make some
// brokers (mosquitto) send one copy of a message per matching
// subscription, others (mochi, HiveMQ) one copy carrying every matching
// subscription identifier. In MQTT 5 each broker filter therefore has an
// identifier, and a copy that carries one is routed — to every link whose
// filter matches — only if its identifier is the highest among the
// matching filters: exactly one copy is routed either way (paho keeps
// the last identifier of a packet, and brokers that send one copy list
// them in ascending order, as the specification's examples do). The
// session sends the identifiers only once two filters overlap (see
// overlap): an identifier costs paho two allocations per message
// received.
type routes struct {
	mu       sync.Mutex
	router   connector.TopicRouter[*route]
	byName   map[string]*route
	byID     []*route // identifier i at index i-1
	overlaps bool     // two filters match a common topic

	// Scratch of the delivering goroutine (one at a time per session),
	// reused for every message.
	matched []*route
	deliver []func(*connector.Message)
	msg     connector.Message
}

// route is one broker filter and the links subscribed to it.
type route struct {
	name   string // the broker filter
	filter string // what topics match: name without a $share/group/ or $queue/ prefix
	id     int
	qos    byte // the highest QoS of its links
	// noLocal: the first link asked for No Local (linkNoLocal); the
	// session refuses a later link that does not agree.
	noLocal bool
	subs    []func(*connector.Message)
}

// add subscribes deliver to filter at qos and returns the filter's route;
// its subscription identifier is 1 for the first filter, then 2, …. The
// first link on a filter decides whether it is No Local.
func (r *routes) add(filter string, qos byte, noLocal bool, deliver func(*connector.Message)) (*route, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rt := r.byName[filter]
	if rt != nil && rt.noLocal != noLocal {
		// A broker may keep a filter's options from its first SUBSCRIBE
		// (mosquitto 2.0 ignores new ones), so the links must agree.
		return nil, fmt.Errorf("no_local=%v, but an earlier link subscribes to %q with no_local=%v: the links on one filter must agree", noLocal, filter, rt.noLocal)
	}
	if rt == nil {
		if r.byName == nil {
			r.byName = map[string]*route{}
		}
		rt = &route{name: filter, filter: sharedFilter(filter), id: len(r.byID) + 1, noLocal: noLocal}
		if !r.overlaps {
			r.overlaps = r.overlapsAny(rt.filter)
		}
		r.byName[filter] = rt
		r.byID = append(r.byID, rt)
		r.router.Add(rt.filter, rt)
	}
	rt.qos = max(rt.qos, qos)
	rt.subs = append(rt.subs, deliver)
	return rt, nil
}

// overlap reports whether two filters match a common topic.
func (r *routes) overlap() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.overlaps
}

// overlapsAny reports whether filter, not yet added, shares a topic with
// a filter of r. A filter without wildcards is a topic: the router finds
// the filters matching it. Otherwise each filter is compared; that
// happens only while nothing overlaps, once per new wildcard filter.
func (r *routes) overlapsAny(filter string) bool {
	if connector.ValidFilter(filter) && !connector.HasWildcard(filter) {
		return len(r.router.Match(filter, nil)) > 0
	}
	for _, rt := range r.byID {
		if connector.FiltersOverlap(filter, rt.filter) {
			return true
		}
	}
	return false
}

// all returns every route but except, in subscription order.
func (r *routes) all(except *route) []*route {
	r.mu.Lock()
	defer r.mu.Unlock()
	var rs []*route
	for _, rt := range r.byID {
		if rt != except {
			rs = append(rs, rt)
		}
	}
	return rs
}

// route delivers a message received on topic to the links whose filter
// matches it. subID is the message's subscription identifier, or 0 if it
// carries none. It is called from one goroutine at a time.
func (r *routes) route(topic string, payload []byte, subID int) {
	r.mu.Lock()
	r.deliver = r.deliver[:0]
	r.matched = r.router.Match(topic, r.matched[:0])
	highest := 0
	for _, rt := range r.matched {
		highest = max(highest, rt.id)
	}
	if subID == 0 || subID == highest { // else another copy of this message is routed
		for _, rt := range r.matched {
			r.deliver = append(r.deliver, rt.subs...)
		}
	}
	r.mu.Unlock()
	r.msg = connector.Message{Topic: topic, Payload: payload}
	for _, d := range r.deliver {
		d(&r.msg)
	}
	r.msg = connector.Message{}
}

// sharedFilter returns the topic filter of a shared subscription
// ("$share/group/station/+" → "station/+", "$queue/a" → "a"): messages
// arrive on the topics the filter matches, not on the prefix.
func sharedFilter(filter string) string {
	if rest, ok := strings.CutPrefix(filter, "$share/"); ok {
		if _, f, ok := strings.Cut(rest, "/"); ok {
			return f
		}
	}
	if f, ok := strings.CutPrefix(filter, "$queue/"); ok {
		return f
	}
	return filter
}
