// Package nats is the NATS connector: it links records to NATS subjects,
// on core NATS (at most once) or on JetStream (at least once, stored in
// a stream), with nats.go.
//
//	d, err := nats.NewDialer("nats://broker.example:4222", nats.Options{Token: tok, Group: "hubs"})
//	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"nats": d}})
//	temps.LinkTo("nats://station.1.temperature?jetstream=true", codec.JSON[Temperature]{})
//	fam.LinkFrom("nats://station.{id}.temperature?jetstream=true", codec.JSON[Temperature]{})
//
// The link scheme is "nats". A link's topic is a NATS subject: tokens
// separated by '.', and on inbound links the wildcards '*' (one token)
// and '>' (one or more trailing tokens). Family links capture tokens
// ("station.{id}.temperature"); the Dialer is a connector.TopicGrammar.
//
// Link parameters, in the URL query or as Go options (which win):
//
//   - jetstream=true (JetStream): outbound values are published to the
//     stream that holds the subject and count as published once the
//     server acknowledged them (stored); inbound links read through a
//     durable pull consumer and acknowledge each message only after the
//     DB has stored its value in its record. A message the DB did not
//     take (at shutdown) is not acknowledged; the server delivers it
//     again.
//   - queue=NAME: the consumer group. On core NATS it is a queue group:
//     each message goes to one subscriber of the group. On JetStream it
//     names a durable consumer shared by every DB of the group, so several
//     hubs share one stream, each message stored by one of them; when a
//     hub dies, the messages it had not acknowledged go to the others
//     after the consumer's ack wait. Options.Group is the default.
//   - stream=NAME (JetStream, inbound): the stream to read; by default the
//     stream whose subjects hold the link's subject.
//   - deliver=new|all|last (JetStream, inbound): where a new durable
//     consumer starts; default new. An existing one resumes where its
//     group left off.
//
// Credentials (user and password, token, NKey seed, credentials file)
// and TLS come from the Dialer's Options and broker URL only; a link
// URL that names one is refused, naming the parameter. They appear
// nowhere else: not in errors, logs, metadata, or the Dialer's String.
//
// The DB owns the connection (see package connector): nats.go's own
// reconnect is off, a lost connection ends the session, and the DB dials
// again with backoff and subscribes every inbound link again. A
// JetStream durable consumer keeps its place across reconnects; core
// NATS keeps nothing: what is published while a subscriber is away is
// lost for it. The Dialer's Stats count JetStream redeliveries and core
// NATS messages a slow subscriber dropped.
package nats

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/connector"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Options configure a Dialer. The zero value is ready to use.
type Options struct {
	// Name identifies the connection to the server, and names the
	// durable consumers of JetStream links that have no group. If empty,
	// it is "aimdb-" and 16 random hex digits, fixed for the Dialer's
	// lifetime.
	Name string
	// Group is the default consumer group (the queue parameter) of
	// inbound links: DBs with one group share the messages of each link.
	Group string

	// User and Password log in with a user name and password (as does
	// userinfo in the broker URL). Token logs in with a token. NKeySeedFile
	// names a file holding an NKey seed; CredsFile a credentials file
	// (JWT and seed). At most one kind may be given.
	User, Password string
	Token          string
	NKeySeedFile   string
	CredsFile      string

	// TLSConfig is the base TLS configuration; it is cloned. Giving it, or
	// CAFile, or a tls:// broker URL, makes the connection use TLS.
	TLSConfig *tls.Config
	// CAFile names a PEM file of CA certificates that verify the server
	// instead of the system roots.
	CAFile string
	// CertFile and KeyFile name a PEM client certificate and its key.
	CertFile, KeyFile string

	// NetDialer, if set, opens the TCP connections (through a proxy, a
	// tunnel, or a test's fault injector).
	NetDialer natsgo.CustomDialer

	// ConnectTimeout bounds dialling and the handshake. If zero, it is 10s.
	ConnectTimeout time.Duration
	// PublishTimeout bounds one publish: the flush of a core NATS message,
	// the acknowledgement of a JetStream one. If zero, it is 10s.
	PublishTimeout time.Duration

	// AckWait is how long a JetStream consumer this connector creates
	// waits for an acknowledgement before it delivers a message again
	// (to any consumer of the group). If zero, it is 5s.
	AckWait time.Duration
	// MaxAckPending bounds the messages of one JetStream consumer
	// delivered and not yet acknowledged. If zero, it is 20000.
	MaxAckPending int
	// Streams are created at every Dial, before the links subscribe, if
	// they do not exist: the streams the links' subjects need. An
	// existing stream is left as it is.
	Streams []jetstream.StreamConfig
	// DedupWindow is how many of the stream sequences a JetStream link
	// stored most recently the Dialer remembers, per consumer and across
	// reconnects: a redelivered message among them (its acknowledgement
	// was lost, say when the server was killed before it saved it) is
	// acknowledged again and not stored a second time, and counted in
	// Stats.Duplicates. If zero, it is 65536; negative turns it off.
	DedupWindow int
}

