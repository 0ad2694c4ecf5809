package aimx

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"

	"github.com/aimdb-go/aimdb"
)

// Welcome is the result of hello.
type Welcome struct {
	Authenticated    bool     `json:"authenticated"`
	MaxSubscriptions int      `json:"max_subscriptions"`
	Permissions      []string `json:"permissions"`
	Server           string   `json:"server"`
	Version          string   `json:"version"`
	WritableRecords  []string `json:"writable_records"`
}

// HelloParams are the parameters of hello.
type HelloParams struct {
	Client    string `json:"client,omitempty"`
	Version   string `json:"version"`
	AuthToken string `json:"auth_token,omitempty"`
}

// DrainResult is the result of record.drain.
type DrainResult struct {
	RecordName string            `json:"record_name"`
	Values     []json.RawMessage `json:"values"`
	Count      int               `json:"count"`
}

// QueryResult is the result of record.query.
type QueryResult struct {
	Records []QueryRow `json:"records"`
	Total   int        `json:"total"`
}

// SetResult is the result of record.set.
type SetResult struct {
	Status string          `json:"status"`
	Value  json.RawMessage `json:"value,omitempty"`
}

// compatible reports whether a "MAJOR.MINOR" version speaks AimX 3.
func compatible(v string) bool {
	major, _, _ := strings.Cut(v, ".")
	return major == "3"
}

type nameParams struct {
	Name  *string          `json:"name"`
	Value *json.RawMessage `json:"value"`
	Limit *uint64          `json:"limit"`
	Start *uint64          `json:"start"`
	End   *uint64          `json:"end"`
	// record.query, beyond AimDB
	Order  *string `json:"order"`
	Bucket *uint64 `json:"bucket"`
}

func (ss *session) request(ctx context.Context, f *Frame) error {
	if ss.d.Methods != nil && !slices.Contains(ss.d.Methods, f.Method) {
		return ss.replyErr(ctx, f.ID, CodeNotFound)
	}
	var p nameParams
	badParams := json.Unmarshal(f.Params, &p) != nil
	db := ss.srv.db
	switch f.Method {
	case "hello":
		return ss.hello(ctx, f)
	case "record.list":
		return ss.list(ctx, f.ID, f.Params)
	case "record.get":
		if badParams || p.Name == nil {
			return ss.replyErr(ctx, f.ID, CodeNotFound)
		}
		if !ss.readable(*p.Name) {
			return ss.replyErr(ctx, f.ID, CodeDenied)
		}
		r, err := db.Remote(*p.Name)
		if err != nil {
			return ss.replyErr(ctx, f.ID, errCode(err))
		}
		b, err := AppendGetReply(nil, f.ID, r)
		if errors.Is(err, aimdb.ErrNoValue) {
			// not_found, as AimDB answers; the reason tells it from an
			// unknown key.
			return ss.refuse(ctx, f.ID, refusal{code: CodeNotFound, reason: ReasonNoValue})
		}
		if err != nil {
			return ss.replyErr(ctx, f.ID, errCode(err))
		}
		return ss.push(ctx, b, false)
	case "record.set":
		if badParams || p.Name == nil || p.Value == nil {
			return ss.replyErr(ctx, f.ID, CodeInternal)
		}
		if r := ss.setValue(*p.Name, *p.Value); r.code != "" {
			return ss.refuse(ctx, f.ID, r)
		}
		res := SetResult{Status: "success"}
		if r, err := db.Remote(*p.Name); err == nil {
			if v, err := r.Latest(); err == nil {
				res.Value = v
			}
		}
		return ss.reply(ctx, f.ID, res)
	case "record.drain":
		if badParams || p.Name == nil {
			return ss.replyErr(ctx, f.ID, CodeInternal)
		}
		if !ss.readable(*p.Name) {
			return ss.replyErr(ctx, f.ID, CodeDenied)
		}
		return ss.drain(ctx, f.ID, *p.Name, p.Limit)
	case "record.query":
		return ss.query(ctx, f.ID, badParams, p)
	case "instance.info":
		return ss.reply(ctx, f.ID, ss.info())
	case "schema.list":
		return ss.schemaList(ctx, f.ID)
	case "graph.nodes":
		return ss.reply(ctx, f.ID, db.Graph().Nodes)
	case "graph.edges":
		return ss.reply(ctx, f.ID, db.Graph().Edges)
	case "graph.topo_order":
		return ss.reply(ctx, f.ID, db.Graph().TopoOrder)
	case "profiling.reset", "buffer_metrics.reset":
		if !ss.srv.opts.Policy.ReadWrite() {
			return ss.replyErr(ctx, f.ID, CodeDenied)
		}
		if f.Method == "profiling.reset" {
			db.ResetStageProfiling()
		} else {
			db.ResetBufferMetrics()
		}
		return ss.reply(ctx, f.ID, json.RawMessage(`{"reset":true}`))
	default:
		return ss.replyErr(ctx, f.ID, CodeNotFound)
	}
}

