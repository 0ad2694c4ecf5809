package metrics

import "github.com/prometheus/client_golang/prometheus"

// How the series of a family's instances combine into the family's
// series.
type agg int

const (
	aggSum  agg = iota // add the values
	aggMax             // keep the largest (a value the instances share)
	aggMin             // keep the smallest
	aggMean            // average, weighted by sample count
	aggNone            // not exported for an aggregated family
)

// A desc is one exported metric.
type desc struct {
	name, help string
	kind       prometheus.ValueType
	agg        agg
	pd         *prometheus.Desc
}

func newDesc(name, help string, kind prometheus.ValueType, a agg, labels ...string) *desc {
	return &desc{name: name, help: help, kind: kind, agg: a, pd: prometheus.NewDesc(name, help, labels, nil)}
}

var (
	recordLabels = []string{"record", "family"}
	stageLabels  = []string{"record", "family", "stage"}
	signalLabels = []string{"record", "family", "signal", "unit"}
	linkLabels   = []string{"record", "family", "link", "direction", "protocol"}
	stateLabels  = []string{"record", "family", "link", "direction", "protocol", "state"}
	familyLabels = []string{"family"}
)

const (
	counter = prometheus.CounterValue
	gauge   = prometheus.GaugeValue
)

var (
	recordProduced = newDesc("aimdb_record_produced_total", "Values written to the record's buffer.", counter, aggSum, recordLabels...)
	recordConsumed = newDesc("aimdb_record_consumed_total", "Values read from the record's buffer.", counter, aggSum, recordLabels...)
	recordDropped  = newDesc("aimdb_record_dropped_total", "Values the record's buffer overwrote before a reader took them.", counter, aggSum, recordLabels...)
	bufferItems    = newDesc("aimdb_record_buffer_items", "Values the record's buffer holds.", gauge, aggSum, recordLabels...)
	bufferCapacity = newDesc("aimdb_record_buffer_capacity", "Values the record's buffer can hold.", gauge, aggSum, recordLabels...)

	stageCalls    = newDesc("aimdb_stage_calls_total", "Values produced by a source, handed to a tap, or passed to a transform.", counter, aggSum, stageLabels...)
	stageSeconds  = newDesc("aimdb_stage_seconds_total", "Time spent by the stage, estimated from one call in 32.", counter, aggSum, stageLabels...)
	stageMin      = newDesc("aimdb_stage_min_seconds", "Shortest timed call of the stage.", gauge, aggMin, stageLabels...)
	stageMax      = newDesc("aimdb_stage_max_seconds", "Longest timed call of the stage.", gauge, aggMax, stageLabels...)
	stageErrors   = newDesc("aimdb_stage_errors_total", "Errors the stage returned.", counter, aggSum, stageLabels...)
	stageRestarts = newDesc("aimdb_stage_restarts_total", "Restarts of the stage after an error.", counter, aggSum, stageLabels...)
	stageRunning  = newDesc("aimdb_stage_running", "1 while the stage runs (for a family: the instances whose stage runs).", gauge, aggSum, stageLabels...)

	signalSamples = newDesc("aimdb_signal_samples_total", "Samples folded into the gauge.", counter, aggSum, signalLabels...)
	signalLast    = newDesc("aimdb_signal_last", "The gauge's last sample (not exported for an aggregated family).", gauge, aggNone, signalLabels...)
	signalMin     = newDesc("aimdb_signal_min", "The gauge's smallest sample.", gauge, aggMin, signalLabels...)
	signalMax     = newDesc("aimdb_signal_max", "The gauge's largest sample.", gauge, aggMax, signalLabels...)
	signalMean    = newDesc("aimdb_signal_mean", "The mean of the gauge's samples.", gauge, aggMean, signalLabels...)

	linkConnected     = newDesc("aimdb_link_connected", "1 while the link's connector session is up (for a family: the connected instances).", gauge, aggSum, linkLabels...)
	linkState         = newDesc("aimdb_link_state", "1 for the link's connection state, 0 for the others (for a family: the instances in each state).", gauge, aggSum, stateLabels...)
	linkReconnects    = newDesc("aimdb_link_reconnects_total", "Successful connections after the first, of the link's scheme.", counter, aggMax, linkLabels...)
	linkReceived      = newDesc("aimdb_link_received_total", "Inbound: messages the connector delivered.", counter, aggSum, linkLabels...)
	linkDecodeErrors  = newDesc("aimdb_link_decode_errors_total", "Inbound: payloads that failed to decode.", counter, aggSum, linkLabels...)
	linkPublished     = newDesc("aimdb_link_published_total", "Outbound: messages the connector took.", counter, aggSum, linkLabels...)
	linkDropped       = newDesc("aimdb_link_dropped_total", "Outbound: messages dropped by the offline queue, a lag or shutdown.", counter, aggSum, linkLabels...)
	linkEncodeErrors  = newDesc("aimdb_link_encode_errors_total", "Outbound: values that failed to encode.", counter, aggSum, linkLabels...)
	linkPublishErrors = newDesc("aimdb_link_publish_errors_total", "Outbound: messages the connector refused.", counter, aggSum, linkLabels...)
	linkQueued        = newDesc("aimdb_link_queued", "Outbound: messages waiting in the queue of the link's scheme.", gauge, aggMax, linkLabels...)

	familyInstances    = newDesc("aimdb_family_instances", "Live instances of the record family.", gauge, aggSum, familyLabels...)
	familyMaxInstances = newDesc("aimdb_family_max_instances", "The most instances the family may hold.", gauge, aggSum, familyLabels...)
	familyCreated      = newDesc("aimdb_family_created_total", "Instances created since Run.", counter, aggSum, familyLabels...)
	familyRefused      = newDesc("aimdb_family_refused_total", "Writes refused because the family was full.", counter, aggSum, familyLabels...)
	familyEvicted      = newDesc("aimdb_family_evicted_total", "Instances removed after being idle.", counter, aggSum, familyLabels...)
	familyRejected     = newDesc("aimdb_family_rejected_total", "Inbound messages that reached no instance: a topic that does not fill the template, or a payload that failed to decode before its instance existed.", counter, aggSum, familyLabels...)

	aimxAccepted       = newDesc("aimdb_aimx_connections_accepted_total", "AimX connections served.", counter, aggSum)
	aimxRefused        = newDesc("aimdb_aimx_connections_refused_total", "AimX connections closed because the cap of authenticated connections was reached.", counter, aggSum)
	aimxOpen           = newDesc("aimdb_aimx_connections_open", "AimX connections being served, authenticated or not.", gauge, aggSum)
	aimxUnauth         = newDesc("aimdb_aimx_connections_unauthenticated", "AimX network connections being served that have not authenticated yet.", gauge, aggSum)
	aimxEvicted        = newDesc("aimdb_aimx_connections_evicted_total", "Unauthenticated AimX connections closed to make room for a new one.", counter, aggSum)
	aimxHelloTimeouts  = newDesc("aimdb_aimx_hello_timeouts_total", "AimX connections closed for not authenticating within the hello timeout.", counter, aggSum)
	aimxAuthClosed     = newDesc("aimdb_aimx_auth_closed_total", "AimX connections closed after three hellos with a wrong auth token.", counter, aggSum)
	aimxAcceptRetries  = newDesc("aimdb_aimx_accept_retries_total", "AimX accept errors that passed, such as running out of file descriptors, and were retried.", counter, aggSum)
	aimxRequests       = newDesc("aimdb_aimx_requests_total", "AimX requests handled.", counter, aggSum)
	aimxErrorReplies   = newDesc("aimdb_aimx_error_replies_total", "AimX replies carrying an error code.", counter, aggSum)
	aimxSubscriptions  = newDesc("aimdb_aimx_subscriptions_open", "Live AimX subscriptions.", gauge, aggSum)
	aimxEvents         = newDesc("aimdb_aimx_events_sent_total", "AimX subscription frames sent to clients.", counter, aggSum)
	aimxEventsDropped  = newDesc("aimdb_aimx_events_dropped_total", "AimX events dropped because a client's queue was full.", counter, aggSum)
	aimxMalformed      = newDesc("aimdb_aimx_frames_malformed_total", "AimX frames that did not parse.", counter, aggSum)
	aimxOversize       = newDesc("aimdb_aimx_frames_oversize_total", "AimX frames over the size cap; each closed its connection.", counter, aggSum)
	aimxAuthFailures   = newDesc("aimdb_aimx_auth_failures_total", "AimX hello requests with a wrong auth token.", counter, aggSum)
	aimxSlowClosed     = newDesc("aimdb_aimx_slow_closed_total", "AimX connections closed because the client did not take its frames within the write timeout.", counter, aggSum)
	aimxRecordsOverCap = newDesc("aimdb_aimx_records_over_cap_total", "Records not served to AimX subscriptions because of the cap on records per connection.", counter, aggSum)
)

// descs lists every metric, for Describe.
var descs = []*desc{
	recordProduced, recordConsumed, recordDropped, bufferItems, bufferCapacity,
	stageCalls, stageSeconds, stageMin, stageMax, stageErrors, stageRestarts, stageRunning,
	signalSamples, signalLast, signalMin, signalMax, signalMean,
	linkConnected, linkState, linkReconnects, linkReceived, linkDecodeErrors,
	linkPublished, linkDropped, linkEncodeErrors, linkPublishErrors, linkQueued,
	familyInstances, familyMaxInstances, familyCreated, familyRefused, familyEvicted, familyRejected,
	aimxAccepted, aimxRefused, aimxOpen, aimxUnauth, aimxEvicted, aimxHelloTimeouts, aimxAuthClosed, aimxAcceptRetries,
	aimxRequests, aimxErrorReplies, aimxSubscriptions,
	aimxEvents, aimxEventsDropped, aimxMalformed, aimxOversize, aimxAuthFailures,
	aimxSlowClosed, aimxRecordsOverCap,
}
