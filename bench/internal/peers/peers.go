// Package peers adapts every implementation the benchmarks compare to
// the harness's Queue interface.
package peers

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	eventbus "github.com/asaskevich/EventBus"
	"github.com/cskr/pubsub/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/bench/harness"
	"github.com/aimdb-go/aimdb/bench/internal/ringmin"
)

// AimDB returns a factory of running DBs with one record using buf.
// Readers call Recv with a context that is cancellable when withCtx is set
// (the idiomatic shape), and context.Background otherwise.
func AimDB[T any](buf aimdb.Buffer, withCtx bool) harness.Factory[T] {
	return func() harness.Queue[T] {
		db := aimdb.New(nil)
		rec, err := aimdb.Register(db, aimdb.NewKey[T]("bench.record.x"), buf)
		if err != nil {
			panic(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- db.Run(ctx) }()
		<-db.Started()
		readCtx := context.Background()
		if withCtx {
			readCtx = ctx
		}
		return &aimdbQueue[T]{rec: rec, p: rec.Producer(), ctx: readCtx, cancel: cancel, done: done}
	}
}

// AimDBBatch is AimDB with readers that receive with RecvBatch, up to
// batch values per wake-up, and hand them out one by one.
func AimDBBatch[T any](buf aimdb.Buffer, batch int) harness.Factory[T] {
	mk := AimDB[T](buf, false)
	return func() harness.Queue[T] { return &aimdbBatchQueue[T]{mk().(*aimdbQueue[T]), batch} }
}

type aimdbBatchQueue[T any] struct {
	*aimdbQueue[T]
	batch int
}

func (q *aimdbBatchQueue[T]) Subscribe() harness.Reader[T] {
	s, err := q.rec.Subscribe()
	if err != nil {
		panic(err)
	}
	return &aimdbBatchReader[T]{s: s, ctx: q.ctx, buf: make([]T, 0, q.batch)}
}

type aimdbBatchReader[T any] struct {
	s   *aimdb.Subscription[T]
	ctx context.Context
	buf []T
	i   int
}

func (r *aimdbBatchReader[T]) Recv() (T, uint64, bool) {
	if r.i < len(r.buf) {
		r.i++
		return r.buf[r.i-1], 0, true
	}
	var err error
	r.buf, err = r.s.RecvBatch(r.ctx, r.buf[:0])
	r.i = 0
	if err == nil {
		r.i = 1
		return r.buf[0], 0, true
	}
	var zero T
	if lag, ok := err.(*aimdb.LagError); ok {
		return zero, lag.Missed, true
	}
	return zero, 0, false
}

type aimdbQueue[T any] struct {
	rec    *aimdb.Record[T]
	p      *aimdb.Producer[T]
	ctx    context.Context
	cancel context.CancelFunc
	done   chan error
}

func (q *aimdbQueue[T]) Push(v T) { _ = q.p.Produce(v) }

func (q *aimdbQueue[T]) Subscribe() harness.Reader[T] {
	s, err := q.rec.Subscribe()
	if err != nil {
		panic(err)
	}
	return &aimdbReader[T]{s, q.ctx}
}

func (q *aimdbQueue[T]) Close() { q.cancel(); <-q.done }

type aimdbReader[T any] struct {
	s   *aimdb.Subscription[T]
	ctx context.Context
}

func (r *aimdbReader[T]) Recv() (T, uint64, bool) {
	v, err := r.s.Recv(r.ctx)
	if err == nil {
		return v, 0, true
	}
	if lag, ok := err.(*aimdb.LagError); ok {
		return v, lag.Missed, true
	}
	return v, 0, false
}

// RingMin is the 2-store lock-free SPMC ring.
func RingMin[T any]() harness.Queue[T] {
	return ringminQueue[T]{ringmin.NewRing[T](harness.Capacity)}
}

type ringminQueue[T any] struct{ r *ringmin.Ring[T] }

func (q ringminQueue[T]) Push(v T)                     { q.r.Push(v) }
func (q ringminQueue[T]) Subscribe() harness.Reader[T] { return q.r.Subscribe() }
func (q ringminQueue[T]) Close()                       { q.r.Close() }

// Floor is the spinning floor: one atomic store per push and one atomic
// load per reader per value (batch: per run of values), no parking.
func Floor[T any](batch bool) harness.Factory[T] {
	return func() harness.Queue[T] { return floorQueue[T]{ringmin.NewFloor[T](harness.Capacity), batch} }
}

type floorQueue[T any] struct {
	r     *ringmin.Floor[T]
	batch bool
}

func (q floorQueue[T]) Push(v T)                     { q.r.Push(v) }
func (q floorQueue[T]) Subscribe() harness.Reader[T] { return q.r.Subscribe(q.batch) }
func (q floorQueue[T]) Close()                       { q.r.Close() }

// MutexRing is the mutex + sync.Cond ring.
func MutexRing[T any]() harness.Queue[T] {
	return mutexRingQueue[T]{ringmin.NewMutexRing[T](harness.Capacity)}
}

type mutexRingQueue[T any] struct{ r *ringmin.MutexRing[T] }

func (q mutexRingQueue[T]) Push(v T)                     { q.r.Push(v) }
func (q mutexRingQueue[T]) Subscribe() harness.Reader[T] { return q.r.Subscribe() }
func (q mutexRingQueue[T]) Close()                       { q.r.Close() }

// Chan fans out over one buffered channel per reader, capacity 1024.
// With block unset, a full channel drops the newest value instead.
func Chan[T any](block bool) harness.Factory[T] {
	return func() harness.Queue[T] { return &chanQueue[T]{block: block} }
}

type chanQueue[T any] struct {
	chans []chan T
	block bool
}

func (q *chanQueue[T]) Push(v T) {
	for _, c := range q.chans {
		if q.block {
			c <- v
			continue
		}
		select {
		case c <- v:
		default:
		}
	}
}

func (q *chanQueue[T]) Subscribe() harness.Reader[T] {
	c := make(chan T, harness.Capacity)
	q.chans = append(q.chans, c)
	return chanReader[T](c)
}

func (q *chanQueue[T]) Close() {
	for _, c := range q.chans {
		close(c)
	}
}

type chanReader[T any] chan T

func (c chanReader[T]) Recv() (T, uint64, bool) {
	v, ok := <-c
	return v, 0, ok
}

// Chan1 is the capacity-1 channel mailbox: drain, then send.
func Chan1[T any]() harness.Queue[T] { return chan1Queue[T](make(chan T, 1)) }

type chan1Queue[T any] chan T

func (q chan1Queue[T]) Push(v T) {
	for {
		select {
		case q <- v:
			return
		default:
			select {
			case <-q:
			default:
			}
		}
	}
}
func (q chan1Queue[T]) Subscribe() harness.Reader[T] { return chanReader[T](q) }
func (q chan1Queue[T]) Close()                       { close(q) }

// Latest slots.
func MutexLatest[T any]() harness.Queue[T] { return latestQueue[T]{&ringmin.MutexLatest[T]{}} }
func SeqLatest[T any]() harness.Queue[T]   { return latestQueue[T]{&ringmin.SeqLatest[T]{}} }
func PtrLatest[T any]() harness.Queue[T]   { return latestQueue[T]{&ringmin.PtrLatest[T]{}} }

type latestSlot[T any] interface {
	Push(T)
	Close()
	Subscribe() *ringmin.LatestReader[T]
}

type latestQueue[T any] struct{ l latestSlot[T] }

func (q latestQueue[T]) Push(v T)                     { q.l.Push(v) }
func (q latestQueue[T]) Subscribe() harness.Reader[T] { return q.l.Subscribe() }
func (q latestQueue[T]) Close()                       { q.l.Close() }

// Mailboxes.
func SeqMailbox[T any]() harness.Queue[T]   { return mailboxQueue[T]{&ringmin.SeqMailbox[T]{}} }
func MutexMailbox[T any]() harness.Queue[T] { return mailboxQueue[T]{&ringmin.MutexMailbox[T]{}} }

type mailboxSlot[T any] interface {
	Push(T)
	Close()
	Subscribe() *ringmin.MailboxReader[T]
}

type mailboxQueue[T any] struct{ m mailboxSlot[T] }

func (q mailboxQueue[T]) Push(v T)                     { q.m.Push(v) }
func (q mailboxQueue[T]) Subscribe() harness.Reader[T] { return q.m.Subscribe() }
func (q mailboxQueue[T]) Close()                       { q.m.Close() }

// Untyped peers carry bytes, so they pay for encoding the typed value as a
// user would: 20 bytes, little endian.
func encode(v harness.Telemetry) []byte {
	b := make([]byte, 0, 20)
	b = binary.LittleEndian.AppendUint32(b, v.SensorID)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Value))
	return binary.LittleEndian.AppendUint64(b, v.Sequence)
}

