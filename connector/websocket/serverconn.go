package websocket

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aimdb-go/aimdb/aimx"
	"github.com/coder/websocket"
)

// serverConn is one client's connection as the AimX session sees it: an
// aimx.FrameConn over a WebSocket. When the handler has a Bus with
// outbound links it also serves the "ws://" topics: it routes writes to
// inbound links, and merges link values into the client's subscriptions,
// renumbering seq so that each subscription keeps one sequence.
type serverConn struct {
	ctx   context.Context
	h     *Handler
	ws    *websocket.Conn
	perms Permissions

	wmu      sync.Mutex  // serializes writes to ws
	timer    *time.Timer // guarded by wmu: closes ws when a write outlasts the write timeout
	timedOut atomic.Bool // the timer closed ws

	mu   sync.Mutex // guards subs
	subs map[string]*busSub
	busQ chan busValue

	remote net.Addr // the client's; nil if unknown
}

// busSub is a client subscription that "ws://" topics may feed.
type busSub struct {
	pattern string
	state   int
	// The frames written so far carry seq values: the session's seq of
	// the last session frame (lastAimx) plus the number of link values
	// inserted or dropped before it (off).
	off, lastAimx uint64
}

const (
	subPending = iota // an exact topic, waiting for the session's verdict
	subMerged         // the session serves it; link values are merged in
	subBusOnly        // no record has that key: only link values feed it
)

type busValue struct {
	topic string
	data  []byte
}

func newServerConn(ctx context.Context, h *Handler, ws *websocket.Conn, perms Permissions) *serverConn {
	return &serverConn{
		ctx: ctx, h: h, ws: ws, perms: perms,
		subs: map[string]*busSub{},
		busQ: make(chan busValue, h.opts.BusQueue),
	}
}

// ReadFrame implements aimx.FrameConn.
func (c *serverConn) ReadFrame() ([]byte, error) {
	for {
		_, p, err := c.ws.Read(c.ctx)
		if err != nil {
			if errors.Is(err, websocket.ErrMessageTooBig) {
				return nil, fmt.Errorf("%w: %v", aimx.ErrFrameTooLarge, err)
			}
			return nil, err
		}
		b := c.h.opts.Bus
		if b == nil || !b.busy() {
			return p, nil
		}
		f, err := aimx.ParseFrame(p)
		if err != nil {
			return p, nil // the session skips it
		}
		switch f.T {
		case aimx.TagWrite:
			if b.routed(f.Topic) {
				if c.perms.CanWrite(f.Topic) {
					b.deliver(f.Topic, f.Payload)
				} else {
					c.h.log.Debug("write refused", "topic", f.Topic)
				}
				continue // writes are never answered
			}
		case aimx.TagSub:
			if b.outbound.Load() && c.perms.CanSubscribe(f.Topic) {
				s := &busSub{pattern: f.Topic, state: subMerged}
				if !aimx.IsWildcard(f.Topic) {
					s.state = subPending
				}
				c.mu.Lock()
				c.subs[strconv.FormatUint(f.ID, 10)] = s
				c.mu.Unlock()
			}
		case aimx.TagUnsub:
			c.mu.Lock()
			delete(c.subs, f.Sub)
			c.mu.Unlock()
		}
		return p, nil
	}
}

// WriteFrame implements aimx.FrameConn. A client that does not take the
// frame within the write timeout is disconnected.
func (c *serverConn) WriteFrame(p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	if len(c.subs) > 0 {
		p = c.adjust(p)
	}
	c.mu.Unlock()
	if p == nil {
		return nil
	}
	return c.write(p)
}

// write sends one text message; wmu is held. A timer, reused from
// message to message, bounds it: a context with a deadline would cost
// allocations on every message, here and in the library. The write does
// not need the connection's context: the connection is closed when it
// ends.
func (c *serverConn) write(p []byte) error {
	if c.timer == nil {
		c.timer = time.AfterFunc(c.h.opts.WriteTimeout, func() {
			c.timedOut.Store(true)
			c.ws.CloseNow()
		})
	} else {
		c.timer.Reset(c.h.opts.WriteTimeout)
	}
	err := c.ws.Write(context.Background(), websocket.MessageText, p)
	c.timer.Stop()
	if err != nil {
		c.ws.CloseNow()
		if c.timedOut.Load() {
			return fmt.Errorf("websocket: writing a frame to the client: %w (WriteTimeout %v)", os.ErrDeadlineExceeded, c.h.opts.WriteTimeout)
		}
		return err
	}
	return nil
}