func (ss *session) hello(ctx context.Context, f *Frame) error {
	if ss.d.NoHello {
		return ss.replyErr(ctx, f.ID, CodeNotFound)
	}
	var p HelloParams
	if json.Unmarshal(f.Params, &p) != nil || !compatible(p.Version) {
		return ss.replyErr(ctx, f.ID, CodeVersionMismatch)
	}
	if ss.srv.opts.Token != "" {
		if !ss.srv.Authenticate(p.AuthToken) {
			return ss.helloFailed(ctx, f.ID)
		}
		if err := ss.srv.promote(ss.slot); err != nil {
			return err
		}
		ss.authed = true
	}
	return ss.reply(ctx, f.ID, ss.welcome())
}

// welcome returns the result of hello.
func (ss *session) welcome() Welcome {
	pol := ss.srv.opts.Policy
	w := Welcome{
		Authenticated:    ss.srv.opts.Token != "",
		MaxSubscriptions: ss.srv.opts.MaxSubscriptions,
		Permissions:      []string{"read"},
		Server:           "aimdb",
		Version:          Version,
		WritableRecords:  []string{},
	}
	if pol.ReadWrite() {
		w.Permissions = append(w.Permissions, "write")
		for _, k := range pol.Keys() {
			if _, err := ss.srv.db.Remote(k); err == nil {
				w.WritableRecords = append(w.WritableRecords, k)
			}
		}
	}
	return w
}

// records returns the record.list rows, with writable set from the
// policy: a record is writable when the policy names it, it has remote
// access and no source or transform writes it.
// Under a dialect with an Authorized hook (WebSocket), the list holds
// only the records the client may read.
func (ss *session) records() []aimdb.RecordMetadata {
	rows := ss.srv.db.Records()
	pol := ss.srv.opts.Policy
	kept := rows[:0]
	for _, r := range rows {
		if !ss.readable(r.RecordKey) {
			continue
		}
		r.Writable = r.RemoteAccess && pol.CanWrite(r.RecordKey) &&
			r.Origin.Kind != "source" && r.Origin.Kind != "transform" && r.Origin.Kind != "transform_join"
		kept = append(kept, r)
	}
	return kept
}

// writable reports whether the policy and the dialect let the client
// write key: set it, or take a Mailbox's value with record.drain.
func (ss *session) writable(key string) bool {
	return ss.srv.opts.Policy.CanWrite(key) && (ss.d.Authorized == nil || ss.d.Authorized(OpWrite, key))
}

// A refusal is an error reply: a code, and optionally a reason that
// refines it (ReasonNoValue) and a message that explains it.
type refusal struct{ code, reason, msg string }

// refuse sends r as the error reply to id.
func (ss *session) refuse(ctx context.Context, id uint64, r refusal) error {
	ss.srv.stats.errorReplies.Add(1)
	return ss.send(ctx, &Frame{T: TagReply, ID: id, Err: r.code, Reason: r.reason, Message: r.msg})
}

// setValue writes a record on behalf of the client; its refusal has an
// empty code on success. The checks run in AimDB's order: policy,
// existence, writer, remote access, decoding. A value that does not
// decode is refused "invalid_params" with the codec's error as message
// (AimDB answers "internal").
func (ss *session) setValue(key string, value json.RawMessage) refusal {
	if !ss.writable(key) {
		return refusal{code: CodeDenied}
	}
	r, err := ss.srv.db.Remote(key)
	if err != nil {
		return refusal{code: errCode(err)}
	}
	err = r.Set(value)
	var de *aimdb.DecodeError
	switch {
	case err == nil:
		return refusal{}
	case errors.Is(err, aimdb.ErrHasWriter):
		return refusal{code: CodeDenied}
	case errors.As(err, &de):
		ss.srv.log.Debug("record.set: the value does not decode", "record", key, "err", err)
		return refusal{code: CodeInvalidParams, msg: "the value does not decode into the record's type: " + de.Err.Error()}
	}
	ss.srv.log.Debug("record.set failed", "record", key, "err", err)
	return refusal{code: CodeInternal}
}

