// Package lite is an AimX 3.0 server small enough for a microcontroller:
// it serves the records of a DB opened with RemoteAccess over one byte
// stream (a UART) with COBS framing, using only the core package, the
// standard library's io, context, errors, strconv and strings, and no
// encoding/json. The station firmware (examples/station-mcu/firmware)
// serves its records with it; package aimx's client, the aimdb CLI and
// mirror links (connector/mirror, serial://) talk to it as to any AimX
// server.
//
// It answers this subset of AimX 3.0:
//
//	hello         the welcome (version "3.0", read-only, no writable records)
//	record.list   one row per record with remote access (params.pattern filters)
//	record.get    the newest value; not_found (reason no_value) before the first
//	sub / unsub   a key or a pattern ('*' one segment, '#' the rest); a
//	              pattern sends a snap of each matched record holding a value,
//	              then events, as the full server does; seq numbers count the
//	              values a slow line dropped
//	ping          pong
//
// Every other method is answered not_found, and frames it cannot parse
// are skipped. A pattern matches the records that exist when it is
// subscribed: a microcontroller's records are fixed at start.
package lite

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/internal/cobs"
)

// Options configure Serve. The zero value is ready to use.
type Options struct {
	// Server is the welcome's server name. Default "aimdb-lite".
	Server string
	// MaxSubscriptions caps the subscriptions open at once. Default 8.
	MaxSubscriptions int
	// MaxFrame is the longest request frame, encoded, in bytes; longer
	// ones are skipped. Default 512.
	MaxFrame int
}

// Serve serves db over rw until ctx ends or reading rw fails, and returns
// the read error (nil once ctx ended). It never closes rw. The DB must be
// running. Each subscription has a goroutine; a write to rw that fails
// ends the subscriptions, not Serve.
func Serve(ctx context.Context, db *aimdb.DB, rw io.ReadWriter, opts *Options) error {
	s := &server{db: db, w: rw, subs: map[string]*sub{}}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Server == "" {
		s.opts.Server = "aimdb-lite"
	}
	if s.opts.MaxSubscriptions <= 0 {
		s.opts.MaxSubscriptions = 8
	}
	if s.opts.MaxFrame <= 0 {
		s.opts.MaxFrame = 512
	}
	s.out = make([]byte, 0, 256)
	s.enc = make([]byte, 0, 256)
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		s.wg.Wait()
	}()
	s.ctx = ctx

	errc := make(chan error, 1)
	go func() { errc <- s.read(rw) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		// The reader ends when rw does; a microcontroller's UART never
		// does, and its program does not return.
		return nil
	}
}

type server struct {
	db   *aimdb.DB
	w    io.Writer
	opts Options
	ctx  context.Context
	wg   sync.WaitGroup

	mu   sync.Mutex // guards out, enc, the writes and subs
	out  []byte     // the frame being written
	enc  []byte     // its COBS encoding
	subs map[string]*sub
}

type sub struct {
	cancel context.CancelFunc
	done   chan struct{}
	seq    uint64 // guarded by server.mu
}

