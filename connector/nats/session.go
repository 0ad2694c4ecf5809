package nats

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aimdb-go/aimdb/connector"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A session is one NATS connection.
type session struct {
	d  *Dialer
	nc *natsgo.Conn
	js jetstream.JetStream

	done     chan struct{}
	lostOnce sync.Once

	deliverMu sync.Mutex // deliver runs for one message at a time

	mu       sync.Mutex
	subs     []*natsgo.Subscription
	consumes []jetstream.ConsumeContext
	slowSeen map[*natsgo.Subscription]int
}

var _ connector.Session = (*session)(nil)

func (s *session) lost() { s.lostOnce.Do(func() { close(s.done) }) }

// countSlow adds what sub dropped since last counted to the Dialer's
// SlowDropped.
func (s *session) countSlow(sub *natsgo.Subscription) {
	n, err := sub.Dropped()
	if err != nil {
		return
	}
	s.mu.Lock()
	if s.slowSeen == nil {
		s.slowSeen = map[*natsgo.Subscription]int{}
	}
	delta := n - s.slowSeen[sub]
	if delta > 0 {
		s.slowSeen[sub] = n
	}
	s.mu.Unlock()
	if delta > 0 {
		s.d.slowDropped.Add(uint64(delta))
	}
}

func (s *session) Done() <-chan struct{} { return s.done }

// notConnected wraps err so that the DB requeues the message and dials
// again, when the connection is gone.
func (s *session) notConnected(err error) error {
	if closed(s.done) || errors.Is(err, natsgo.ErrConnectionClosed) || errors.Is(err, natsgo.ErrConnectionReconnecting) ||
		errors.Is(err, natsgo.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) || !s.nc.IsConnected() {
		s.lost()
		return fmt.Errorf("%w: %v", connector.ErrNotConnected, err)
	}
	return err
}

// Publish publishes m: on core NATS it returns once the server has
// answered a ping sent after the message (so it holds the message); on
// JetStream once the stream acknowledged it.
func (s *session) Publish(ctx context.Context, m *connector.Message) error {
	if closed(s.done) {
		return connector.ErrNotConnected
	}
	p, err := parseParams(m.Link, s.d.opts.Group)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.d.opts.PublishTimeout)
	defer cancel()
	if p.jetstream {
		_, err := s.js.Publish(ctx, m.Topic, m.Payload)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, natsgo.ErrNoResponders):
			// No stream holds the subject, or JetStream is not up yet
			// after a restart: keep the message and dial again, with
			// backoff; the link's last error says why.
			s.lost()
			return fmt.Errorf("%w: no JetStream stream acknowledged subject %q: %v", connector.ErrNotConnected, m.Topic, err)
		}
		return s.notConnected(err)
	}
	if err := s.nc.Publish(m.Topic, m.Payload); err != nil {
		return s.notConnected(err)
	}
	if err := s.nc.FlushWithContext(ctx); err != nil {
		return s.notConnected(err)
	}
	return nil
}

// Subscribe subscribes l: a (queue) subscription on core NATS, a durable
// pull consumer on JetStream.
func (s *session) Subscribe(ctx context.Context, l *connector.Link, deliver func(m *connector.Message)) error {
	p, err := parseParams(l, s.d.opts.Group)
	if err != nil {
		return err
	}
	if p.jetstream {
		return s.consume(ctx, l, p, deliver)
	}
	handler := func(nm *natsgo.Msg) {
		s.deliverMu.Lock()
		defer s.deliverMu.Unlock()
		deliver(&connector.Message{Topic: nm.Subject, Payload: nm.Data})
	}
	var sub *natsgo.Subscription
	if p.queue != "" {
		sub, err = s.nc.QueueSubscribe(l.Topic, p.queue, handler)
	} else {
		sub, err = s.nc.Subscribe(l.Topic, handler)
	}
	if err != nil {
		return s.notConnected(err)
	}
	if err := sub.SetPendingLimits(1<<20, 256<<20); err != nil {
		return err
	}
	// The server holds the subscription once it answered a ping sent
	// after it: only then does the DB count the link subscribed.
	fctx, cancel := context.WithTimeout(ctx, s.d.opts.ConnectTimeout)
	defer cancel()
	if err := s.nc.FlushWithContext(fctx); err != nil {
		_ = sub.Unsubscribe()
		return s.notConnected(err)
	}
	s.mu.Lock()
	s.subs = append(s.subs, sub)
	s.mu.Unlock()
	return nil
}