// Stats are counters of one Dialer, over all its sessions.
type Stats struct {
	Acked       uint64 // JetStream messages acknowledged after their value was stored
	Redelivered uint64 // JetStream messages that arrived with a delivery count above 1
	Refused     uint64 // JetStream messages the DB did not take (shutdown), left for redelivery
	Duplicates  uint64 // JetStream redeliveries of a message already stored, not stored again (Options.DedupWindow)
	SlowDropped uint64 // core NATS messages a slow subscription dropped
}

// A Dialer connects to one NATS server or cluster. It is safe for
// concurrent use.
type Dialer struct {
	servers string // the server URLs without userinfo
	auth    []natsgo.Option
	tls     *tls.Config
	name    string
	opts    Options

	acked, redelivered, refused, slowDropped, duplicates atomic.Uint64

	windowsMu sync.Mutex
	windows   map[string]*window // by stream and consumer
}

// A window remembers the stream sequences a consumer stored most
// recently.
type window struct {
	mu   sync.Mutex
	set  map[uint64]struct{}
	ring []uint64
	pos  int
}

// window returns the dedup window of a consumer, nil if they are off.
func (d *Dialer) window(stream, consumer string) *window {
	if d.opts.DedupWindow < 0 {
		return nil
	}
	d.windowsMu.Lock()
	defer d.windowsMu.Unlock()
	k := stream + "\x00" + consumer
	w := d.windows[k]
	if w == nil {
		if d.windows == nil {
			d.windows = map[string]*window{}
		}
		w = &window{set: map[uint64]struct{}{}, ring: make([]uint64, 0, d.opts.DedupWindow)}
		d.windows[k] = w
	}
	return w
}

// has reports whether seq is in the window.
func (w *window) has(seq uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.set[seq]
	return ok
}

// add puts seq in the window, forgetting the oldest when full.
func (w *window) add(seq uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.set[seq]; ok {
		return
	}
	if len(w.ring) < cap(w.ring) {
		w.ring = append(w.ring, seq)
	} else {
		delete(w.set, w.ring[w.pos])
		w.ring[w.pos] = seq
		w.pos = (w.pos + 1) % len(w.ring)
	}
	w.set[seq] = struct{}{}
}

var (
	_ connector.Dialer        = (*Dialer)(nil)
	_ connector.LinkValidator = (*Dialer)(nil)
	_ connector.TopicGrammar  = (*Dialer)(nil)
)

