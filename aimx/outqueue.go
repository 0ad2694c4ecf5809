package aimx

import (
	"context"
	"errors"
	"sync"
	"time"
)

// outQueue is a session's queue of frames for its writer: replies and
// subscription frames, in the order they were queued, back to back in
// one buffer. The writer takes everything queued at once and writes it
// as one batch; meanwhile new frames go to a second buffer, and the two
// are swapped on the next take, so that a busy connection allocates
// nothing per frame.
//
// Its byte budget covers the frames queued and the batch being written.
// An event that does not fit is dropped; a reply or another frame that
// must not be lost waits for room (pushWait). The queue is also capped in
// events: at most maxEvents events wait for the writer.
type outQueue struct {
	mu        sync.Mutex
	buf       []byte // the frames queued, back to back
	ends      []int  // where each frame of buf ends
	spare     []byte // the writer's previous batch, reused for the next
	spareEnds []int
	events    int // events in buf, against maxEvents
	subFrames int // subscription frames (events, snaps, acks) in buf, for ServerStats.Events
	inflight  int // bytes of the batch being written
	maxBytes  int
	maxEvents int
	closed    bool          // no more frames: the writer writes what is queued, then ends
	err       error         // the writer failed: every push fails with it
	wake      chan struct{} // capacity 1: frames were queued, or the queue was closed
	space     chan struct{} // closed when the writer frees room, if waiting is set
	waiting   bool
}

// keepBuf is the largest buffer the queue keeps for reuse after a batch;
// a bigger one, left by a burst, goes to the garbage collector.
const keepBuf = 256 << 10

// errQueueClosed is the error of a push after the session ended.
var errQueueClosed = errors.New("aimx: connection closing")

// errSlowClient reports a frame that found no room within the write
// timeout: the client does not read.
var errSlowClient = errors.New("aimx: client too slow: its frames were not taken within the write timeout")

func newOutQueue(maxBytes, maxEvents int) *outQueue {
	return &outQueue{maxBytes: maxBytes, maxEvents: maxEvents, wake: make(chan struct{}, 1)}
}

func (q *outQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// fits reports whether n more bytes fit the budget; q.mu is held. A
// frame bigger than the whole budget fits an idle queue.
func (q *outQueue) fits(n int) bool {
	used := len(q.buf) + q.inflight
	return used == 0 || used+n <= q.maxBytes
}

func (q *outQueue) appendLocked(frame []byte, sub bool) {
	q.buf = append(q.buf, frame...)
	q.ends = append(q.ends, len(q.buf))
	if sub {
		q.subFrames++
	}
	q.signal()
}

// pushEvent queues an event without blocking. It reports false, and
// queues nothing, when the queue is over its budget or its event cap, the
// session is ending, or a frame that must not be lost waits for room:
// events give way, so that a flood cannot starve a reply.
func (q *outQueue) pushEvent(frame []byte) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.err != nil || q.waiting || q.events >= q.maxEvents || !q.fits(len(frame)) {
		return false
	}
	q.events++
	q.appendLocked(frame, true)
	return true
}

// pushWait queues a frame that must not be lost (sub tells a
// subscription frame from a reply), waiting for room. It fails with
// errSlowClient when no room was made within timeout, with ctx.Err() when
// ctx ends first, and with the writer's error once it failed.
func (q *outQueue) pushWait(ctx context.Context, frame []byte, sub bool, timeout time.Duration) error {
	var timer <-chan time.Time
	for {
		q.mu.Lock()
		switch {
		case q.err != nil:
			err := q.err
			q.mu.Unlock()
			return err
		case q.closed:
			q.mu.Unlock()
			return errQueueClosed
		case q.fits(len(frame)):
			q.appendLocked(frame, sub)
			q.mu.Unlock()
			return nil
		}
		if q.space == nil {
			q.space = make(chan struct{})
		}
		q.waiting = true
		space := q.space
		q.mu.Unlock()
		if timer == nil {
			t := time.NewTimer(timeout)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-space:
		case <-timer:
			return errSlowClient
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// A batch is what the writer takes from the queue: frames back to back
// in buf, frame i ending at ends[i].
type batch struct {
	buf       []byte
	ends      []int
	subFrames int
}

// take waits for frames and takes them all. It returns false once the
// queue was closed and everything queued was taken, or when it failed.
func (q *outQueue) take() (batch, bool) {
	for {
		q.mu.Lock()
		if q.err != nil {
			q.mu.Unlock()
			return batch{}, false
		}
		if len(q.ends) > 0 {
			b := batch{buf: q.buf, ends: q.ends, subFrames: q.subFrames}
			q.buf, q.ends = q.spare[:0], q.spareEnds[:0]
			q.spare, q.spareEnds = nil, nil
			q.inflight = len(b.buf)
			q.events, q.subFrames = 0, 0
			q.mu.Unlock()
			return b, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return batch{}, false
		}
		<-q.wake
	}
}

// done returns a written batch: its bytes leave the budget and its
// buffers are reused.
func (q *outQueue) done(b batch) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.inflight = 0
	if cap(b.buf) <= keepBuf {
		q.spare, q.spareEnds = b.buf[:0], b.ends[:0]
	}
	q.freed()
}

// freed wakes the frames waiting for room; q.mu is held.
func (q *outQueue) freed() {
	if q.waiting {
		close(q.space)
		q.space, q.waiting = nil, false
	}
}

// close lets the writer end once it has written what is queued; later
// pushes fail.
func (q *outQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.freed()
	q.mu.Unlock()
	q.signal()
}

// fail ends the queue at once with err: what is queued is dropped, and
// later pushes fail with err.
func (q *outQueue) fail(err error) {
	q.mu.Lock()
	if q.err == nil {
		q.err = err
	}
	q.buf, q.ends, q.spare, q.spareEnds = nil, nil, nil, nil
	q.freed()
	q.mu.Unlock()
	q.signal()
}
