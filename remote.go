package aimdb

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/aimdb-go/aimdb/internal/buffer"
)

// Errors of remote access.
var (
	// ErrNoRemoteAccess reports a record that was not opened with
	// RemoteAccess.
	ErrNoRemoteAccess = errors.New("aimdb: record has no remote access")
	// ErrHasWriter reports a remote write to a record that a source, a
	// transform or an inbound link writes: the record has one writer, and
	// it is not remote.
	ErrHasWriter = errors.New("aimdb: record is written by its source, transform or inbound link")
	// ErrNoValue reports a record that holds no value yet.
	ErrNoValue = errors.New("aimdb: record has no value")
)

// A DecodeError reports data that a record's codec could not decode, such
// as the value given to RemoteRecord.Set.
type DecodeError struct {
	Key string // the record's key
	Err error  // the codec's error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("aimdb: record %q: the value does not decode: %v", e.Key, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// RemoteAccess opts the record into remote access. Servers that expose a
// DB (AimX, WebSocket) list every record, but read, subscribe to and,
// where their write policy allows, write only the values of records opened
// with RemoteAccess. c converts values to and from the JSON the remote
// protocols carry: package codec's JSON[T] is the usual choice, and a
// custom codec must produce a single JSON value.
func (r *Record[T]) RemoteAccess(c Codec[T]) {
	r.db.mu.Lock()
	defer r.db.mu.Unlock()
	if !r.db.configurable(".RemoteAccess()", r.key) {
		return
	}
	if isNilCodec(c) {
		r.db.mistakes = append(r.db.mistakes, &ConfigError{Key: r.key, Message: ".RemoteAccess() given a nil codec"})
		return
	}
	if m := codecMistake(c); m != "" {
		r.db.mistakes = append(r.db.mistakes, &ConfigError{Key: r.key, Message: ".RemoteAccess(): codec: " + m})
	}
	r.codec = c
	r.appendEnc, _ = c.(AppendEncoder[T])
	r.remote = r
}

// remoteOps is what a RemoteRecord needs from a *Record[T].
type remoteOps interface {
	appendLatestJSON(dst []byte) ([]byte, error)
	subscribeJSON(fromLatest bool) (remoteReader, error)
	takeJSON() (remoteReader, error)
	setJSON(data []byte) error
}

type remoteReader interface {
	recv(ctx context.Context, wait bool) ([]byte, uint64, error)
	notify(f func())
	close()
}

// A RemoteRecord is a record opened with RemoteAccess, seen through its
// codec: values go in and come out as JSON. Servers use it; it is safe
// for concurrent use.
type RemoteRecord struct {
	b   *recordBase
	c   recordCore
	ops remoteOps
}

// Remote returns the remote view of the record registered under key. It
// fails with ErrUnknownKey, or ErrNoRemoteAccess if the record was not
// opened with RemoteAccess.
func (db *DB) Remote(key string) (*RemoteRecord, error) {
	c := db.lookupCore(key)
	if c == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, key)
	}
	b := c.base()
	db.mu.Lock()
	defer db.mu.Unlock()
	if b.remote == nil {
		return nil, fmt.Errorf("record %q: %w", key, ErrNoRemoteAccess)
	}
	if b.rview == nil || b.rview.ops != b.remote {
		b.rview = &RemoteRecord{b: b, c: c, ops: b.remote}
	}
	return b.rview, nil
}

// Key returns the record's key.
func (r *RemoteRecord) Key() string { return r.b.key }

// Metadata returns the record's metadata, as DB.Records does.
func (r *RemoteRecord) Metadata() RecordMetadata {
	r.b.db.mu.Lock()
	defer r.b.db.mu.Unlock()
	return metadata(r.c)
}

// HasWriter reports whether a source, a transform or join, or an inbound
// link writes the record; Set refuses such records.
func (r *RemoteRecord) HasWriter() bool {
	r.b.db.mu.Lock()
	defer r.b.db.mu.Unlock()
	return len(r.b.sources) > 0 || len(r.b.transforms) > 0 || len(r.b.linksIn) > 0
}

