package aimx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/aimdb-go/aimdb"
)

// StreamBuffer is the number of updates a Stream holds for its reader,
// unless ClientOptions.StreamBuffer says otherwise.
// When it is full, updates are dropped and counted in the next Update's
// Lost.
const StreamBuffer = 256

// ErrStreamClosed is returned by Stream.Next after Close.
var ErrStreamClosed = errors.New("aimx: stream closed")

// An Update is one value received by a Stream.
type Update struct {
	Topic       string          // the record's key
	Data        json.RawMessage // the value
	Seq         uint64          // the server's sequence number
	Lost        uint64          // values lost just before this one: gaps in Seq plus updates dropped because the reader was slow
	Snapshot    bool            // a late-join snapshot of a wildcard subscription
	SnapshotEnd bool            // the last snapshot of the burst
}

// A Stream receives the updates of one subscription. After a reconnect
// the client subscribes again; values produced while it was disconnected
// are not seen.
type Stream struct {
	c       *Client
	pattern string
	ch      chan Update
	done    chan struct{}

	mu        sync.Mutex // guards the fields below; deliver runs on the client's reader
	id        string
	lastSeq   uint64
	dropped   uint64 // dropped while the buffer was full, not reported yet
	totalLost uint64
	err       error
	ended     bool
}

// Subscribe opens a subscription to a record key or a pattern (`*` one
// segment, `#` any number). A refusal (unknown key, a record without
// remote access, a denied pattern) is returned here.
func (c *Client) Subscribe(ctx context.Context, pattern string) (*Stream, error) {
	n := c.opts.StreamBuffer
	if n <= 0 {
		n = StreamBuffer
	}
	s := &Stream{c: c, pattern: pattern, ch: make(chan Update, n), done: make(chan struct{})}
	conn, _, err := c.liveConn(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.subscribeOn(conn); err != nil {
		s.Close()
		return nil, err
	}
	// The server handles frames in order: a refusal of the sub arrives
	// before the answer to a ping sent after it.
	if _, err := c.Ping(ctx); err != nil && !errors.Is(err, ErrDisconnected) {
		s.Close()
		return nil, err
	}
	s.mu.Lock()
	err = s.err
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Stream) subscribeOn(conn FrameConn) error {
	c := s.c
	id := c.nextID.Add(1)
	sid := strconv.FormatUint(id, 10)
	c.mu.Lock()
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		c.mu.Unlock()
		return nil
	}
	if s.id != "" {
		delete(c.streams, s.id)
	}
	s.id, s.lastSeq = sid, 0
	s.mu.Unlock()
	c.streams[sid] = s
	c.mu.Unlock()
	b, err := (&Frame{T: TagSub, ID: id, Topic: s.pattern}).AppendJSON(nil)
	if err != nil {
		return err
	}
	if err := c.write(conn, b); err != nil {
		conn.Close() // the reader notices; the next connection re-subscribes
	}
	return nil
}

func (s *Stream) resubscribe() {
	conn, _, err := s.c.liveConn(context.Background())
	if err == nil {
		s.subscribeOn(conn)
	}
}

func (s *Stream) deliver(f *Frame) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	var gap uint64
	if f.Seq > s.lastSeq+1 {
		gap = f.Seq - s.lastSeq - 1
	}
	if f.Seq > s.lastSeq {
		s.lastSeq = f.Seq
	}
	u := Update{Topic: f.Topic, Data: f.Data, Seq: f.Seq, Lost: s.dropped + gap,
		Snapshot: f.T == TagSnap, SnapshotEnd: f.T == TagSnap && f.Last}
	if u.Topic == "" {
		u.Topic = s.pattern
	}
	select {
	case s.ch <- u:
		s.dropped = 0
		s.totalLost += gap
	default:
		s.dropped += gap + 1
		s.totalLost += gap + 1
	}
}

func (s *Stream) refused(code string) {
	s.end(&Error{Code: code, Method: "sub", Target: s.pattern})
}

func (s *Stream) end(err error) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	s.err = err
	id := s.id
	s.mu.Unlock()
	close(s.done)
	s.c.mu.Lock()
	if s.c.streams[id] == s {
		delete(s.c.streams, id)
	}
	s.c.mu.Unlock()
}