// NewDialer returns a Dialer for the server at the URL
// nats://[user[:password]@]host[:port] (port 4222), or tls://… for TLS;
// several URLs of one cluster may be given, separated by commas.
func NewDialer(servers string, o Options) (*Dialer, error) {
	d := &Dialer{opts: o, name: o.Name}
	var clean []string
	var user, pass string
	useTLS := o.TLSConfig != nil || o.CAFile != "" || o.CertFile != ""
	for raw := range strings.SplitSeq(servers, ",") {
		raw = strings.TrimSpace(raw)
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("nats: malformed server URL %q", connector.Redact(raw))
		}
		switch u.Scheme {
		case "nats":
		case "tls":
			useTLS = true
		default:
			return nil, fmt.Errorf("nats: server URL scheme %q: want nats or tls", u.Scheme)
		}
		if u.Hostname() == "" {
			return nil, errors.New("nats: server URL has no host")
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return nil, errors.New("nats: server URL must be scheme://[user:pass@]host[:port]")
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				return nil, fmt.Errorf("nats: server URL port %q out of range", p)
			}
		}
		if u.User != nil {
			user = u.User.Username()
			pass, _ = u.User.Password()
		}
		u.User, u.Path = nil, ""
		clean = append(clean, u.String())
	}
	d.servers = strings.Join(clean, ",")
	kinds := 0
	if user != "" || o.User != "" {
		kinds++
		if o.User != "" {
			user, pass = o.User, o.Password
		}
		d.auth = append(d.auth, natsgo.UserInfo(user, pass))
	}
	if o.Token != "" {
		kinds++
		d.auth = append(d.auth, natsgo.Token(o.Token))
	}
	if o.NKeySeedFile != "" {
		kinds++
		opt, err := natsgo.NkeyOptionFromSeed(o.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("nats: NKey seed file %s: unreadable or not a user seed", o.NKeySeedFile)
		}
		d.auth = append(d.auth, opt)
	}
	if o.CredsFile != "" {
		kinds++
		if _, err := os.Stat(o.CredsFile); err != nil {
			return nil, fmt.Errorf("nats: credentials file: %w", err)
		}
		d.auth = append(d.auth, natsgo.UserCredentials(o.CredsFile))
	}
	if kinds > 1 {
		return nil, errors.New("nats: give one kind of credentials: user and password, token, NKey seed or credentials file")
	}
	if useTLS {
		var err error
		if d.tls, err = tlsConfig(o); err != nil {
			return nil, err
		}
	}
	if d.name == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		d.name = "aimdb-" + hex.EncodeToString(b[:])
	}
	if d.opts.Group != "" && !validName(d.opts.Group) {
		return nil, fmt.Errorf("nats: group %q: want letters, digits, '-' and '_'", d.opts.Group)
	}
	if d.opts.ConnectTimeout <= 0 {
		d.opts.ConnectTimeout = 10 * time.Second
	}
	if d.opts.PublishTimeout <= 0 {
		d.opts.PublishTimeout = 10 * time.Second
	}
	if d.opts.AckWait <= 0 {
		d.opts.AckWait = 5 * time.Second
	}
	if d.opts.MaxAckPending <= 0 {
		d.opts.MaxAckPending = 20000
	}
	if d.opts.DedupWindow == 0 {
		d.opts.DedupWindow = 65536
	}
	return d, nil
}

func tlsConfig(o Options) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.TLSConfig != nil {
		cfg = o.TLSConfig.Clone()
	}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("nats: CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("nats: CA file %s holds no PEM certificate", o.CAFile)
		}
		cfg.RootCAs = pool
	}
	if o.CertFile != "" || o.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("nats: client certificate: %w", err)
		}
		cfg.Certificates = append(cfg.Certificates, cert)
	}
	return cfg, nil
}

// Name returns the connection name the Dialer connects with.
func (d *Dialer) Name() string { return d.name }

// String returns the server URLs without credentials.
func (d *Dialer) String() string { return d.servers }

// GoString returns the server URLs without credentials.
func (d *Dialer) GoString() string { return "nats.Dialer(" + d.servers + ")" }

// TopicGrammar implements connector.TopicGrammar: subjects are tokens
// separated by '.', '*' matching one.
func (d *Dialer) TopicGrammar() (byte, string) { return '.', "*" }

