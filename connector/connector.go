// Package connector defines the interfaces that transport connectors
// implement. Most programs need only package aimdb and a concrete
// connector package such as connector/mqtt: they hand a Dialer per URL
// scheme to a DB (aimdb.Options.Connectors) and link records with
// Record.LinkTo and Record.LinkFrom.
//
// The DB, not the connector, owns the link runtime: it dials with
// exponential backoff and jitter, subscribes every inbound link again
// after each (re)connect, keeps a bounded drop-oldest queue of outbound
// messages while disconnected, and reports connection state and counters
// in record metadata. A connector therefore only dials, publishes,
// subscribes, and reports through Session.Done when its transport is
// lost.
//
// This package is standard library only, like the aimdb core.
package connector

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrNotConnected is returned by a Session whose transport was lost. The
// DB then requeues the message and dials again, with backoff.
var ErrNotConnected = errors.New("connector: not connected")

// A Dialer opens sessions to the endpoint it was built for (a broker, a
// gateway, a peer). A DB calls Dial from one goroutine per scheme; a new
// Dial follows only after the previous session ended.
type Dialer interface {
	Dial(ctx context.Context) (Session, error)
}

// A LinkValidator is a Dialer that checks links before the DB runs:
// Validate and Run report its errors, naming the record and the URL. It is
// optional; the DB checks for it with a type assertion.
type LinkValidator interface {
	ValidateLink(l *Link) error
}

// A TopicGrammar is a Dialer whose topic filters do not follow MQTT's
// grammar ('/' between levels, '+' for one level): it names its level
// separator and its one-level wildcard. Family links (the URL templates of
// aimdb.Family.LinkFrom and LinkTo, as in "ws://station.{id}.temperature")
// split topics and build filters with them. It is optional; without it a
// family link assumes '/' and '+'.
type TopicGrammar interface {
	TopicGrammar() (sep byte, oneLevel string)
}

// A Session is one live connection. Its methods are safe for concurrent
// use.
type Session interface {
	// Publish sends one message. It returns when the transport has taken
	// it (at the delivery guarantee the link asks for), or with an error.
	// An error wrapping ErrNotConnected, or one returned after Done is
	// closed, makes the DB requeue the message and reconnect; any other
	// error is counted against the link and the message is dropped.
	Publish(ctx context.Context, m *Message) error
	// Subscribe starts delivering messages whose topic matches l.Topic
	// (which may hold the transport's wildcards) to deliver, until the
	// session ends. deliver is called from one goroutine at a time per
	// session, in arrival order; m and m.Payload are valid only during
	// the call.
	Subscribe(ctx context.Context, l *Link, deliver func(m *Message)) error
	// Done is closed when the session's transport is lost or Close was
	// called.
	Done() <-chan struct{}
	// Close ends the session, flushing what the transport has accepted.
	Close() error
}

// A Pipeliner is a Session that keeps several publishes in flight: the
// DB hands it the next message without waiting for the outcome of the
// previous one (an MQTT PUBACK, say). It is optional; the DB checks for
// it with a type assertion, and otherwise calls Publish for one message
// at a time. The DB calls PublishAsync from one goroutine, and never has
// more than PublishWindow messages awaiting their outcome.
type Pipeliner interface {
	// PublishWindow returns how many messages may await their outcome at
	// once; it is at least 1 and fixed for the session.
	PublishWindow() int
	// PublishAsync starts publishing m. Messages go on the wire in the
	// order of the calls. If pending is false, m's outcome is err,
	// exactly as Publish would return it. If pending is true, err is nil
	// and done(m, err) is called exactly once with the outcome, from any
	// goroutine, possibly before PublishAsync returns and at the latest
	// before Close returns; done must not block. m, m.Topic and m.Payload
	// must stay unchanged until then.
	PublishAsync(ctx context.Context, m *Message, done func(m *Message, err error)) (pending bool, err error)
}

// A Message is one payload on one concrete topic.
type Message struct {
	Link    *Link  // the link it is published for; nil on inbound messages
	Topic   string // the concrete topic
	Payload []byte // the encoded value; no envelope is added
	// Lost is set on an inbound message by a connector whose peer
	// numbers what it sends (an AimX subscription's seq): the values the
	// peer sent before this one that never arrived. The DB adds it to the
	// link's lost counter.
	Lost uint64
	// Refused is set on an inbound message by the DB when it did not take
	// the message at all because the link has stopped (the DB is shutting
	// down). A connector with acknowledgements leaves such a message
	// unacknowledged, or rejects it, so that the peer delivers it again,
	// to this DB later or to another consumer of its group.
	Refused bool
}

