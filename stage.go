package aimdb

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Stage kinds, as named in metadata.
const (
	stageSource    = "source"
	stageTap       = "tap"
	stageTransform = "transform"
)

// A stage is one source, tap or transform of a record, with its metrics.
// Metrics are updated with atomics from the stage's goroutine and read by
// introspection at any time.
type stage struct {
	kind  string
	index int
	name  string

	calls     atomic.Uint64
	samples   atomic.Uint64 // timed calls
	sampledNs atomic.Uint64 // total time of the timed calls
	minNs     atomic.Uint64 // minimum + 1; 0 means no sample
	maxNs     atomic.Uint64

	errors   atomic.Uint64
	restarts atomic.Uint64
	running  atomic.Bool

	mu      sync.Mutex
	lastErr string
}

func newStage(kind string, index int, opts []StageOption) *stage {
	s := &stage{kind: kind, index: index}
	for _, o := range opts {
		o(s)
	}
	return s
}

// label names the stage in logs and errors, e.g. "tap[1]".
func (s *stage) label() string {
	l := s.kind
	if s.kind != stageTransform {
		l += "[" + strconv.Itoa(s.index) + "]"
	}
	if s.name != "" {
		l += " " + s.name
	}
	return l
}

// sampleEvery is how often a stage's calls are timed: reading the clock
// costs about as much as moving a message, so one call in sampleEvery is
// timed and the totals are estimated from the sampled mean. Call counts
// are exact.
const sampleEvery = 32

// count counts one call and reports whether it is to be timed.
func (s *stage) count() (timed bool) {
	return (s.calls.Add(1)-1)%sampleEvery == 0
}

// observe folds one timing sample into the stage's profile.
func (s *stage) observe(ns int64) {
	d := uint64(max(ns, 0))
	s.samples.Add(1)
	s.sampledNs.Add(d)
	for {
		cur := s.minNs.Load()
		if cur != 0 && cur <= d+1 || s.minNs.CompareAndSwap(cur, d+1) {
			break
		}
	}
	for {
		cur := s.maxNs.Load()
		if cur >= d || s.maxNs.CompareAndSwap(cur, d) {
			break
		}
	}
}

func (s *stage) fail(err error) {
	s.errors.Add(1)
	s.mu.Lock()
	s.lastErr = err.Error()
	s.mu.Unlock()
}

func (s *stage) reset() {
	s.calls.Store(0)
	s.samples.Store(0)
	s.sampledNs.Store(0)
	s.minNs.Store(0)
	s.maxNs.Store(0)
}

// StageProfile is the profile of one stage, as reported in
// RecordMetadata.StageProfiling. CallCount is exact: values produced by a
// source, handed to a tap, or passed to a transform or join function.
// Timings are in nanoseconds, measured on one call in 32 (the first
// among them) and extrapolated to TotalTimeNs: for a source, the interval
// to the next produced value; for a tap, the time spent on a value before
// asking for the next; for a transform or join, the time spent in its
// function.
type StageProfile struct {
	StageType   string `json:"stage_type"` // "source", "tap" or "transform"
	Index       int    `json:"index"`      // position among stages of its type
	Name        string `json:"name,omitempty"`
	CallCount   uint64 `json:"call_count"`
	TotalTimeNs uint64 `json:"total_time_ns"`
	AvgTimeNs   uint64 `json:"avg_time_ns"`
	MinTimeNs   uint64 `json:"min_time_ns"`
	MaxTimeNs   uint64 `json:"max_time_ns"`

	// Beyond AimDB: failure accounting and liveness.
	ErrorCount   uint64 `json:"error_count,omitempty"`
	RestartCount uint64 `json:"restart_count,omitempty"`
	LastError    string `json:"last_error,omitempty"`
	Running      bool   `json:"running"`
}

func (s *stage) profile() StageProfile {
	p := StageProfile{
		StageType:    s.kind,
		Index:        s.index,
		Name:         s.name,
		CallCount:    s.calls.Load(),
		MaxTimeNs:    s.maxNs.Load(),
		ErrorCount:   s.errors.Load(),
		RestartCount: s.restarts.Load(),
		Running:      s.running.Load(),
	}
	if m := s.minNs.Load(); m > 0 {
		p.MinTimeNs = m - 1
	}
	if n := s.samples.Load(); n > 0 {
		p.AvgTimeNs = s.sampledNs.Load() / n
		p.TotalTimeNs = p.AvgTimeNs * p.CallCount
	}
	s.mu.Lock()
	p.LastError = s.lastErr
	s.mu.Unlock()
	return p
}

var epoch = time.Now()

// nanotime returns monotonic nanoseconds since process start, never 0.
func nanotime() int64 { return int64(time.Since(epoch)) | 1 }
