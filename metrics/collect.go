package metrics

import (
	"slices"
	"strconv"
	"strings"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx"
)

// A sample is one series' value.
type sample struct {
	d      *desc
	labels []string
	v      float64
	w      float64 // the weight of a mean: its sample count
}

func (s *sample) key() string { return s.d.name + "\x00" + strings.Join(s.labels, "\x00") }

// An input is what one scrape reads.
type input struct {
	records  []aimdb.RecordMetadata
	families []aimdb.FamilyMetadata
	server   *aimx.ServerStats // nil: no server
}

// carry keeps aggregated family counters monotonic: when an instance
// disappears (evicted), the counters it last reported are folded into
// its family's series instead of vanishing from the sum, which
// Prometheus would read as a counter reset. It is the collector's only
// state. Callers serialize gather.
type carry struct {
	last   map[string]map[string]sample // instance key → series key → counter
	folded map[string]sample            // series key → counters of gone instances
}

// gather turns one scrape's metadata into samples, sorted by name and
// labels. Unless perInstance, the instances of a family are aggregated
// into series labelled record=<template>, their counters carried over
// evictions in c (nil: no carry).
func gather(in input, perInstance bool, c *carry) []sample {
	acc := map[string]*sample{}
	var order []string
	add := func(s sample, aggregated bool) {
		if aggregated && s.d.agg == aggNone {
			return
		}
		k := s.key()
		a, seen := acc[k]
		if !seen {
			a = &sample{d: s.d, labels: s.labels}
			acc[k] = a
			order = append(order, k)
		}
		switch s.d.agg {
		case aggSum:
			a.v += s.v
		case aggMax:
			if !seen || s.v > a.v {
				a.v = s.v
			}
		case aggMin:
			if !seen || s.v < a.v {
				a.v = s.v
			}
		case aggMean:
			a.v += s.v * s.w
			a.w += s.w
		case aggNone:
			a.v = s.v
		}
	}

	current := map[string]map[string]sample{}
	for i := range in.records {
		r := &in.records[i]
		aggregated := r.Family != "" && !perInstance
		var counters map[string]sample
		if aggregated && c != nil {
			counters = map[string]sample{}
			current[r.RecordKey] = counters
		}
		emit := func(s sample) {
			add(s, aggregated)
			if counters != nil && s.d.kind == counter && s.d.agg == aggSum {
				k := s.key()
				prev := counters[k]
				s.v += prev.v
				counters[k] = s
			}
		}
		for _, s := range recordSamples(r, aggregated) {
			emit(s)
		}
	}
	if c != nil {
		if c.folded == nil {
			c.folded = map[string]sample{}
		}
		for inst, series := range c.last {
			if _, live := current[inst]; live {
				continue
			}
			for k, s := range series {
				f, ok := c.folded[k]
				if !ok {
					f = sample{d: s.d, labels: s.labels}
				}
				f.v += s.v
				c.folded[k] = f
			}
		}
		c.last = current
		for _, s := range c.folded {
			add(s, true)
		}
	}

	for i := range in.families {
		f := &in.families[i]
		l := []string{f.Template}
		add(sample{d: familyInstances, labels: l, v: float64(f.Instances)}, false)
		add(sample{d: familyMaxInstances, labels: l, v: float64(f.MaxInstances)}, false)
		add(sample{d: familyCreated, labels: l, v: float64(f.Created)}, false)
		add(sample{d: familyRefused, labels: l, v: float64(f.Refused)}, false)
		add(sample{d: familyEvicted, labels: l, v: float64(f.Evicted)}, false)
		add(sample{d: familyRejected, labels: l, v: float64(f.Rejected)}, false)
	}

	if s := in.server; s != nil {
		for _, x := range []struct {
			d *desc
			v float64
		}{
			{aimxAccepted, float64(s.Accepted)}, {aimxRefused, float64(s.Refused)},
			{aimxOpen, float64(s.Open)}, {aimxUnauth, float64(s.Unauthenticated)},
			{aimxEvicted, float64(s.Evicted)}, {aimxHelloTimeouts, float64(s.HelloTimeouts)},
			{aimxAuthClosed, float64(s.AuthClosed)}, {aimxAcceptRetries, float64(s.AcceptRetries)},
			{aimxRequests, float64(s.Requests)},
			{aimxErrorReplies, float64(s.ErrorReplies)}, {aimxSubscriptions, float64(s.Subscriptions)},
			{aimxEvents, float64(s.Events)}, {aimxEventsDropped, float64(s.EventsDropped)},
			{aimxMalformed, float64(s.Malformed)}, {aimxOversize, float64(s.Oversize)},
			{aimxAuthFailures, float64(s.AuthFailures)},
			{aimxSlowClosed, float64(s.SlowClosed)}, {aimxRecordsOverCap, float64(s.RecordsOverCap)},
		} {
			add(sample{d: x.d, v: x.v}, false)
		}
	}

	out := make([]sample, 0, len(order))
	slices.Sort(order)
	for _, k := range order {
		s := *acc[k]
		if s.d.agg == aggMean {
			if s.w == 0 {
				continue
			}
			s.v /= s.w
		}
		out = append(out, s)
	}
	return out
}