// A Link is one record's link as a connector sees it. The DB builds it
// once, before running, from the link URL and the link options.
type Link struct {
	// URL is the link URL as given (link URLs carry no credentials).
	URL string
	// Scheme is the URL's scheme, lower-cased: it picks the connector.
	Scheme string
	// Topic is everything between "://" and "?", verbatim (no
	// percent-decoding), with one leading "/" trimmed:
	// "mqtt://sensors/temp" names the topic "sensors/temp", and
	// "mqtt://station/#" the filter "station/#".
	Topic string
	// Params holds the URL's query merged with the link's Go options
	// (which win). Connectors document the parameters they read.
	Params url.Values
	// Inbound is true for LinkFrom links, false for LinkTo links.
	Inbound bool
	// Key is the key of the linked record, for logs.
	Key string
}

// ParseLink parses a link URL such as "mqtt://sensors/temp?qos=2" into a
// Link. Link URLs are not general URLs: the topic is taken verbatim, so
// MQTT wildcards ("station/+/temp", "station/#") need no escaping. It
// rejects a missing or malformed scheme, an empty topic, control
// characters or invalid UTF-8 in the topic, a malformed query, and
// userinfo (credentials belong to the connector's broker URL). Errors
// never repeat the URL.
func ParseLink(raw string) (*Link, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || scheme == "" {
		return nil, errors.New("link URL has no scheme (want scheme://topic)")
	}
	for i, c := range scheme {
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (i == 0 || !('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return nil, errors.New("link URL has a malformed scheme")
		}
	}
	topic, query, _ := strings.Cut(rest, "?")
	if first, _, _ := strings.Cut(topic, "/"); strings.Contains(first, "@") {
		return nil, errors.New("link URL carries userinfo; credentials belong to the connector's broker URL")
	}
	topic = strings.TrimPrefix(topic, "/")
	if topic == "" {
		return nil, errors.New("link URL has no topic")
	}
	if !utf8.ValidString(topic) || strings.ContainsFunc(topic, unicode.IsControl) {
		return nil, errors.New("link topic holds control characters or invalid UTF-8")
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, errors.New("malformed link URL query")
	}
	return &Link{URL: raw, Scheme: strings.ToLower(scheme), Topic: topic, Params: q}, nil
}

// Redact returns raw with any userinfo (user:password@) removed, for logs
// and metadata. It works on text, so it also redacts URLs that do not
// parse.
func Redact(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	auth, path, hasPath := strings.Cut(rest, "/")
	if i := strings.LastIndex(auth, "@"); i >= 0 {
		auth = auth[i+1:]
	}
	if hasPath {
		return scheme + "://" + auth + "/" + path
	}
	return scheme + "://" + auth
}

// MatchTopic reports whether topic matches the MQTT-style filter: '/'
// separates levels, '+' matches exactly one level and a final '#'
// matches any number of levels, including none. Filters without
// wildcards match only the equal topic. Topics starting with '$' are not
// matched by a filter starting with a wildcard.
func MatchTopic(filter, topic string) bool {
	if filter == topic {
		return true
	}
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	for {
		f, frest, fmore := strings.Cut(filter, "/")
		if f == "#" && !fmore {
			return true
		}
		t, trest, tmore := strings.Cut(topic, "/")
		if f != "+" && f != t {
			return false
		}
		switch {
		case !fmore && !tmore:
			return true
		case !fmore:
			return false
		case !tmore:
			// "a/#" matches "a": the rest of the filter must be "#".
			return frest == "#"
		}
		filter, topic = frest, trest
	}
}

// ValidFilter reports whether filter is a valid MQTT-style topic filter:
// not empty, '+' and '#' occupy whole levels, '#' only last.
func ValidFilter(filter string) bool {
	if filter == "" {
		return false
	}
	for lvl := range strings.SplitSeq(filter, "/") {
		if strings.ContainsAny(lvl, "+#") && lvl != "+" && lvl != "#" {
			return false
		}
	}
	i := strings.Index(filter, "#")
	return i < 0 || i == len(filter)-1
}

// HasWildcard reports whether topic holds '+' or '#'.
func HasWildcard(topic string) bool { return strings.ContainsAny(topic, "+#") }

// CheckTopic checks that a link's topic suits its direction: an inbound
// topic must be a valid filter, an outbound topic must hold no wildcard.
// what names the topic in errors, as in "MQTT topic".
func CheckTopic(l *Link, what string) error {
	if l.Inbound && !ValidFilter(l.Topic) {
		return fmt.Errorf("invalid %s filter %q", what, l.Topic)
	}
	if !l.Inbound && HasWildcard(l.Topic) {
		return fmt.Errorf("outbound %s %q holds a wildcard", what, l.Topic)
	}
	return nil
}