// Latest returns the JSON of the record's current value without
// consuming it: the value of a Latest record, the pending value of a
// Mailbox, the newest retained value of a Ring. It fails with ErrNoValue
// when there is none.
func (r *RemoteRecord) Latest() ([]byte, error) { return r.ops.appendLatestJSON(nil) }

// AppendLatest is Latest appending the JSON to dst: with a codec that
// is an AppendEncoder (codec.JSON is) it encodes into dst and allocates
// no buffer of its own. On an error dst is returned unchanged.
func (r *RemoteRecord) AppendLatest(dst []byte) ([]byte, error) { return r.ops.appendLatestJSON(dst) }

// Set decodes data with the record's codec and produces the value, as
// the record's own writer would. It fails with ErrHasWriter when a source
// or transform writes the record, with a *DecodeError holding the codec's
// error when data does not decode, and with ErrClosed after shutdown. Write policies are the
// server's business; Set does not check them.
func (r *RemoteRecord) Set(data []byte) error {
	if r.HasWriter() {
		return fmt.Errorf("record %q: %w", r.b.key, ErrHasWriter)
	}
	return r.ops.setJSON(data)
}

// Subscribe returns a new subscription that receives the record's values
// as JSON, starting where a Subscription of the record's buffer kind
// starts. The caller must Close it.
func (r *RemoteRecord) Subscribe() (*RemoteSubscription, error) {
	rr, err := r.ops.subscribeJSON(false)
	if err != nil {
		return nil, err
	}
	return &RemoteSubscription{r: rr}, nil
}

// SubscribeTaking is Subscribe for a reader that takes what it receives:
// on a Mailbox it consumes the pending command, which the record's own
// consumer then does not get (AimX record.drain). On a Ring or Latest
// record it is Subscribe.
func (r *RemoteRecord) SubscribeTaking() (*RemoteSubscription, error) {
	rr, err := r.ops.takeJSON()
	if err != nil {
		return nil, err
	}
	return &RemoteSubscription{r: rr}, nil
}

// SubscribeLatest is Subscribe for a snapshot followed by live values:
// the subscription's first value is the record's current one, when it
// has one (a Latest record's value, as Subscribe; a Mailbox's pending
// value, observed; a Ring's newest value), and then every later
// value. Nothing is seen twice and nothing produced in between is missed.
func (r *RemoteRecord) SubscribeLatest() (*RemoteSubscription, error) {
	rr, err := r.ops.subscribeJSON(true)
	if err != nil {
		return nil, err
	}
	return &RemoteSubscription{r: rr}, nil
}

// A RemoteSubscription receives a record's values as JSON. Like a
// Subscription, its receive methods must not be called concurrently;
// Close may be called from any goroutine.
//
// A value that several remote subscriptions of a record receive is
// encoded once (twice, now and then, when two reach it at the same
// instant): the data they return is shared, and must not be modified.
type RemoteSubscription struct{ r remoteReader }

// Recv returns the JSON of the next value and how many values the
// subscription missed just before it (ring lag; zero for the other
// kinds). Its errors are those of Subscription.Recv, except that lag is
// folded into the count, plus the codec's error for a value it cannot
// encode (the value is skipped and counted as missed in the next Recv).
func (s *RemoteSubscription) Recv(ctx context.Context) (data []byte, missed uint64, err error) {
	return s.r.recv(ctx, true)
}

// TryRecv is Recv without blocking: it fails with ErrEmpty when no value
// is pending.
func (s *RemoteSubscription) TryRecv() (data []byte, missed uint64, err error) {
	return s.r.recv(context.Background(), false)
}

// Notify makes f the subscription's wake-up, for a server that serves many
// subscriptions from one goroutine: once TryRecv has returned ErrEmpty,
// the next value (or the record's close) calls f once, from the goroutine
// that produced it. f must return quickly and must not call the
// subscription. Call Notify once, before the first TryRecv; Recv must not
// be used after it.
func (s *RemoteSubscription) Notify(f func()) { s.r.notify(f) }

// Close ends the subscription.
func (s *RemoteSubscription) Close() { s.r.close() }

