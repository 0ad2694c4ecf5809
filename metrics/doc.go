// Package metrics exports a DB's counters in the Prometheus exposition
// formats: every record's buffer, stage, gauge and link, every record
// family, and optionally an AimX server's counters. It lives outside
// the core so that the core keeps to the standard library; the core
// keeps its counters with atomics, always on, and this package reads
// them (DB.Records, DB.Families, aimx.Server.Stats) at each scrape, so
// it adds no cost between scrapes.
//
//	mux.Handle("/metrics", metrics.Handler(db, &metrics.Options{Server: srv}))
//
// Or register a Collector with a registry of your own:
//
//	reg.MustRegister(metrics.NewCollector(db, nil))
//
// # Metrics
//
// Names and labels are stable. Counters end in _total; times are in
// seconds. Labels: record is the record key; family is the template of
// the record's family, empty for a plain record; stage names a source,
// tap or transform by type and index, then its name if it has one
// ("source[0]", "tap[1] log", "transform[0]"); link is the link's URL
// without credentials; direction is "in" or "out"; protocol is the
// URL's scheme; signal and unit are a gauge's.
//
//	name                                   type     labels
//	aimdb_record_produced_total            counter  record, family
//	aimdb_record_consumed_total            counter  record, family
//	aimdb_record_dropped_total             counter  record, family
//	aimdb_record_buffer_items              gauge    record, family
//	aimdb_record_buffer_capacity           gauge    record, family
//	aimdb_stage_calls_total                counter  record, family, stage
//	aimdb_stage_seconds_total              counter  record, family, stage (estimated from 1 call in 32)
//	aimdb_stage_min_seconds                gauge    record, family, stage (once called)
//	aimdb_stage_max_seconds                gauge    record, family, stage (once called)
//	aimdb_stage_errors_total               counter  record, family, stage
//	aimdb_stage_restarts_total             counter  record, family, stage
//	aimdb_stage_running                    gauge    record, family, stage
//	aimdb_signal_samples_total             counter  record, family, signal, unit
//	aimdb_signal_last                      gauge    record, family, signal, unit (once sampled; not for an aggregated family)
//	aimdb_signal_min                       gauge    record, family, signal, unit (once sampled)
//	aimdb_signal_max                       gauge    record, family, signal, unit (once sampled)
//	aimdb_signal_mean                      gauge    record, family, signal, unit (once sampled)
//	aimdb_link_connected                   gauge    record, family, link, direction, protocol
//	aimdb_link_state                       gauge    record, family, link, direction, protocol, state
//	aimdb_link_reconnects_total            counter  record, family, link, direction, protocol
//	aimdb_link_received_total              counter  record, family, link, direction, protocol (in)
//	aimdb_link_decode_errors_total         counter  record, family, link, direction, protocol (in)
//	aimdb_link_published_total             counter  record, family, link, direction, protocol (out)
//	aimdb_link_dropped_total               counter  record, family, link, direction, protocol (out)
//	aimdb_link_encode_errors_total         counter  record, family, link, direction, protocol (out)
//	aimdb_link_publish_errors_total        counter  record, family, link, direction, protocol (out)
//	aimdb_link_queued                      gauge    record, family, link, direction, protocol (out)
//	aimdb_family_instances                 gauge    family
//	aimdb_family_max_instances             gauge    family
//	aimdb_family_created_total             counter  family
//	aimdb_family_refused_total             counter  family
//	aimdb_family_evicted_total             counter  family
//	aimdb_family_rejected_total            counter  family
//	aimdb_aimx_connections_accepted_total  counter  (Options.Server)
//	aimdb_aimx_connections_refused_total   counter
//	aimdb_aimx_connections_open            gauge
//	aimdb_aimx_connections_unauthenticated gauge
//	aimdb_aimx_connections_evicted_total   counter
//	aimdb_aimx_hello_timeouts_total        counter
//	aimdb_aimx_auth_closed_total           counter
//	aimdb_aimx_accept_retries_total        counter
//	aimdb_aimx_requests_total              counter
//	aimdb_aimx_error_replies_total         counter
//	aimdb_aimx_subscriptions_open          gauge
//	aimdb_aimx_events_sent_total           counter
//	aimdb_aimx_events_dropped_total        counter
//	aimdb_aimx_frames_malformed_total      counter
//	aimdb_aimx_frames_oversize_total       counter
//	aimdb_aimx_auth_failures_total         counter
//	aimdb_aimx_slow_closed_total           counter
//	aimdb_aimx_records_over_cap_total      counter
//
// aimdb_link_state has one series per state (idle, connecting,
// connected, disconnected, stopped): 1 for the link's state, 0 for the
// others. A link's reconnects and queue belong to its scheme's
// connection, shared by every link of the scheme. Counters restart from
// 0 when a client resets them (AimX profiling.reset and
// buffer_metrics.reset), which Prometheus reads as a counter reset.
//
// # Families and cardinality
//
// A record family creates its instances at run time (10 000 stations
// nobody listed), so one series per instance would let the number of
// series grow without a bound known to the operator. By default the
// instances of a family are therefore aggregated: each metric gets one
// series per family, labelled record=<template> family=<template>,
// and the number of series depends only on the program, not on the
// data. Counters, buffer sizes, running stages and connected links are
// summed over the instances; minimums and maximums are the smallest
// and largest; a gauge's mean is weighted by sample count;
// aimdb_signal_last is left out (no instance's value stands for the
// family); a link is labelled by its protocol and its position among
// the instance's links ("mqtt[0]"), since each instance's URL differs.
// When an instance is evicted, the counts it last reported stay in its
// family's counters, so that they never go down. The family-level
// series (aimdb_family_*) say how many instances there are.
//
// Options.PerInstance exports every instance as its own series instead,
// labelled record=<instance key> family=<template>, with its links'
// URLs: use it when the family's bound (its max_instances) is small
// enough for your Prometheus.
package metrics