func decode(b []byte) harness.Telemetry {
	return harness.Telemetry{
		SensorID: binary.LittleEndian.Uint32(b),
		Value:    math.Float64frombits(binary.LittleEndian.Uint64(b[4:])),
		Sequence: binary.LittleEndian.Uint64(b[12:]),
	}
}

// Watermill is watermill's in-process gochannel pub/sub.
func Watermill() harness.Queue[harness.Telemetry] {
	ps := gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: harness.Capacity}, watermill.NopLogger{})
	return &watermillQueue{ps: ps}
}

type watermillQueue struct{ ps *gochannel.GoChannel }

func (q *watermillQueue) Push(v harness.Telemetry) {
	// A fixed UUID: the peer is not charged for generating one.
	if err := q.ps.Publish("t", message.NewMessage("00000000-0000-0000-0000-000000000000", encode(v))); err != nil {
		panic(err)
	}
}

func (q *watermillQueue) Subscribe() harness.Reader[harness.Telemetry] {
	ch, err := q.ps.Subscribe(context.Background(), "t")
	if err != nil {
		panic(err)
	}
	return watermillReader(ch)
}

func (q *watermillQueue) Close() { _ = q.ps.Close() }

type watermillReader <-chan *message.Message

func (r watermillReader) Recv() (harness.Telemetry, uint64, bool) {
	m, ok := <-r
	if !ok {
		return harness.Telemetry{}, 0, false
	}
	v := decode(m.Payload)
	m.Ack()
	return v, 0, true
}