// Stats returns the Dialer's counters.
func (d *Dialer) Stats() Stats {
	return Stats{
		Acked:       d.acked.Load(),
		Redelivered: d.redelivered.Load(),
		Refused:     d.refused.Load(),
		SlowDropped: d.slowDropped.Load(),
		Duplicates:  d.duplicates.Load(),
	}
}

// Dial connects to the server, with nats.go's reconnect off, and creates
// the Options.Streams that do not exist.
func (d *Dialer) Dial(ctx context.Context) (connector.Session, error) {
	s := &session{d: d, done: make(chan struct{})}
	opts := []natsgo.Option{
		natsgo.Name(d.name),
		natsgo.NoReconnect(),
		natsgo.Timeout(d.opts.ConnectTimeout),
		natsgo.ClosedHandler(func(*natsgo.Conn) { s.lost() }),
		natsgo.DisconnectErrHandler(func(*natsgo.Conn, error) { s.lost() }),
		natsgo.ErrorHandler(func(_ *natsgo.Conn, sub *natsgo.Subscription, err error) {
			if errors.Is(err, natsgo.ErrSlowConsumer) && sub != nil {
				s.countSlow(sub)
			}
		}),
		// Pending messages of a subscription: the DB stores them one at a
		// time; a burst beyond this is a slow consumer (counted).
		func(o *natsgo.Options) error { o.SubChanLen = 1 << 16; return nil },
	}
	opts = append(opts, d.auth...)
	if d.opts.NetDialer != nil {
		opts = append(opts, natsgo.SetCustomDialer(d.opts.NetDialer))
	}
	if d.tls != nil {
		opts = append(opts, natsgo.Secure(d.tls))
	}
	type result struct {
		nc  *natsgo.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		nc, err := natsgo.Connect(d.servers, opts...)
		ch <- result{nc, err}
	}()
	var r result
	select {
	case r = <-ch:
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.nc != nil {
				r.nc.Close()
			}
		}()
		return nil, ctx.Err()
	}
	if r.err != nil {
		return nil, fmt.Errorf("nats: connect to %s: %w", d.servers, r.err)
	}
	s.nc = r.nc
	js, err := jetstream.New(s.nc)
	if err != nil {
		s.nc.Close()
		return nil, fmt.Errorf("nats: JetStream: %w", err)
	}
	s.js = js
	for _, sc := range d.opts.Streams {
		if err := ensureStream(ctx, js, sc, d.opts.ConnectTimeout); err != nil {
			s.nc.Close()
			return nil, fmt.Errorf("nats: stream %q: %w", sc.Name, err)
		}
	}
	return s, nil
}

// ensureStream creates the stream sc if it does not exist; an existing
// stream is left as it is (its operators may have changed its replicas or
// limits).
func ensureStream(ctx context.Context, js jetstream.JetStream, sc jetstream.StreamConfig, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := js.Stream(ctx, sc.Name)
	if err == nil {
		return nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return err
	}
	_, err = js.CreateStream(ctx, sc)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return nil // another DB created it meanwhile
	}
	return err
}

// ValidateLink checks a link's subject and parameters: inbound subjects
// may hold wildcards, outbound ones not; jetstream is true or false,
// queue and stream are names, deliver is new, all or last; credentials
// are refused.
func (d *Dialer) ValidateLink(l *connector.Link) error {
	if err := CheckSubject(l.Topic, l.Inbound); err != nil {
		return err
	}
	for k := range l.Params {
		switch strings.ToLower(k) {
		case "jetstream", "queue", "stream", "deliver":
		case "user", "username", "password", "pass", "token", "nkey", "seed", "creds", "credentials", "jwt":
			return fmt.Errorf("NATS link parameter %q carries credentials; give them to the connector's Dialer (nats.Options), never in a link URL", k)
		default:
			return fmt.Errorf("unknown NATS link parameter %q (want jetstream, queue, stream, deliver)", k)
		}
	}
	p, err := parseParams(l, d.opts.Group)
	if err != nil {
		return err
	}
	if !l.Inbound && (l.Params.Has("queue") || p.stream != "" || l.Params.Has("deliver")) {
		return errors.New("NATS link parameters queue, stream and deliver apply to inbound links only")
	}
	if !p.jetstream && (p.stream != "" || l.Params.Has("deliver")) {
		return errors.New("NATS link parameters stream and deliver need jetstream=true")
	}
	return nil
}