// readable reports whether the dialect lets the client read the records
// a key or pattern names: what it may subscribe to, it may list, get,
// drain and query.
func (ss *session) readable(topic string) bool {
	return ss.d.Authorized == nil || ss.d.Authorized(OpSubscribe, topic)
}

// listParams are the parameters of record.list. AimDB clients send
// null; Detail is this server's extension.
type listParams struct {
	// Detail asks for full rows (counters, profiling, links) whatever
	// their size.
	Detail bool `json:"detail"`
	// Pattern, when set, lists only the records whose key it matches
	// (MatchTopic), such as the instances of one family.
	Pattern string `json:"pattern"`
}

// compactRow is a record.list row with only the fields AimDB clients
// require, and a short type id.
type compactRow struct {
	RecordID               uint32       `json:"record_id"`
	RecordKey              string       `json:"record_key"`
	Name                   string       `json:"name"`
	TypeID                 string       `json:"type_id"`
	Origin                 aimdb.Origin `json:"origin"`
	BufferType             string       `json:"buffer_type"`
	BufferCapacity         int          `json:"buffer_capacity,omitempty"`
	ProducerCount          int          `json:"producer_count"`
	ConsumerCount          int          `json:"consumer_count"`
	Writable               bool         `json:"writable"`
	OutboundConnectorCount int          `json:"outbound_connector_count"`
	SchemaType             string       `json:"schema_type,omitempty"`
	Entity                 string       `json:"entity"`
	Family                 string       `json:"family,omitempty"`
}

// list answers record.list. Full rows carry counters and link states;
// when they would not fit one frame of DefaultMaxFrame, the limit AimDB's
// clients enforce, and the client did not ask for detail, the rows are
// compacted to the fields those clients require. When even those do not
// fit, the optional schema_type is left out too; when even that does not
// fit, the reply is "internal" and the server logs why: the client can
// list a part with a pattern.
func (ss *session) list(ctx context.Context, id uint64, params json.RawMessage) error {
	var p listParams
	_ = json.Unmarshal(params, &p) // AimDB ignores record.list params
	rows := ss.records()
	if p.Pattern != "" {
		kept := rows[:0]
		for _, r := range rows {
			if MatchTopic(p.Pattern, r.RecordKey) {
				kept = append(kept, r)
			}
		}
		rows = kept
	}
	full, err := json.Marshal(rows)
	if err != nil {
		return ss.replyErr(ctx, id, CodeInternal)
	}
	if p.Detail || len(full) <= DefaultMaxFrame-64 {
		return ss.reply(ctx, id, json.RawMessage(full))
	}
	compact := make([]compactRow, len(rows))
	for i, r := range rows {
		h := fnv.New32a()
		h.Write([]byte(r.TypeID))
		compact[i] = compactRow{
			RecordID: r.RecordID, RecordKey: r.RecordKey, Name: r.Name,
			TypeID: fmt.Sprintf("%08x", h.Sum32()), Origin: r.Origin,
			BufferType: r.BufferType, BufferCapacity: r.BufferCapacity,
			ProducerCount: r.ProducerCount, ConsumerCount: r.ConsumerCount,
			Writable: r.Writable, OutboundConnectorCount: r.OutboundConnectorCount,
			SchemaType: r.SchemaType, Entity: r.Entity,
			Family: r.Family,
		}
	}
	b, err := json.Marshal(compact)
	if err == nil && len(b) > DefaultMaxFrame-64 {
		for i := range compact {
			compact[i].SchemaType = ""
		}
		b, err = json.Marshal(compact)
	}
	if err != nil {
		return ss.replyErr(ctx, id, CodeInternal)
	}
	if len(b) > DefaultMaxFrame-64 {
		ss.srv.log.Warn("record.list: the rows do not fit one frame; list a part with params {\"pattern\": …}",
			"records", len(rows), "bytes", len(b), "max_frame", DefaultMaxFrame)
		return ss.replyErr(ctx, id, CodeInternal)
	}
	return ss.reply(ctx, id, json.RawMessage(b))
}

