package aimdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/aimdb-go/aimdb/connector"
)

// A Codec turns a record's values into link payloads and back. The bytes
// are what goes on the wire: no envelope is added. Package codec has a
// JSON codec.
//
// A codec may have a method Validate() error that reports mistakes in
// its own configuration, as the codecs built on a data contract do
// (package contract); Validate and Run report them with the record's
// other configuration errors.
type Codec[T any] interface {
	Encode(v T) ([]byte, error)
	Decode(payload []byte) (T, error)
}

// An AppendEncoder is a Codec that appends the encoding of a value to a
// buffer instead of returning a new one. LinkTo uses AppendEncode when
// the codec has it: each queued message's buffer is reused for a later
// value once the message is published, so an outbound link allocates no
// payload per value. The JSON, Bytes and String codecs of package codec
// have it.
type AppendEncoder[T any] interface {
	AppendEncode(dst []byte, v T) ([]byte, error)
}

// A TopicDecoder is a Codec that also wants the concrete topic of an
// inbound message, for example to take a device id from
// "station/7/temperature" when the link subscribes to
// "station/+/temperature". LinkFrom uses DecodeTopic instead of Decode
// when the codec has it.
type TopicDecoder[T any] interface {
	DecodeTopic(topic string, payload []byte) (T, error)
}

// A LinkOption configures one link.
type LinkOption func(*linkConfig)

type linkConfig struct {
	params  map[string]string
	topicFn any                       // func(T) string, checked against the record's type
	route   func(topic string) string // inbound: the key of the record a message goes to
	outbox  any                       // an Outbox (DurableOutbox)
	err     string
}

// LinkParam sets a connector parameter of the link, as the URL query
// does; it wins over the query. Connectors document their parameters
// and wrap them in typed options (mqtt.QoS, mqtt.Retain).
func LinkParam(name, value string) LinkOption {
	return func(c *linkConfig) {
		if c.params == nil {
			c.params = map[string]string{}
		}
		c.params[name] = value
	}
}

// TopicFrom gives an outbound link a dynamic topic: each value v is
// published to f(v) instead of the URL's topic. T must be the record's
// type; Run reports a mismatch.
func TopicFrom[T any](f func(v T) string) LinkOption {
	return func(c *linkConfig) {
		if f == nil {
			c.err = "TopicFrom given a nil function"
			return
		}
		c.topicFn = f
	}
}

// RouteTopic makes an inbound link feed several records (for records
// keyed by topic, a family's LinkFrom is simpler: see Family.LinkFrom): each message
// goes to the record whose key f returns for its concrete topic (the
// linked record when f returns ""). The record must be registered with
// the link's type; messages for unknown keys are logged and counted as
// decode errors. Use it with a wildcard topic to feed one record per
// device from one subscription.
func RouteTopic(f func(topic string) (key string)) LinkOption {
	return func(c *linkConfig) {
		if f == nil {
			c.err = "RouteTopic given a nil function"
			return
		}
		c.route = f
	}
}

// A link is one LinkTo or LinkFrom of a record, with its counters.
type link struct {
	rec      *recordBase
	raw      string // as given; may carry credentials, never shown
	display  string // the URL without userinfo
	scheme   string
	inbound  bool
	conn     *connector.Link // nil when the URL is malformed
	urlErr   string
	codecNil bool
	codecErr string // the codec's Validate error
	cfg      linkConfig
	typeErr  string // an option given for another type

	// Set by LinkTo: subscribe the record and queue the pump on rs.
	prepare func(rs *runState, m *linkManager)
	// Set by LinkFrom: decode and store one inbound message.
	deliver func(m *connector.Message)

	mgr atomic.Pointer[linkManager] // set while running, for state

	// through is the outbound pump's reader Position once the values
	// before it are queued or failed (see DB.Flush).
	through atomic.Uint64

	// Family links: tmpl is the URL's topic template; a view is the link
	// as one instance sees it (its own counters, its concrete topic), and
	// parent the family's link it views.
	tmpl   *keyTemplate
	parent *link
	topic  string

	stopMu  sync.RWMutex
	stopped bool // inbound: shutdown started; messages are ignored

	published    atomic.Uint64
	received     atomic.Uint64
	lost         atomic.Uint64
	decodeErrors atomic.Uint64
	encodeErrors atomic.Uint64
	publishErrs  atomic.Uint64
	dropped      atomic.Uint64

	// warnRL limits the link's per-message warnings (a payload that
	// fails to decode or encode, a failed publish) to one every 10 s.
	warnRL rateLimit
}

