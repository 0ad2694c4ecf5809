package mqtt

import (
	"strings"
	"sync"

	"github.com/aimdb-go/aimdb/connector"
)

// routes is a session's inbound routing table: the links subscribed to
// each broker filter, found for a message by one connector.TopicRouter
// match (or, in MQTT 5, by the message's subscription identifier), never
// by a scan of every link.
//
// Overlapping subscriptions ("station/+/t" and "station/#") make some
// brokers (mosquitto) send one copy of a message per matching
// subscription, others (mochi, HiveMQ) one copy carrying every matching
// subscription identifier. Each broker filter therefore has an
// identifier, and a copy that carries one is routed — to every link whose
// filter matches — only if its identifier is the highest among the
// matching filters: exactly one copy is routed either way (paho keeps
// the last identifier of a packet, and brokers that send one copy list
// them in ascending order, as the specification's examples do). When no
// filter holds a wildcard, the identifier alone names the one filter that
// can match, and the message goes straight to its links.
type routes struct {
	mu     sync.Mutex
	router connector.TopicRouter[*route]
	byName map[string]*route
	byID   []*route // identifier i at index i-1

	// Scratch of the delivering goroutine (one at a time per session),
	// reused for every message.
	matched []*route
	deliver []func(*connector.Message)
	msg     connector.Message
}

// route is one broker filter and the links subscribed to it.
type route struct {
	filter string // what topics match: the broker filter without a $share/group/ or $queue/ prefix
	id     int
	subs   []func(*connector.Message)
}

// add subscribes deliver to filter and returns the filter's
// subscription identifier (1 for the first filter, then 2, …).
func (r *routes) add(filter string, deliver func(*connector.Message)) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	rt := r.byName[filter]
	if rt == nil {
		if r.byName == nil {
			r.byName = map[string]*route{}
		}
		rt = &route{filter: sharedFilter(filter), id: len(r.byID) + 1}
		r.byName[filter] = rt
		r.byID = append(r.byID, rt)
		r.router.Add(rt.filter, rt)
	}
	rt.subs = append(rt.subs, deliver)
	return rt.id
}

// route delivers a message received on topic to the links whose filter
// matches it. subID is the message's subscription identifier, or 0 if it
// carries none. It is called from one goroutine at a time.
func (r *routes) route(topic string, payload []byte, subID int) {
	r.mu.Lock()
	r.deliver = r.deliver[:0]
	switch {
	case subID > 0 && !r.router.HasWildcards():
		if subID <= len(r.byID) && r.byID[subID-1].filter == topic {
			r.deliver = append(r.deliver, r.byID[subID-1].subs...)
		}
	default:
		r.matched = r.router.Match(topic, r.matched[:0])
		if subID > 0 {
			highest := 0
			for _, rt := range r.matched {
				highest = max(highest, rt.id)
			}
			if subID != highest {
				break // another copy of this message is routed
			}
		}
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
