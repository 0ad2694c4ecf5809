package aimdb

import "context"

// An Outbox keeps the messages of an outbound link that are not yet
// delivered in a store, so that they survive a restart of the program
// (see DurableOutbox). Package persist provides one on its SQLite and
// PostgreSQL backends (persist.NewOutbox). Its methods are called from
// the link's goroutines, one call at a time per method.
type Outbox interface {
	// Load returns the messages an earlier run added and did not mark
	// done, oldest first. Run calls it once, before the link's pump
	// starts, and queues them ahead of every new value.
	Load(ctx context.Context) ([]OutboxMessage, error)
	// Add stores a message the link is about to queue and returns its
	// id, greater than 0. It must copy payload: the link reuses it.
	Add(ctx context.Context, topic string, payload []byte) (id uint64, err error)
	// Done removes a message that is delivered, or dropped for good: the
	// oldest of a full queue, or refused by the peer. A message still
	// undelivered when Run ends is not done; the next run's Load returns
	// it.
	Done(ctx context.Context, id uint64) error
}

// An OutboxMessage is one message an Outbox holds.
type OutboxMessage struct {
	ID      uint64
	Topic   string
	Payload []byte
}

// DurableOutbox keeps the link's queue in ob as well as in memory: every
// encoded value is added to ob before it is queued and removed once
// delivered, so the values produced while the peer is unreachable, and
// those in flight, survive a restart (graceful or a crash) and are
// published after it, in order, ahead of new values. The bound is the
// queue's, Options.LinkQueueSize: when a full queue drops its oldest
// message (counted in the link's dropped), ob drops it too. Each value
// costs two writes to the store (add, done), on the link's goroutines.
//
// It applies to a record's LinkTo. Delivery stays at least once: a
// message the peer took but whose acknowledgement the crash lost is
// published again.
func DurableOutbox(ob Outbox) LinkOption {
	return func(c *linkConfig) {
		if ob == nil {
			c.err = "DurableOutbox given a nil Outbox"
			return
		}
		c.outbox = ob
	}
}

// outbox returns the link's Outbox, or nil.
func (l *link) outbox() Outbox {
	if !persistence {
		return nil
	}
	ob, _ := l.cfg.outbox.(Outbox)
	return ob
}

// finish accounts for a message that is done for good: delivered, or
// dropped by the queue's policy or refused by the peer. A message given
// up at shutdown is not finished this way (see abandon): its outbox
// keeps it for the next run.
func (m *linkManager) finish(msg outMsg, delivered bool) {
	msg.ep.finish(delivered)
	if msg.obid != 0 {
		if err := msg.l.outbox().Done(context.Background(), msg.obid); err != nil {
			msg.l.warn(msg.l.rec.logger(), "aimdb: outbox: a delivered message was not removed; it will be published again after a restart", "link", msg.l.display, "err", err)
		}
	}
}

// abandon accounts for a message given up at shutdown.
func abandon(msg outMsg) { msg.ep.finish(false) }

// loadOutbox queues, ahead of new values, what l's outbox kept from the
// last run.
func (l *link) loadOutbox(ctx context.Context, m *linkManager) {
	ob := l.outbox()
	if ob == nil {
		return
	}
	msgs, err := ob.Load(ctx)
	if err != nil {
		l.rec.logger().Warn("aimdb: outbox: could not load the messages of the last run", "link", l.display, "err", err)
		return
	}
	for _, o := range msgs {
		if _, ok := m.push(ctx, outMsg{l: l, topic: o.Topic, payload: o.Payload, obid: o.ID}); !ok {
			return
		}
	}
	if len(msgs) > 0 {
		l.rec.logger().Info("aimdb: outbox: queued the undelivered messages of the last run", "link", l.display, "count", len(msgs))
	}
}