// warn logs a per-message warning of l at most once every 10 s, with
// the count of the ones held back since as "suppressed".
func (l *link) warn(log *slog.Logger, msg string, args ...any) {
	if ok, held := l.warnRL.allow(); ok {
		log.Warn(msg, append(args, "suppressed", held)...)
	}
}

func (b *recordBase) addLink(raw string, inbound bool, c any, opts []LinkOption) *link {
	l := &link{rec: b, raw: raw, display: connector.Redact(raw), inbound: inbound, codecNil: isNilCodec(c)}
	if !l.codecNil {
		l.codecErr = codecMistake(c)
	}
	for _, o := range opts {
		if o != nil {
			o(&l.cfg)
		}
	}
	switch {
	case l.cfg.outbox != nil && inbound:
		l.typeErr = "DurableOutbox applies to .LinkTo() only"
	case l.cfg.outbox != nil && !persistence:
		l.typeErr = "DurableOutbox: outboxes are not available on bare-metal targets"
	}
	cl, err := connector.ParseLink(raw)
	if err != nil {
		l.urlErr = err.Error()
	} else {
		l.scheme = cl.Scheme
		for k, v := range l.cfg.params {
			cl.Params.Set(k, v)
		}
		cl.Inbound = inbound
		cl.Key = b.key
		l.conn = cl
	}
	b.db.mu.Lock()
	defer b.db.mu.Unlock()
	verb := ".LinkTo()"
	if inbound {
		verb = ".LinkFrom()"
	}
	if !b.db.configurable(verb, b.key) {
		return l
	}
	if inbound {
		b.linksIn = append(b.linksIn, l)
	} else {
		b.linksOut = append(b.linksOut, l)
	}
	return l
}

// LinkTo publishes every value of the record through the connector named
// by the URL's scheme (see Options.Connectors), encoded by c. The URL
// names the topic, as in "mqtt://sensors/indoor"; its query and opts set
// connector parameters.
//
// The link is a consumer, like a tap: it subscribes before any source
// starts and drains what is buffered at shutdown, bounded by
// Options.ShutdownTimeout. While the connector is disconnected, encoded
// values wait in a bounded queue (Options.LinkQueueSize) that drops the
// oldest when full; drops are counted in the record's metadata.
func (r *Record[T]) LinkTo(url string, c Codec[T], opts ...LinkOption) {
	l := r.addLink(url, false, c, opts)
	topicFn, ok := l.cfg.topicFn.(func(T) string)
	if l.cfg.topicFn != nil && !ok {
		l.typeErr = fmt.Sprintf("TopicFrom takes %T, but the record holds %s", l.cfg.topicFn, reflect.TypeFor[T]())
	}
	if l.cfg.route != nil {
		l.typeErr = "RouteTopic applies to .LinkFrom() only"
	}
	l.prepare = func(rs *runState, m *linkManager) {
		sub := r.subscribeStage(rs, nil)
		l.loadOutbox(rs.stageCtx, m)
		if receipts {
			l.through.Store(sub.r.Position())
			rs.marks = append(rs.marks, func(dst []flushMark) []flushMark {
				return append(dst, flushMark{&l.through, r.buf.Version()})
			})
		}
		m.addPump()
		rs.queue(func() {
			rs.goConsumer(func() {
				defer m.pumpDone()
				outboundPump(rs.stageCtx, m, l, sub, c, topicFn)
			})
		})
	}
}