// recordSamples returns the series of one record. An aggregated
// instance is labelled with its family's template, and its links by
// protocol and position instead of by address.
func recordSamples(r *aimdb.RecordMetadata, aggregated bool) []sample {
	rec := r.RecordKey
	if aggregated {
		rec = r.Family
	}
	rl := []string{rec, r.Family}
	out := []sample{
		{d: recordProduced, labels: rl, v: float64(r.ProducedCount)},
		{d: recordConsumed, labels: rl, v: float64(r.ConsumedCount)},
		{d: recordDropped, labels: rl, v: float64(r.DroppedCount)},
		{d: bufferItems, labels: rl, v: float64(r.Occupancy[0])},
		{d: bufferCapacity, labels: rl, v: float64(r.Occupancy[1])},
	}
	for _, p := range r.StageProfiling {
		l := []string{rec, r.Family, stageLabel(p)}
		out = append(out,
			sample{d: stageCalls, labels: l, v: float64(p.CallCount)},
			sample{d: stageSeconds, labels: l, v: seconds(p.TotalTimeNs)},
			sample{d: stageErrors, labels: l, v: float64(p.ErrorCount)},
			sample{d: stageRestarts, labels: l, v: float64(p.RestartCount)},
			sample{d: stageRunning, labels: l, v: bit(p.Running)},
		)
		if p.CallCount > 0 {
			out = append(out,
				sample{d: stageMin, labels: l, v: seconds(p.MinTimeNs)},
				sample{d: stageMax, labels: l, v: seconds(p.MaxTimeNs)},
			)
		}
	}
	for _, g := range r.SignalStats {
		l := []string{rec, r.Family, g.Signal, g.Unit}
		out = append(out, sample{d: signalSamples, labels: l, v: float64(g.Count)})
		if g.Count > 0 {
			out = append(out,
				sample{d: signalLast, labels: l, v: g.Last},
				sample{d: signalMin, labels: l, v: g.Min},
				sample{d: signalMax, labels: l, v: g.Max},
				sample{d: signalMean, labels: l, v: g.Mean, w: float64(g.Count)},
			)
		}
	}
	for i, lm := range r.Links {
		addr := lm.Address
		if aggregated {
			addr = lm.Protocol + "[" + strconv.Itoa(i) + "]"
		}
		l := []string{rec, r.Family, addr, lm.Direction, lm.Protocol}
		out = append(out,
			sample{d: linkConnected, labels: l, v: bit(lm.Connected)},
			sample{d: linkReconnects, labels: l, v: float64(lm.Reconnects)},
		)
		for _, st := range linkStates {
			out = append(out, sample{d: linkState, labels: append(l[:len(l):len(l)], st), v: bit(lm.State == st)})
		}
		if lm.Direction == "in" {
			out = append(out,
				sample{d: linkReceived, labels: l, v: float64(lm.Received)},
				sample{d: linkDecodeErrors, labels: l, v: float64(lm.DecodeErrors)},
			)
			continue
		}
		out = append(out,
			sample{d: linkPublished, labels: l, v: float64(lm.Published)},
			sample{d: linkDropped, labels: l, v: float64(lm.Dropped)},
			sample{d: linkEncodeErrors, labels: l, v: float64(lm.EncodeErrors)},
			sample{d: linkPublishErrors, labels: l, v: float64(lm.PublishErrs)},
			sample{d: linkQueued, labels: l, v: float64(lm.Queued)},
		)
	}
	return out
}

var linkStates = []string{aimdb.LinkIdle, aimdb.LinkConnecting, aimdb.LinkConnected, aimdb.LinkDisconnected, aimdb.LinkStopped}

// stageLabel names a stage: its type and index, then its name if it has
// one, e.g. "source[0]", "tap[1] log", "transform[0]".
func stageLabel(p aimdb.StageProfile) string {
	l := p.StageType + "[" + strconv.Itoa(p.Index) + "]"
	if p.Name != "" {
		l += " " + p.Name
	}
	return l
}

func seconds(ns uint64) float64 { return float64(ns) / 1e9 }

func bit(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
