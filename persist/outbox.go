package persist

import (
	"context"
	"errors"
	"fmt"

	"github.com/aimdb-go/aimdb"
)

// An OutboxBackend is a Backend that also keeps outboxes: the queues of
// outbound links that must survive a restart (see aimdb.DurableOutbox and
// NewOutbox). Memory, SQLite and PostgreSQL are. Outboxes are named; the
// messages of one name are independent of every other name's and of the
// history rows.
type OutboxBackend interface {
	Backend
	// OutboxAdd stores a message in the named outbox and returns its id:
	// greater than 0, and greater than every id the outbox gave before.
	// It copies payload.
	OutboxAdd(ctx context.Context, name, topic string, payload []byte) (id int64, err error)
	// OutboxDone removes a message. Removing one that is not there (done
	// twice) is not an error.
	OutboxDone(ctx context.Context, name string, id int64) error
	// OutboxLoad returns the named outbox's messages, oldest first.
	OutboxLoad(ctx context.Context, name string) ([]aimdb.OutboxMessage, error)
}

// NewOutbox returns the outbox name of b, for aimdb.DurableOutbox:
//
//	ob, err := persist.NewOutbox(backend, "gateway.uplink")
//	rec.LinkTo("mqtt://site/7/readings", codec.JSON[Reading]{}, aimdb.DurableOutbox(ob))
//
// Give every link its own name, and keep it across restarts: it is how
// the next run finds the messages.
func NewOutbox(b Backend, name string) (aimdb.Outbox, error) {
	ob, ok := b.(OutboxBackend)
	switch {
	case b == nil:
		return nil, fmt.Errorf("%w outbox %q: nil backend", ErrInvalid, name)
	case !ok:
		return nil, fmt.Errorf("%w outbox %q: backend %s keeps no outboxes", ErrInvalid, name, b.Name())
	case name == "":
		return nil, fmt.Errorf("%w outbox: empty name", ErrInvalid)
	}
	return &outbox{b: ob, name: name}, nil
}

type outbox struct {
	b    OutboxBackend
	name string
}

func (o *outbox) Load(ctx context.Context) ([]aimdb.OutboxMessage, error) {
	return o.b.OutboxLoad(ctx, o.name)
}

func (o *outbox) Add(ctx context.Context, topic string, payload []byte) (uint64, error) {
	id, err := o.b.OutboxAdd(ctx, o.name, topic, payload)
	if err != nil {
		return 0, err
	}
	if id <= 0 {
		return 0, errors.New("persist: outbox " + o.name + ": the backend gave id 0")
	}
	return uint64(id), nil
}

func (o *outbox) Done(ctx context.Context, id uint64) error {
	return o.b.OutboxDone(ctx, o.name, int64(id))
}
