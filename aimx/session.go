package aimx

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aimdb-go/aimdb"
)

// session is one served connection. Its reader goroutine handles frames
// in order, requests to completion; its writer goroutine writes what the
// session queues (outQueue), in batches. Each subscription has one
// goroutine that feeds the queue with its records' events.
type session struct {
	srv  *Server
	conn FrameConn
	d    Dialect

	out *outQueue // replies, never dropped; events, dropped when it is full (seq still advances)

	authed bool      // the token was presented (or none is required)
	slot   *connSlot // the connection's place under the server's caps

	mu      sync.Mutex
	subs    map[string]*subscription
	cursors map[string]*aimdb.RemoteSubscription // record.drain cursors
	wg      sync.WaitGroup
	closing bool   // run is waiting for wg: no more goroutines
	growing int    // subscriptions that grow with new records
	unwatch func() // cancels the DB.WatchRecords watcher, while growing > 0

	subRecords int // guarded by mu: records the subscriptions serve, against MaxSubscribedRecords

	slow atomic.Bool // counted in ServerStats.SlowClosed
}

func newSession(s *Server, c FrameConn, d Dialect) *session {
	return &session{
		srv: s, conn: c, d: d,
		out:     newOutQueue(s.opts.MaxQueuedBytes, s.opts.EventQueue),
		authed:  s.opts.Token == "" || d.Authenticated,
		subs:    map[string]*subscription{},
		cursors: map[string]*aimdb.RemoteSubscription{},
	}
}

func (ss *session) run(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	stop := context.AfterFunc(parent, func() { ss.conn.Close() })
	defer stop()
	writerDone := make(chan error, 1)
	go func() { writerDone <- ss.writer() }()

	err := ss.reader(ctx)
	ss.mu.Lock()
	ss.closing = true
	if ss.unwatch != nil {
		ss.unwatch()
		ss.unwatch = nil
	}
	for _, sub := range ss.subs {
		sub.cancel()
	}
	ss.mu.Unlock()
	cancel()
	ss.wg.Wait()
	for _, c := range ss.cursors {
		c.Close()
	}
	var werr error
	if parent.Err() == nil && !errors.Is(err, errSlowClient) {
		// The client may have half-closed after its requests (as nc -N
		// does) and wait for the answers: let the writer write what is
		// queued, for at most the write timeout.
		ss.out.close()
		t := time.AfterFunc(ss.srv.opts.WriteTimeout, func() { ss.conn.Close() })
		werr = <-writerDone
		t.Stop()
	} else {
		ss.out.fail(errQueueClosed)
		ss.conn.Close()
		werr = <-writerDone
	}
	ss.conn.Close()
	if errors.Is(err, errPeerGone) && !isTimeout(werr) {
		werr = nil // a write that failed because the peer hung up
	}
	if errors.Is(err, errPeerGone) || parent.Err() != nil {
		err = nil
	}
	if err == nil && werr != nil && !errors.Is(werr, context.Canceled) {
		err = werr
	}
	return err
}

var errPeerGone = errors.New("aimx: peer closed the connection")

func (ss *session) reader(ctx context.Context) error {
	for {
		b, err := ss.conn.ReadFrame()
		if err != nil {
			if errors.Is(err, ErrFrameTooLarge) {
				ss.srv.stats.oversize.Add(1)
				ss.srv.warn("closing connection: frame too large", "remote", ss.slot.remote, "err", err)
				return err
			}
			if why := ss.srv.whyClosed(ss.slot); why != nil {
				return why // HelloTimeout, or room for a new connection
			}
			return errPeerGone
		}
		f, err := ParseFrame(b)
		if err != nil {
			ss.srv.stats.malformed.Add(1)
			ss.srv.log.Debug("skipping malformed frame", "err", err)
			continue
		}
		if err := ss.handle(ctx, &f); err != nil {
			return err
		}
	}
}

// A frameBatchWriter is a FrameConn that writes several frames at once.
type frameBatchWriter interface {
	writeFrames(frames [][]byte) error
}

// A deadlineConn is a FrameConn whose writes can be given a deadline.
type deadlineConn interface {
	SetWriteDeadline(t time.Time) error
}