// linkParams are a link's parsed parameters.
type linkParams struct {
	jetstream bool
	queue     string
	stream    string
	deliver   jetstream.DeliverPolicy
}

func parseParams(l *connector.Link, group string) (linkParams, error) {
	p := linkParams{queue: group, deliver: jetstream.DeliverNewPolicy}
	switch v := l.Params.Get("jetstream"); v {
	case "", "false":
	case "true":
		p.jetstream = true
	default:
		return p, fmt.Errorf("jetstream %q: want true or false", v)
	}
	if l.Params.Has("queue") {
		p.queue = l.Params.Get("queue")
		if !validName(p.queue) {
			return p, fmt.Errorf("queue %q: want letters, digits, '-' and '_'", p.queue)
		}
	}
	if l.Params.Has("stream") {
		p.stream = l.Params.Get("stream")
		if !validName(p.stream) {
			return p, fmt.Errorf("stream %q: want letters, digits, '-' and '_'", p.stream)
		}
	}
	switch v := l.Params.Get("deliver"); v {
	case "", "new":
	case "all":
		p.deliver = jetstream.DeliverAllPolicy
	case "last":
		p.deliver = jetstream.DeliverLastPerSubjectPolicy
	default:
		return p, fmt.Errorf("deliver %q: want new, all or last", v)
	}
	return p, nil
}

// validName reports whether s is a NATS stream, consumer or queue name
// this connector accepts: 1 to 64 letters, digits, '-' and '_'.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// CheckSubject checks a NATS subject: non-empty tokens separated by '.',
// no whitespace or control characters; if wildcards is true, '*' may be
// a whole token and '>' the whole last token; otherwise neither may
// appear.
func CheckSubject(subject string, wildcards bool) error {
	if subject == "" {
		return errors.New("empty NATS subject")
	}
	if len(subject) > 4096 {
		return errors.New("NATS subject longer than 4096 bytes")
	}
	tokens := strings.Split(subject, ".")
	for i, t := range tokens {
		switch {
		case t == "":
			return fmt.Errorf("NATS subject %q has an empty token", subject)
		case strings.ContainsFunc(t, func(r rune) bool { return r <= ' ' || r == 0x7f }):
			return fmt.Errorf("NATS subject %q holds whitespace or control characters", subject)
		case t == "*" || t == ">":
			if !wildcards {
				return fmt.Errorf("outbound NATS subject %q holds a wildcard", subject)
			}
			if t == ">" && i != len(tokens)-1 {
				return fmt.Errorf("NATS subject %q: '>' must be the last token", subject)
			}
		case strings.ContainsAny(t, "*>"):
			return fmt.Errorf("NATS subject %q: '*' and '>' must be whole tokens", subject)
		}
	}
	return nil
}

// consumerName is the durable consumer of an inbound JetStream link:
// the group (or the Dialer's name) and a hash of the subject, so that
// one group has one consumer per subject.
func consumerName(owner, subject string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(subject))
	return fmt.Sprintf("%s_%016x", owner, h.Sum64())
}

// JetStream makes a link use JetStream (the parameter jetstream=true).
func JetStream() aimdb.LinkOption { return aimdb.LinkParam("jetstream", "true") }

// Queue sets an inbound link's consumer group (the parameter queue).
func Queue(name string) aimdb.LinkOption { return aimdb.LinkParam("queue", name) }

// Stream names the stream an inbound JetStream link reads (the
// parameter stream).
func Stream(name string) aimdb.LinkOption { return aimdb.LinkParam("stream", name) }
