package mqttbroker

import (
	"bytes"
	"log/slog"
	"sync"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Defaults of Options.
const (
	DefaultMaxClients       = 1024
	DefaultMaxPacketSize    = 1 << 20
	DefaultMaxRetained      = 10_000
	DefaultMaxRetainedBytes = 16 << 20
	DefaultSessionExpiry    = time.Hour
)

// Options configure a Broker. The zero value is ready to use: every
// limit has its default.
type Options struct {
	// Logger receives the broker's log, which reports every client that
	// leaves as a warning. Default: discarded.
	Logger *slog.Logger
	// MaxClients caps the connected clients; a CONNECT over the cap is
	// refused with "server busy" (0x89) on MQTT 5 and "server
	// unavailable" on 3.1.1. Default 1024.
	MaxClients int
	// MaxPacketSize caps one MQTT packet, in bytes; a client that sends a
	// bigger one is disconnected ("packet too large", 0x95) and the
	// packet is neither delivered nor retained (mochi-mqtt v2.7.9 does
	// not announce the limit in CONNACK). Default 1 MiB.
	MaxPacketSize int
	// MaxRetained caps the topics holding a retained message. A retained
	// publish to a new topic over the cap is delivered to the current
	// subscribers but not retained; replacing or clearing a retained
	// topic is always allowed. Default 10 000.
	MaxRetained int
	// MaxRetainedBytes caps the payload bytes of all retained messages,
	// applied as MaxRetained is. Default 16 MiB.
	MaxRetainedBytes int
	// SessionExpiry caps how long the session of a client that left
	// without a clean start is kept (its subscriptions and queued
	// messages). Default 1 hour.
	SessionExpiry time.Duration
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxClients <= 0 {
		o.MaxClients = DefaultMaxClients
	}
	if o.MaxPacketSize <= 0 {
		o.MaxPacketSize = DefaultMaxPacketSize
	}
	if o.MaxRetained <= 0 {
		o.MaxRetained = DefaultMaxRetained
	}
	if o.MaxRetainedBytes <= 0 {
		o.MaxRetainedBytes = DefaultMaxRetainedBytes
	}
	if o.SessionExpiry <= 0 {
		o.SessionExpiry = DefaultSessionExpiry
	}
}

// retainLimit is the hook bounding the retained messages: it accounts
// for every retained topic before mochi stores it, and clears the retain
// flag of a message that would go over a limit.
type retainLimit struct {
	mochi.HookBase
	max, maxBytes int

	mu    sync.Mutex
	sizes map[string]int // retained topic → payload bytes
	bytes int
}

func (h *retainLimit) ID() string { return "aimdb-retain-limit" }

func (h *retainLimit) Provides(b byte) bool {
	return bytes.Contains([]byte{mochi.OnPublish, mochi.OnWill, mochi.OnRetainedExpired}, []byte{b})
}

// admit reports whether a retained message of n payload bytes may be
// stored on topic, and accounts for it if so; n == 0 clears the topic.
func (h *retainLimit) admit(topic string, n int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	old, had := h.sizes[topic]
	if n == 0 {
		delete(h.sizes, topic)
		h.bytes -= old
		return true
	}
	if (!had && len(h.sizes) >= h.max) || h.bytes-old+n > h.maxBytes {
		return false
	}
	h.sizes[topic] = n
	h.bytes += n - old
	return true
}

func (h *retainLimit) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if pk.FixedHeader.Retain && !h.admit(pk.TopicName, len(pk.Payload)) {
		pk.FixedHeader.Retain = false
	}
	return pk, nil
}

func (h *retainLimit) OnWill(cl *mochi.Client, w mochi.Will) (mochi.Will, error) {
	if w.Retain && !h.admit(w.TopicName, len(w.Payload)) {
		w.Retain = false
	}
	return w, nil
}

func (h *retainLimit) OnRetainedExpired(topic string) { h.admit(topic, 0) }