// adjust rewrites a session frame that concerns a subscription "ws://"
// topics feed; mu is held. It returns nil to drop the frame.
func (c *serverConn) adjust(p []byte) []byte {
	f, err := aimx.ParseFrame(p)
	if err != nil {
		return p
	}
	switch f.T {
	case aimx.TagReply:
		id := strconv.FormatUint(f.ID, 10)
		s := c.subs[id]
		if s == nil || f.Err == "" {
			return p
		}
		if s.state == subPending && f.Err == aimx.CodeNotFound && c.busOnly() < maxBusOnlySubs {
			// No record has that key: the topic is a "ws://" one.
			s.state = subBusOnly
			b, _ := (&aimx.Frame{T: aimx.TagSubscribed, Sub: id}).AppendJSON(nil)
			return b
		}
		delete(c.subs, id) // refused
	case aimx.TagSubscribed:
		if s := c.subs[f.Sub]; s != nil && s.state == subPending {
			delete(c.subs, f.Sub) // a record: the session serves it alone
		}
	case aimx.TagEvent, aimx.TagSnap:
		s := c.subs[f.Sub]
		if s == nil || s.off == 0 {
			if s != nil {
				s.lastAimx = f.Seq
			}
			return p
		}
		s.lastAimx = f.Seq
		f.Seq += s.off
		if b, err := f.AppendJSON(nil); err == nil {
			return b
		}
	}
	return p
}

// maxBusOnlySubs caps the subscriptions of one connection to exact
// topics that no record has; the session's own cap does not see them.
const maxBusOnlySubs = aimx.DefaultMaxSubscriptions

// busOnly counts the subscriptions only link values feed; mu is held.
func (c *serverConn) busOnly() int {
	n := 0
	for _, s := range c.subs {
		if s.state == subBusOnly {
			n++
		}
	}
	return n
}

// enqueue queues a "ws://" link value for this client without blocking.
// When the queue is full the value is dropped, and every subscription
// it would have reached skips a seq.
func (c *serverConn) enqueue(v busValue) {
	select {
	case c.busQ <- v:
	default:
		c.mu.Lock()
		for _, s := range c.subs {
			if s.state != subPending && aimx.MatchTopic(s.pattern, v.topic) {
				s.off++
			}
		}
		c.mu.Unlock()
	}
}

// busWriter writes queued link values as events until the connection
// ends.
func (c *serverConn) busWriter() {
	var frames [][]byte
	for {
		var v busValue
		select {
		case v = <-c.busQ:
		case <-c.ctx.Done():
			return
		}
		c.wmu.Lock()
		c.mu.Lock()
		frames = frames[:0]
		for id, s := range c.subs {
			if s.state == subPending || !aimx.MatchTopic(s.pattern, v.topic) {
				continue
			}
			s.off++
			f := aimx.Frame{T: aimx.TagEvent, Seq: s.lastAimx + s.off, Topic: v.topic, Sub: id, Data: v.data}
			if b, err := f.AppendJSON(nil); err == nil {
				frames = append(frames, b)
			}
		}
		c.mu.Unlock()
		var err error
		for _, b := range frames {
			if err = c.write(b); err != nil {
				break
			}
		}
		c.wmu.Unlock()
		if err != nil {
			return
		}
	}
}

// Close implements aimx.FrameConn.
func (c *serverConn) Close() error { return c.ws.CloseNow() }

// RemoteAddr returns the client's address, for the server's logs (the
// optional method of aimx.FrameConn), or nil if it is unknown.
func (c *serverConn) RemoteAddr() net.Addr { return c.remote }

// remoteAddr parses an http.Request's RemoteAddr ("ip:port").
func remoteAddr(s string) net.Addr {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return nil
	}
	return net.TCPAddrFromAddrPort(ap)
}
