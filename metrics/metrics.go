package metrics

import (
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx"
)

// Options configure a Collector and a Handler. The zero value exports
// the DB's records and families, each family as one set of series.
type Options struct {
	// Server, when set, adds the counters of this AimX server
	// (aimdb_aimx_*). Default: none.
	Server *aimx.Server
	// PerInstance exports each instance of a record family as its own
	// series, labelled record=<instance key>. Default false: the
	// instances of a family are aggregated into series labelled
	// record=<template>, so that the number of series does not grow
	// with the instances (see the package documentation).
	PerInstance bool
	// Runtime adds the Go runtime and process metrics (go_*, process_*)
	// to the Handler's registry. Default false. NewCollector ignores it.
	Runtime bool
}

// A Collector is a prometheus.Collector that reads a DB's metadata at
// each scrape. It is safe for concurrent use.
type Collector struct {
	read        func() input
	perInstance bool

	mu    sync.Mutex // serializes scrapes: they update carry
	carry carry
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a collector of db's metrics. A nil opts is the
// same as &Options{}.
func NewCollector(db *aimdb.DB, opts *Options) *Collector {
	var o Options
	if opts != nil {
		o = *opts
	}
	read := func() input {
		in := input{records: db.Records(), families: db.Families()}
		if o.Server != nil {
			st := o.Server.Stats()
			in.server = &st
		}
		return in
	}
	return &Collector{read: read, perInstance: o.PerInstance}
}

// Describe sends the descriptor of every metric the collector exports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range descs {
		ch <- d.pd
	}
}

// Collect reads the DB's records and families (and the server's
// counters) and sends their current values.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	in := c.read()
	c.mu.Lock()
	samples := gather(in, c.perInstance, &c.carry)
	c.mu.Unlock()
	for _, s := range samples {
		ch <- prometheus.MustNewConstMetric(s.d.pd, s.d.kind, s.v, s.labels...)
	}
}

// Handler returns an HTTP handler serving db's metrics in the Prometheus
// exposition formats, from a registry of its own. Mount it at /metrics.
// A nil opts is the same as &Options{}.
func Handler(db *aimdb.DB, opts *Options) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(db, opts))
	if opts != nil && opts.Runtime {
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
