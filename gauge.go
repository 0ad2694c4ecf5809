package aimdb

import "sync"

// A Gauge folds samples of a numeric signal (a temperature, a queue depth)
// into running statistics reported in the record's metadata. It is safe
// for concurrent use.
type Gauge struct {
	name, unit string

	mu    sync.Mutex
	stats SignalStats
	sum   float64
}

// Gauge returns a new gauge named name, measured in unit (which may be
// empty), reported in the record's metadata under signal_stats.
func (r *Record[T]) Gauge(name, unit string) *Gauge {
	g := &Gauge{name: name, unit: unit}
	g.stats = SignalStats{Signal: name, Unit: unit}
	r.db.mu.Lock()
	r.gauges = append(r.gauges, g)
	r.db.mu.Unlock()
	return g
}

// Update adds one sample.
func (g *Gauge) Update(v float64) {
	g.mu.Lock()
	s := &g.stats
	if s.Count == 0 || v < s.Min {
		s.Min = v
	}
	if s.Count == 0 || v > s.Max {
		s.Max = v
	}
	s.Count++
	s.Last = v
	g.sum += v
	s.Mean = g.sum / float64(s.Count)
	g.mu.Unlock()
}

// Stats returns the gauge's statistics. All values are 0 before the first
// sample.
func (g *Gauge) Stats() SignalStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stats
}

func (g *Gauge) reset() {
	g.mu.Lock()
	g.stats = SignalStats{Signal: g.name, Unit: g.unit}
	g.sum = 0
	g.mu.Unlock()
}

// SignalStats summarizes a Gauge's samples.
type SignalStats struct {
	Signal string  `json:"signal"`
	Unit   string  `json:"unit,omitempty"`
	Count  uint64  `json:"count"`
	Last   float64 `json:"last"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Mean   float64 `json:"mean"`
}