// NATS is nats.go connected in-process to an embedded nats-server.
func NATS() harness.Queue[harness.Telemetry] {
	ns, err := server.NewServer(&server.Options{DontListen: true, NoLog: true, NoSigs: true})
	if err != nil {
		panic(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(5 * time.Second) {
		panic("nats-server did not start")
	}
	nc, err := nats.Connect(ns.ClientURL(), nats.InProcessServer(ns))
	if err != nil {
		panic(err)
	}
	return &natsQueue{ns: ns, nc: nc, done: make(chan struct{})}
}

type natsQueue struct {
	ns   *server.Server
	nc   *nats.Conn
	done chan struct{}
}

func (q *natsQueue) Push(v harness.Telemetry) {
	if err := q.nc.Publish("t", encode(v)); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		panic(err)
	}
}

func (q *natsQueue) Subscribe() harness.Reader[harness.Telemetry] {
	ch := make(chan *nats.Msg, harness.Capacity)
	if _, err := q.nc.ChanSubscribe("t", ch); err != nil {
		panic(err)
	}
	if err := q.nc.Flush(); err != nil {
		panic(err)
	}
	return natsReader{ch, q.done}
}

func (q *natsQueue) Close() {
	close(q.done)
	q.nc.Close()
	q.ns.Shutdown()
	q.ns.WaitForShutdown()
}

type natsReader struct {
	ch   chan *nats.Msg
	done chan struct{}
}

func (r natsReader) Recv() (harness.Telemetry, uint64, bool) {
	select {
	case m := <-r.ch:
		return decode(m.Data), 0, true
	case <-r.done:
		return harness.Telemetry{}, 0, false
	}
}

// Cskr is github.com/cskr/pubsub: one dispatcher goroutine feeding a
// channel per subscriber.
func Cskr() harness.Queue[harness.Telemetry] {
	return cskrQueue{pubsub.New[string, harness.Telemetry](harness.Capacity)}
}

type cskrQueue struct {
	ps *pubsub.PubSub[string, harness.Telemetry]
}

func (q cskrQueue) Push(v harness.Telemetry) { q.ps.Pub(v, "t") }
func (q cskrQueue) Subscribe() harness.Reader[harness.Telemetry] {
	return chanReader[harness.Telemetry](q.ps.Sub("t"))
}
func (q cskrQueue) Close() { q.ps.Shutdown() }

// EventBus is github.com/asaskevich/EventBus: synchronous handlers called
// through reflection, each feeding a channel.
func EventBus() harness.Queue[harness.Telemetry] { return &eventBusQueue{bus: eventbus.New()} }

type eventBusQueue struct {
	bus   eventbus.Bus
	chans []chan harness.Telemetry
}

func (q *eventBusQueue) Push(v harness.Telemetry) { q.bus.Publish("t", v) }

func (q *eventBusQueue) Subscribe() harness.Reader[harness.Telemetry] {
	c := make(chan harness.Telemetry, harness.Capacity)
	q.chans = append(q.chans, c)
	if err := q.bus.Subscribe("t", func(v harness.Telemetry) { c <- v }); err != nil {
		panic(err)
	}
	return chanReader[harness.Telemetry](c)
}

func (q *eventBusQueue) Close() {
	for _, c := range q.chans {
		close(c)
	}
}