// read reads COBS frames from r and handles each.
func (s *server) read(r io.Reader) error {
	var chunk [64]byte
	raw := make([]byte, 0, s.opts.MaxFrame)
	frame := make([]byte, 0, s.opts.MaxFrame)
	skipping := false
	for {
		n, err := r.Read(chunk[:])
		for _, c := range chunk[:n] {
			switch {
			case c == 0 && skipping:
				skipping = false
			case c == 0:
				if f, derr := cobs.Decode(frame[:0], raw); derr == nil && len(f) > 0 {
					frame = f
					s.handle(f)
				}
				raw = raw[:0]
			case skipping:
			case len(raw) == s.opts.MaxFrame:
				skipping, raw = true, raw[:0]
			default:
				raw = append(raw, c)
			}
		}
		if err != nil {
			if s.ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// request is what handle reads of a frame.
type request struct {
	t, method, topic, sub  string
	id                     uint64
	hasID                  bool
	name, version, pattern string
}

// parse reads a frame's fields; ok is false for a frame that is not one
// JSON object.
func parse(b []byte) (request, bool) {
	var q request
	ok := members(b, func(key string, val []byte) bool {
		switch key {
		case "t", "method", "topic", "sub":
			v, ok := str(val)
			if !ok {
				return false
			}
			switch key {
			case "t":
				q.t = v
			case "method":
				q.method = v
			case "topic":
				q.topic = v
			case "sub":
				q.sub = v
			}
		case "id":
			id, err := strconv.ParseUint(string(val), 10, 64)
			if err != nil {
				return false
			}
			q.id, q.hasID = id, true
		case "params":
			if len(val) > 0 && val[0] == '{' {
				return members(val, func(key string, val []byte) bool {
					v, ok := str(val)
					switch key {
					case "name":
						q.name = v
					case "version":
						q.version = v
					case "pattern":
						q.pattern = v
					default:
						return true
					}
					return ok || val[0] != '"'
				})
			}
		}
		return true
	})
	return q, ok && q.t != ""
}

// handle answers one frame.
func (s *server) handle(b []byte) {
	q, ok := parse(b)
	if !ok {
		return
	}
	switch q.t {
	case "ping":
		s.write(func(o []byte) []byte { return append(o, `{"t":"pong"}`...) })
	case "req":
		if q.hasID {
			s.request(&q)
		}
	case "sub":
		if q.hasID {
			s.subscribe(&q)
		}
	case "unsub":
		s.unsubscribe(q.sub)
	}
}

func (s *server) request(q *request) {
	switch q.method {
	case "hello":
		if major, _, _ := strings.Cut(q.version, "."); major != "3" {
			s.refuse(q.id, "version_mismatch", "")
			return
		}
		s.reply(q.id, func(o []byte) []byte {
			o = append(o, `{"authenticated":false,"max_subscriptions":`...)
			o = strconv.AppendInt(o, int64(s.opts.MaxSubscriptions), 10)
			o = append(o, `,"permissions":["read"],"server":`...)
			o = appendString(o, s.opts.Server)
			return append(o, `,"version":"3.0","writable_records":[]}`...)
		})
	case "record.list":
		s.reply(q.id, func(o []byte) []byte { return s.appendList(o, q.pattern) })
	case "record.get":
		r, err := s.db.Remote(q.name)
		if err != nil {
			s.refuse(q.id, "not_found", "")
			return
		}
		v, err := r.Latest()
		switch {
		case errors.Is(err, aimdb.ErrNoValue):
			s.refuse(q.id, "not_found", "no_value")
		case err != nil:
			s.refuse(q.id, "internal", "")
		default:
			s.reply(q.id, func(o []byte) []byte { return append(o, v...) })
		}
	default:
		s.refuse(q.id, "not_found", "")
	}
}

// appendList appends the record.list result: the rows of the records
// with remote access.
func (s *server) appendList(o []byte, pattern string) []byte {
	o = append(o, '[')
	first := true
	for _, k := range s.db.Keys() {
		if pattern != "" && !match(pattern, k) {
			continue
		}
		r, err := s.db.Remote(k)
		if err != nil {
			continue
		}
		m := r.Metadata()
		if !first {
			o = append(o, ',')
		}
		first = false
		o = append(o, `{"record_id":`...)
		o = strconv.AppendUint(o, uint64(m.RecordID), 10)
		o = append(o, `,"record_key":`...)
		o = appendString(o, m.RecordKey)
		o = append(o, `,"name":`...)
		o = appendString(o, m.Name)
		o = append(o, `,"type_id":`...)
		o = appendString(o, m.TypeID)
		o = append(o, `,"buffer_type":`...)
		o = appendString(o, m.BufferType)
		if m.BufferCapacity > 0 {
			o = append(o, `,"buffer_capacity":`...)
			o = strconv.AppendInt(o, int64(m.BufferCapacity), 10)
		}
		o = append(o, `,"producer_count":`...)
		o = strconv.AppendInt(o, int64(m.ProducerCount), 10)
		o = append(o, `,"consumer_count":`...)
		o = strconv.AppendInt(o, int64(m.ConsumerCount), 10)
		o = append(o, `,"writable":false,"outbound_connector_count":`...)
		o = strconv.AppendInt(o, int64(m.OutboundConnectorCount), 10)
		if m.SchemaType != "" {
			o = append(o, `,"schema_type":`...)
			o = appendString(o, m.SchemaType)
			o = append(o, `,"schema_version":`...)
			o = strconv.AppendUint(o, uint64(m.SchemaVersion), 10)
		}
		o = append(o, `,"remote_access":true,"produced_count":`...)
		o = strconv.AppendUint(o, m.ProducedCount, 10)
		o = append(o, `,"consumed_count":`...)
		o = strconv.AppendUint(o, m.ConsumedCount, 10)
		o = append(o, `,"dropped_count":`...)
		o = strconv.AppendUint(o, m.DroppedCount, 10)
		o = append(o, '}')
	}
	return append(o, ']')
}

// subscribe opens the subscription q.id to the key or pattern q.topic.
func (s *server) subscribe(q *request) {
	id := strconv.FormatUint(q.id, 10)
	wildcard := strings.ContainsAny(q.topic, "*#")
	var recs []*aimdb.RemoteRecord
	if wildcard {
		for _, k := range s.db.Keys() {
			if match(q.topic, k) {
				if r, err := s.db.Remote(k); err == nil {
					recs = append(recs, r)
				}
			}
		}
	} else if r, err := s.db.Remote(q.topic); err == nil {
		recs = append(recs, r)
	} else {
		s.refuse(q.id, "not_found", "")
		return
	}
	s.mu.Lock()
	_, live := s.subs[id]
	full := len(s.subs) >= s.opts.MaxSubscriptions
	s.mu.Unlock()
	if live || full {
		s.refuse(q.id, "denied", "")
		return
	}
	var sts []*aimdb.RemoteSubscription
	for _, r := range recs {
		subscribe := r.Subscribe
		if wildcard {
			subscribe = r.SubscribeLatest // its first value is the snapshot
		}
		if st, err := subscribe(); err == nil {
			sts = append(sts, st)
		}
	}
	ctx, cancel := context.WithCancel(s.ctx)
	sb := &sub{cancel: cancel, done: make(chan struct{})}
	s.mu.Lock()
	s.subs[id] = sb
	s.mu.Unlock()

	if wildcard {
		// One snap per record holding a value, the last one flagged.
		var snaps [][]byte
		var keys []string
		for i, st := range sts {
			if data, _, err := st.TryRecv(); err == nil {
				snaps, keys = append(snaps, data), append(keys, recs[i].Key())
			}
		}
		for i := range snaps {
			s.event(sb, "snap", id, keys[i], snaps[i], 0, i == len(snaps)-1)
		}
	}
	// One goroutine per record; the last to end ends the subscription
	// (no goroutine of its own to wait for them: each costs a stack
	// on a microcontroller).
	left := len(sts)
	end := func() {
		s.mu.Lock()
		left--
		last := left <= 0
		if last && s.subs[id] == sb {
			delete(s.subs, id)
		}
		s.mu.Unlock()
		if last {
			close(sb.done)
		}
	}
	if len(sts) == 0 {
		end()
		return
	}
	for i, st := range sts {
		key := recs[i].Key()
		s.wg.Go(func() {
			defer end()
			defer st.Close()
			for {
				data, missed, err := st.Recv(ctx)
				if err != nil {
					return
				}
				if !s.event(sb, "event", id, key, data, missed, false) {
					return
				}
			}
		})
	}
}

// unsubscribe ends the subscription id and waits for its goroutines.
func (s *server) unsubscribe(id string) {
	s.mu.Lock()
	sb := s.subs[id]
	delete(s.subs, id)
	s.mu.Unlock()
	if sb != nil {
		sb.cancel()
		<-sb.done
	}
}

// event writes an event or snap of sub id; it reports false when the
// write failed.
func (s *server) event(sb *sub, tag, id, key string, data []byte, missed uint64, last bool) bool {
	return s.write(func(o []byte) []byte {
		sb.seq += missed + 1
		o = append(o, `{"t":"`...)
		o = append(o, tag...)
		o = append(o, `","seq":`...)
		o = strconv.AppendUint(o, sb.seq, 10)
		if last {
			o = append(o, `,"last":true`...)
		}
		o = append(o, `,"topic":`...)
		o = appendString(o, key)
		o = append(o, `,"sub":`...)
		o = appendString(o, id)
		o = append(o, `,"data":`...)
		o = append(o, data...)
		return append(o, '}')
	})
}

func (s *server) reply(id uint64, ok func([]byte) []byte) {
	s.write(func(o []byte) []byte {
		o = append(o, `{"t":"reply","id":`...)
		o = strconv.AppendUint(o, id, 10)
		o = append(o, `,"ok":`...)
		return append(ok(o), '}')
	})
}

func (s *server) refuse(id uint64, code, reason string) {
	s.write(func(o []byte) []byte {
		o = append(o, `{"t":"reply","id":`...)
		o = strconv.AppendUint(o, id, 10)
		o = append(o, `,"err":`...)
		o = appendString(o, code)
		if reason != "" {
			o = append(o, `,"reason":`...)
			o = appendString(o, reason)
		}
		return append(o, '}')
	})
}

// write builds one frame with build, under the lock, and writes it COBS
// encoded with its delimiter. It reports false when the write failed.
func (s *server) write(build func([]byte) []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out = build(s.out[:0])
	// A delimiter before the frame as well as after: whatever the line
	// mangled before it (a partial frame lost while the other end
	// connected) ends there, and this frame is read whole.
	s.enc = append(cobs.Append(append(s.enc[:0], 0), s.out), 0)
	_, err := s.w.Write(s.enc)
	return err == nil
}

// match reports whether key matches pattern as aimx.MatchTopic does:
// segments separated by '.', '*' matching one segment and '#' zero or
// more.
func match(pattern, key string) bool {
	return matchSegs(strings.Split(pattern, "."), strings.Split(key, "."))
}

func matchSegs(ps, ks []string) bool {
	if len(ps) == 0 {
		return len(ks) == 0
	}
	if ps[0] == "#" {
		for i := 0; i <= len(ks); i++ {
			if matchSegs(ps[1:], ks[i:]) {
				return true
			}
		}
		return false
	}
	if len(ks) == 0 || ps[0] != "*" && ps[0] != ks[0] {
		return false
	}
	return matchSegs(ps[1:], ks[1:])
}