func (r *Record[T]) appendLatestJSON(dst []byte) ([]byte, error) {
	if r.buf == nil {
		return dst, fmt.Errorf("%w: record %q: %s", ErrInvalidConfig, r.key, r.cfg.problem())
	}
	v, ok := r.buf.Peek()
	if ring, isRing := r.buf.(interface{ Newest() (T, bool) }); isRing && !ok {
		v, ok = ring.Newest()
	}
	if !ok {
		return dst, fmt.Errorf("record %q: %w", r.key, ErrNoValue)
	}
	if r.appendEnc != nil {
		b, err := r.appendEnc.AppendEncode(dst, v)
		if err != nil {
			return dst, fmt.Errorf("record %q: encode: %w", r.key, err)
		}
		return b, nil
	}
	b, err := r.codec.Encode(v)
	if err != nil {
		return dst, fmt.Errorf("record %q: encode: %w", r.key, err)
	}
	if dst == nil {
		return b, nil
	}
	return append(dst, b...), nil
}

func (r *Record[T]) setJSON(data []byte) error {
	v, err := r.codec.Decode(data)
	if err != nil {
		return &DecodeError{Key: r.key, Err: err}
	}
	return r.produce(v)
}

func (r *Record[T]) subscribeJSON(fromLatest bool) (remoteReader, error) {
	sub, err := r.Subscribe()
	if err != nil {
		return nil, err
	}
	switch b := r.buf.(type) {
	case interface{ SubscribeNewest() buffer.Reader[T] }:
		if fromLatest {
			sub.r.Close()
			sub.r = b.SubscribeNewest()
		}
	case interface{ Observe(bool) buffer.Reader[T] }:
		// A remote reader of a Mailbox observes: the command stays for
		// the record's own consumer (taking is record.drain's business).
		sub.r.Close()
		sub.r = b.Observe(fromLatest)
	}
	r.enc.join()
	return &jsonReader[T]{sub: sub, codec: r.codec, shares: true}, nil
}

// takeJSON returns a subscription that takes values: for a Mailbox, the
// pending command, which its consumer then does not get.
func (r *Record[T]) takeJSON() (remoteReader, error) {
	sub, err := r.Subscribe()
	if err != nil {
		return nil, err
	}
	return &jsonReader[T]{sub: sub, codec: r.codec}, nil
}

type jsonReader[T any] struct {
	sub    *Subscription[T]
	codec  Codec[T]
	missed uint64 // lag and unencodable values not reported yet
	armed  bool   // Notify was called: TryRecv arms the notification
	shares bool   // joined the record's shared encodings
	closed atomic.Bool
}

func (j *jsonReader[T]) notify(f func()) {
	j.sub.r.SetNotify(f)
	j.armed = true
}

func (j *jsonReader[T]) recv(ctx context.Context, wait bool) ([]byte, uint64, error) {
	for {
		var v T
		var err error
		switch {
		case wait:
			v, err = j.sub.Recv(ctx)
		case j.armed:
			v, err = j.sub.tryRecvArm()
		default:
			v, err = j.sub.TryRecv()
		}
		var lag *LagError
		if errors.As(err, &lag) {
			j.missed += lag.Missed
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		var c *encCache
		var pos uint64
		if j.shares {
			if c = j.sub.rec.enc.active(); c != nil {
				pos = j.sub.r.Position()
			}
		}
		b, ok := []byte(nil), false
		if pos > 0 {
			b, ok = c.get(pos)
		}
		if !ok {
			b, err = j.codec.Encode(v)
			if err != nil {
				j.missed++
				return nil, 0, fmt.Errorf("record %q: encode: %w", j.sub.rec.key, err)
			}
			if pos > 0 {
				b = b[:len(b):len(b)] // shared: an append copies
				c.put(pos, b)
			}
		}
		missed := j.missed
		j.missed = 0
		return b, missed, nil
	}
}

func (j *jsonReader[T]) close() {
	if !j.closed.CompareAndSwap(false, true) {
		return
	}
	j.sub.Close()
	if j.shares {
		j.sub.rec.enc.leave()
	}
}