// drain answers record.drain from the connection's cursor of key,
// opening it on the first call. On a Mailbox the cursor takes the
// pending value, which the record's own consumer then does not get:
// taking is a write, allowed only when the policy (and the dialect's
// Authorized hook) lets the client write key; otherwise "denied". The
// policy does not change while the server runs, so the check is made
// when the cursor opens.
func (ss *session) drain(ctx context.Context, id uint64, key string, limit *uint64) error {
	cur, ok := ss.cursors[key]
	if !ok {
		r, err := ss.srv.db.Remote(key)
		if err != nil {
			return ss.replyErr(ctx, id, errCode(err))
		}
		if r.Metadata().BufferType == "mailbox" && !ss.writable(key) {
			return ss.refuse(ctx, id, refusal{code: CodeDenied,
				msg: fmt.Sprintf("draining the mailbox takes its pending value: it needs a write policy that names %q", key)})
		}
		if cur, err = r.SubscribeTaking(); err != nil {
			return ss.replyErr(ctx, id, CodeInternal)
		}
		ss.cursors[key] = cur
	}
	res := DrainResult{RecordName: key, Values: []json.RawMessage{}}
	for limit == nil || uint64(len(res.Values)) < *limit {
		v, _, err := cur.TryRecv()
		if err != nil {
			break
		}
		res.Values = append(res.Values, v)
	}
	res.Count = len(res.Values)
	return ss.reply(ctx, id, res)
}

func (ss *session) query(ctx context.Context, id uint64, badParams bool, p nameParams) error {
	q := QueryParams{Pattern: "#", Limit: p.Limit, Start: p.Start, End: p.End, Bucket: p.Bucket}
	if p.Name != nil {
		q.Pattern = *p.Name
	}
	if p.Order != nil {
		q.Order = *p.Order
		badParams = badParams || q.Order != "asc" && q.Order != "desc"
	}
	if !badParams && !ss.readable(q.Pattern) {
		return ss.replyErr(ctx, id, CodeDenied)
	}
	if ss.srv.opts.Query == nil || badParams {
		if ss.d.NoHello { // the WebSocket dialect answers not_found
			return ss.replyErr(ctx, id, CodeNotFound)
		}
		return ss.replyErr(ctx, id, CodeInternal)
	}
	rows, err := ss.srv.opts.Query(ctx, q)
	if err != nil {
		ss.srv.log.Warn("record.query failed", "err", err)
		return ss.replyErr(ctx, id, CodeInternal)
	}
	if rows == nil {
		rows = []QueryRow{}
	}
	desc := q.Order == "desc"
	slices.SortStableFunc(rows, func(a, b QueryRow) int {
		if desc {
			return cmp.Compare(b.TS, a.TS)
		}
		return cmp.Compare(a.TS, b.TS)
	})
	return ss.reply(ctx, id, QueryResult{Records: rows, Total: len(rows)})
}

// AppendGetReply appends to dst the reply a [Server] sends to the
// record.get request id, {"t":"reply","id":id,"ok":VALUE}, VALUE being
// r's current value as JSON ([aimdb.RemoteRecord.AppendLatest]): the
// value is encoded into the frame, with no buffer of its own when the
// record's codec is an [aimdb.AppendEncoder]. Its errors are
// AppendLatest's (aimdb.ErrNoValue when there is no value yet), and a
// *[FrameError] when the codec's output is not one JSON value; on an
// error dst is returned unchanged.
func AppendGetReply(dst []byte, id uint64, r *aimdb.RemoteRecord) ([]byte, error) {
	n := len(dst)
	dst = slices.Grow(dst, 128) // the envelope and a small value, in one allocation
	dst = append(dst, `{"t":"reply","id":`...)
	dst = strconv.AppendUint(dst, id, 10)
	dst = append(dst, `,"ok":`...)
	start := len(dst)
	dst, err := r.AppendLatest(dst)
	if err != nil {
		return dst[:n], err
	}
	if v := dst[start:]; len(v) == 0 || !oneLine(v) {
		// Not one compact value: check and compact it as AppendJSON does.
		if dst, err = appendRaw(dst[:start], bytes.Clone(v), "ok"); err != nil {
			return dst[:n], err
		}
	}
	return append(dst, '}'), nil
}