// outboundPump encodes every value of sub and queues it on m, until the
// record closes (its remaining values are queued first) or ctx ends.
func outboundPump[T any](ctx context.Context, m *linkManager, l *link, sub *Subscription[T], c Codec[T], topicFn func(T) string) {
	enc := newEncoder(c)
	ob := l.outbox()
	for {
		v, err := sub.Recv(ctx)
		if err != nil {
			if lag, ok := err.(*LagError); ok {
				l.dropped.Add(lag.Missed)
				l.rec.logger().Warn("aimdb: outbound link lagged, values not published", "link", l.display, "missed", lag.Missed)
				m.failed(lag.Missed)
				if receipts {
					l.through.Store(sub.r.Position())
				}
				continue
			}
			return
		}
		msg, err := enc.encode(v)
		if err != nil {
			l.encodeErrors.Add(1)
			l.warn(l.rec.logger(), "aimdb: value failed to encode; not published", "link", l.display, "err", err)
			m.failed(1)
		} else {
			msg.l, msg.topic = l, l.conn.Topic
			if topicFn != nil {
				msg.topic = topicFn(v)
			}
			if ob != nil {
				if msg.obid, err = ob.Add(ctx, msg.topic, msg.payload); err != nil {
					msg.obid = 0
					l.warn(l.rec.logger(), "aimdb: outbox: a message was not stored; it is queued in memory only", "link", l.display, "err", err)
				}
			}
			if !enc.push(ctx, m, msg) {
				return
			}
		}
		if receipts {
			l.through.Store(sub.r.Position())
		}
	}
}

// An encoder encodes the values of one outbound link: with the codec's
// AppendEncode into a buffer the manager hands back once a message is
// done, or with Encode. It belongs to one goroutine.
type encoder[T any] struct {
	c     Codec[T]
	ae    AppendEncoder[T]
	spare []byte
}

func newEncoder[T any](c Codec[T]) *encoder[T] {
	ae, _ := c.(AppendEncoder[T])
	return &encoder[T]{c: c, ae: ae}
}

// encode returns an outMsg holding the encoding of v.
func (e *encoder[T]) encode(v T) (outMsg, error) {
	if e.ae == nil {
		payload, err := e.c.Encode(v)
		return outMsg{payload: payload}, err
	}
	payload, err := e.ae.AppendEncode(e.spare[:0], v)
	if err != nil {
		e.spare = payload[:0]
		return outMsg{}, err
	}
	e.spare = nil // the message owns it now
	return outMsg{payload: payload, pooled: true}, nil
}

// push queues msg on m and keeps the spare buffer m returns.
func (e *encoder[T]) push(ctx context.Context, m *linkManager, msg outMsg) bool {
	spare, ok := m.push(ctx, msg)
	if spare != nil {
		e.spare = spare
	}
	return ok
}

// LinkFrom stores every message the connector receives on the URL's
// topic into the record, decoded by c. A payload that fails to decode is
// logged against the record, counted in its metadata and never stored.
// The topic may hold the connector's wildcards (mqtt://station/+/temp);
// c receives the concrete topic if it is a TopicDecoder, and RouteTopic
// spreads messages over several records.
//
// An inbound link is the record's writer: a record has one writer kind,
// a source, a transform or join, or inbound links.
func (r *Record[T]) LinkFrom(url string, c Codec[T], opts ...LinkOption) {
	l := r.addLink(url, true, c, opts)
	if l.cfg.topicFn != nil {
		l.typeErr = "TopicFrom applies to .LinkTo() only"
	}
	if l.codecNil {
		return
	}
	td, _ := c.(TopicDecoder[T])
	route := l.cfg.route
	l.deliver = func(m *connector.Message) {
		l.received.Add(1)
		l.lost.Add(m.Lost)
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
			l.decodeErrors.Add(1)
			l.warn(r.logger(), "aimdb: inbound payload failed to decode; not stored",
				"link", l.display, "topic", m.Topic, "err", err)
			return
		}
		target := r
		if route != nil {
			if key := route(m.Topic); key != "" && key != r.key {
				t, ok := r.db.lookupCore(key).(*Record[T])
				if !ok {
					l.decodeErrors.Add(1)
					l.warn(r.logger(), "aimdb: inbound message routed to an unknown record or one of another type; not stored",
						"link", l.display, "topic", m.Topic, "target", key)
					return
				}
				target = t
			}
		}
		if err := target.produce(v); err != nil && !errors.Is(err, ErrClosed) {
			l.warn(r.logger(), "aimdb: inbound message not stored", "link", l.display, "err", err)
		}
	}
}

// codecMistake returns the error of c's Validate method, if it has one.
func codecMistake(c any) string {
	if v, ok := c.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return err.Error()
		}
	}
	return ""
}

// isNilCodec reports whether c is nil or a nil pointer.
func isNilCodec(c any) bool {
	if c == nil {
		return true
	}
	v := reflect.ValueOf(c)
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Interface, reflect.Chan:
		return v.IsNil()
	}
	return false
}