// writer writes the queued frames, a batch at a time, until the queue
// is closed and empty or a write fails. Each batch has the write
// timeout, when the connection takes a deadline.
func (ss *session) writer() error {
	bw, _ := ss.conn.(frameBatchWriter)
	dc, _ := ss.conn.(deadlineConn)
	var frames [][]byte
	for {
		b, ok := ss.out.take()
		if !ok {
			return nil
		}
		ss.srv.stats.events.Add(uint64(b.subFrames))
		frames = frames[:0]
		start := 0
		for _, end := range b.ends {
			frames = append(frames, b.buf[start:end])
			start = end
		}
		if dc != nil {
			_ = dc.SetWriteDeadline(time.Now().Add(ss.srv.opts.WriteTimeout))
		}
		var err error
		if bw != nil {
			err = bw.writeFrames(frames)
		} else {
			for _, p := range frames {
				if err = ss.conn.WriteFrame(p); err != nil {
					break
				}
			}
		}
		ss.out.done(b)
		if err != nil {
			if isTimeout(err) {
				ss.slowClosed()
			}
			ss.out.fail(err)
			ss.conn.Close()
			return err
		}
	}
}

// isTimeout reports whether a write failed on its deadline.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() ||
		errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded)
}

// slowClosed counts the session in ServerStats.SlowClosed, once.
func (ss *session) slowClosed() {
	if ss.slow.CompareAndSwap(false, true) {
		ss.srv.stats.slowClosed.Add(1)
		ss.srv.log.Warn("closing connection: the client does not read", "write_timeout", ss.srv.opts.WriteTimeout)
	}
}

// send queues a reply. It waits while the queue is full, for at most the
// write timeout; then the client is too slow and the session ends.
func (ss *session) send(ctx context.Context, f *Frame) error {
	return ss.queue(ctx, f, false)
}

// queue queues a frame that must not be lost: a reply, or a
// subscription's ack or snapshot (sub), which count as events.
func (ss *session) queue(ctx context.Context, f *Frame, sub bool) error {
	b, err := f.AppendJSON(nil)
	if err != nil {
		return err
	}
	return ss.push(ctx, b, sub)
}

// push queues an encoded frame, as queue does.
func (ss *session) push(ctx context.Context, b []byte, sub bool) error {
	err := ss.out.pushWait(ctx, b, sub, ss.srv.opts.WriteTimeout)
	if errors.Is(err, errSlowClient) {
		ss.slowClosed()
	}
	return err
}

func (ss *session) reply(ctx context.Context, id uint64, ok any) error {
	var raw json.RawMessage
	switch v := ok.(type) {
	case json.RawMessage:
		raw = v
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return ss.replyErr(ctx, id, CodeInternal)
		}
		raw = b
	}
	return ss.send(ctx, &Frame{T: TagReply, ID: id, OK: raw})
}

func (ss *session) replyErr(ctx context.Context, id uint64, code string) error {
	ss.srv.stats.errorReplies.Add(1)
	return ss.send(ctx, &Frame{T: TagReply, ID: id, Err: code})
}

func (ss *session) handle(ctx context.Context, f *Frame) error {
	if ss.srv.opts.Token == "" {
		// With no token to present, a valid frame authenticates.
		if err := ss.srv.promote(ss.slot); err != nil {
			return err
		}
	}
	if !ss.authed {
		switch {
		case f.T == TagPing:
		case f.T == TagReq && f.Method == "hello":
		case f.T == TagReq || f.T == TagSub:
			return ss.replyErr(ctx, f.ID, CodeDenied)
		default:
			return nil // write, unsub: no reply, ever
		}
	}
	switch f.T {
	case TagReq:
		ss.srv.stats.requests.Add(1)
		return ss.request(ctx, f)
	case TagSub:
		return ss.subscribe(ctx, f)
	case TagUnsub:
		ss.unsubscribe(f.Sub)
	case TagWrite:
		ss.write(f)
	case TagPing:
		return ss.send(ctx, &Frame{T: TagPong})
	}
	return nil // frames a server does not act on are skipped
}

// write handles a write frame: never answered, errors only logged.
func (ss *session) write(f *Frame) {
	payload := f.Payload
	var wrapped struct {
		Value json.RawMessage `json:"value"`
	}
	if json.Unmarshal(payload, &wrapped) == nil && len(wrapped.Value) > 0 {
		payload = wrapped.Value
	}
	if code := ss.set(f.Topic, payload); code != "" {
		ss.srv.log.Debug("write refused", "record", f.Topic, "err", code)
	}
}

// set writes a record on behalf of the client and returns an error code,
// or "" on success: setValue's code.
func (ss *session) set(key string, value json.RawMessage) string {
	return ss.setValue(key, value).code
}

// errCode maps a DB error to an AimX error code.
func errCode(err error) string {
	switch {
	case errors.Is(err, aimdb.ErrUnknownKey), errors.Is(err, aimdb.ErrNoValue):
		return CodeNotFound
	case errors.Is(err, aimdb.ErrHasWriter):
		return CodeDenied
	default:
		return CodeInternal
	}
}