func (s *session) consume(ctx context.Context, l *connector.Link, p linkParams, deliver func(m *connector.Message)) error {
	ctx, cancel := context.WithTimeout(ctx, s.d.opts.ConnectTimeout)
	defer cancel()
	stream := p.stream
	if stream == "" {
		var err error
		if stream, err = s.js.StreamNameBySubject(ctx, l.Topic); err != nil {
			if errors.Is(err, jetstream.ErrStreamNotFound) {
				return fmt.Errorf("no JetStream stream holds subject %q; create one (nats.Options.Streams) or name it with stream=", l.Topic)
			}
			return s.notConnected(err)
		}
	}
	owner := p.queue
	if owner == "" {
		owner = s.d.name
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       consumerName(owner, l.Topic),
		FilterSubject: l.Topic,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       s.d.opts.AckWait,
		MaxAckPending: s.d.opts.MaxAckPending,
		DeliverPolicy: p.deliver,
	}
	if p.queue == "" {
		// The consumer of one Dialer: gone an hour after it was last used.
		cfg.InactiveThreshold = 3600e9
	}
	// A group's consumer that exists (made by another hub of the group)
	// is shared as it is: updating it would drop the pull requests the
	// other hubs have waiting, and they would get nothing until those
	// expire. A Dialer's own consumer takes the configuration of this run.
	var cons jetstream.Consumer
	var err error
	if p.queue == "" {
		cons, err = s.js.CreateOrUpdateConsumer(ctx, stream, cfg)
	} else {
		cons, err = s.js.Consumer(ctx, stream, cfg.Durable)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			cons, err = s.js.CreateConsumer(ctx, stream, cfg)
		}
	}
	if errors.Is(err, jetstream.ErrConsumerExists) || (err != nil && isConfigConflict(err)) {
		// Another hub of the group created it meanwhile, or the last run
		// made it with, say, another start policy, which an update cannot
		// change: share it as it is.
		cons, err = s.js.Consumer(ctx, stream, cfg.Durable)
	}
	if err != nil {
		return s.notConnected(fmt.Errorf("consumer %s on stream %s: %w", cfg.Durable, stream, err))
	}
	d := s.d
	win := d.window(stream, cfg.Durable)
	cc, err := cons.Consume(func(jm jetstream.Msg) {
		var seq uint64
		if md, err := jm.Metadata(); err == nil {
			seq = md.Sequence.Stream
			if md.NumDelivered > 1 {
				d.redelivered.Add(1)
			}
			// A server killed before it saved its consumer state delivers
			// again, possibly with a delivery count of 1, what was stored.
			if win != nil && win.has(seq) {
				d.duplicates.Add(1)
				_ = jm.Ack()
				return
			}
		}
		m := connector.Message{Topic: jm.Subject(), Payload: jm.Data()}
		s.deliverMu.Lock()
		deliver(&m)
		s.deliverMu.Unlock()
		if m.Refused {
			// Not taken: the server delivers it again after the ack wait.
			d.refused.Add(1)
			return
		}
		if win != nil && seq != 0 {
			win.add(seq)
		}
		if jm.Ack() == nil {
			d.acked.Add(1)
		}
	}, jetstream.PullMaxMessages(1024), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, natsgo.ErrConnectionClosed) {
			s.lost()
		}
	}))
	if err != nil {
		return s.notConnected(err)
	}
	s.mu.Lock()
	s.consumes = append(s.consumes, cc)
	s.mu.Unlock()
	return nil
}

func isConfigConflict(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeConsumerAlreadyExists
}

// Close stops the consumers and subscriptions, flushes what was
// published and closes the connection.
func (s *session) Close() error {
	s.mu.Lock()
	consumes, subs := s.consumes, s.subs
	s.consumes, s.subs = nil, nil
	s.mu.Unlock()
	for _, cc := range consumes {
		cc.Stop()
	}
	for _, sub := range subs {
		_ = sub.Unsubscribe()
	}
	if s.nc.IsConnected() {
		_ = s.nc.FlushTimeout(s.d.opts.PublishTimeout)
	}
	s.nc.Close()
	for _, cc := range consumes {
		<-cc.Closed()
	}
	s.lost()
	return nil
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