// Pattern returns the key or pattern subscribed to.
func (s *Stream) Pattern() string { return s.pattern }

// Lost returns the number of values the stream has lost so far.
func (s *Stream) Lost() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.totalLost
}

// Next returns the next update. Once the stream ended it returns the
// updates still buffered, then the reason: ErrStreamClosed after Close,
// an *Error when the server refused the subscription, ErrClientClosed.
func (s *Stream) Next(ctx context.Context) (Update, error) {
	select {
	case u := <-s.ch:
		return u, nil
	default:
	}
	select {
	case u := <-s.ch:
		return u, nil
	case <-s.done:
		select {
		case u := <-s.ch:
			return u, nil
		default:
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return Update{}, s.err
	case <-ctx.Done():
		return Update{}, ctx.Err()
	}
}

// Close ends the subscription on the server and the stream.
func (s *Stream) Close() error {
	s.mu.Lock()
	id, ended := s.id, s.ended
	s.mu.Unlock()
	if ended {
		return nil
	}
	s.end(ErrStreamClosed)
	s.c.mu.Lock()
	conn := s.c.conn
	s.c.mu.Unlock()
	if conn != nil && id != "" {
		b, _ := (&Frame{T: TagUnsub, Sub: id}).AppendJSON(nil)
		s.c.write(conn, b)
	}
	return nil
}

// Get reads the current value of a typed record: record.get, decoded as
// JSON into a T.
func Get[T any](ctx context.Context, c *Client, key aimdb.Key[T]) (T, error) {
	var v T
	raw, err := c.Get(ctx, key.Name())
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("aimx: record %q: decoding %s: %w", key.Name(), raw, err)
	}
	return v, nil
}

// Set writes a typed record: record.set with v encoded as JSON.
func Set[T any](ctx context.Context, c *Client, key aimdb.Key[T], v T) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("aimx: record %q: %w", key.Name(), err)
	}
	_, err = c.Set(ctx, key.Name(), raw)
	return err
}

// A Watcher receives the values of one typed record. It is safe for
// concurrent use.
type Watcher[T any] struct {
	s *Stream

	mu  sync.Mutex // guards the decoder, reused from value to value
	r   bytes.Reader
	dec *json.Decoder
	v   T
}

// Watch subscribes to a typed record.
func Watch[T any](ctx context.Context, c *Client, key aimdb.Key[T]) (*Watcher[T], error) {
	s, err := c.Subscribe(ctx, key.Name())
	if err != nil {
		return nil, err
	}
	return &Watcher[T]{s: s}, nil
}

// Next returns the next value with its update. A value that does not
// decode into a T is returned as an error with its update; the watcher
// continues.
func (w *Watcher[T]) Next(ctx context.Context) (T, Update, error) {
	u, err := w.s.Next(ctx)
	if err != nil {
		var zero T
		return zero, u, err
	}
	v, err := w.decode(u.Data)
	if err != nil {
		return v, u, fmt.Errorf("aimx: record %q: decoding %s: %w", u.Topic, u.Data, err)
	}
	return v, u, nil
}

// decode decodes data as json.Unmarshal does. A json.Decoder kept from
// value to value, decoding into a kept T, spares the allocations
// Unmarshal makes for each value.
func (w *Watcher[T]) decode(data []byte) (T, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var zero T
	w.v = zero
	w.r.Reset(data)
	if w.dec == nil {
		w.dec = json.NewDecoder(&w.r)
	}
	// Data is one JSON value (frames are checked when parsed), so the
	// decoder ends with nothing left but white space, which More skips.
	if err := w.dec.Decode(&w.v); err == nil && w.r.Len() == 0 && !w.dec.More() {
		return w.v, nil
	}
	// Not one JSON value, or not a T: start over with a new decoder, and
	// let Unmarshal say why.
	w.dec = nil
	var v T
	err := json.Unmarshal(data, &v)
	return v, err
}

// Lost returns the number of values lost so far.
func (w *Watcher[T]) Lost() uint64 { return w.s.Lost() }

// Close ends the watch.
func (w *Watcher[T]) Close() error { return w.s.Close() }
