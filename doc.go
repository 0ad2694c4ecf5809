// Package aimdb is a typed data plane: an in-process database of records
// that runs the same code on a microcontroller, an edge gateway, a server
// and in the browser.
//
// A record is a key, a Go type and a buffer. Values are written by a
// source, a transform of other records, or Produce; they land in the
// buffer and fan out to taps (in-process consumers) and subscriptions.
// The records and the stages between them form a graph that Run validates
// before anything starts and that Graph and Records describe while it
// runs.
//
// # Keys and records
//
// The type is written once, in the key; everything after is inferred and
// a mismatch is a compile error:
//
//	var IndoorTemp = aimdb.NewKey[Temperature]("sensor.temp.indoor")
//
//	db := aimdb.New(nil)
//	temps, err := aimdb.Register(db, IndoorTemp, aimdb.Ring(64))
//	temps.Source(readSensor) // func(ctx, *aimdb.Producer[Temperature]) error
//	temps.Tap(logTemp)       // func(ctx, *aimdb.Subscription[Temperature]) error
//	err = db.Run(ctx)
//
// Keys follow <namespace>.<category>.<instance>. Many records may share a
// type under different keys; RecordsOf finds them.
//
// # Buffers
//
// Ring(n) is a single-producer, multi-consumer ring of exactly n values:
// every subscriber has its own cursor, and one that falls more than n
// behind receives a *LagError with the exact count it missed, then
// resumes at the oldest retained value. Latest keeps only the newest
// value; a new subscriber receives it once. Mailbox is one slot shared by
// all subscribers: the newest unconsumed value replaces the older one,
// and each value is taken by exactly one subscriber. See Buffer for the
// full table.
//
// Produce never blocks and never allocates. A Recv that returns because
// its context ended has consumed nothing.
//
// # Stages
//
// Source and Tap run user functions in goroutines owned by Run.
// Transform derives a record from one input (map and filter in one
// function); Join2 and Join3 derive one from the latest values of several.
// Stages get time from Producer.Clock or Subscription.Clock and logs from
// their Logger methods, so portable stage code imports no platform
// package. A VirtualClock in Options makes a whole DB deterministic.
//
// # Families
//
// A family is a record declared by a key template with named segments,
// NewFamily[T]("station.{id}.temperature"), whose instances
// ("station.17.temperature") are created on their first write: by Produce
// on an instance key, by an inbound link whose URL captures the same names
// (Family.LinkFrom("mqtt://station/{id}/temperature", …) subscribes once,
// with the connector's wildcard, and routes each message to its
// instance), or by a derived family (TransformFamily, JoinFamily2,
// JoinFamily3), which runs per instance, matched on the captures, in one
// goroutine for all of them. Instances are full records: metadata,
// Lookup, Subscribe, Peek, remote access. A family tap or
// Family.Subscribe receives every instance's values with the instance.
// MaxInstances bounds a family (writes beyond it are refused, counted and
// logged) and IdleEviction removes instances nobody writes;
// DB.Families reports both. DB.WatchRecords tells servers about new
// instances.
//
// # Validation
//
// Run (and Validate) report every configuration mistake at once as an
// *InvalidConfigError: invalid keys, a key registered with two types,
// invalid buffers, conflicting writers, unknown transform inputs or
// inputs of the wrong type, and cycles (naming the records on them).
// The order of registration never matters.
//
// # Lifecycle
//
// Run takes every stage's subscription before starting any stage, so taps
// see everything sources produce. When its context ends, Run stops the
// sources, then closes records in topological order once their writers
// have returned: taps and transforms drain what is buffered, bounded by
// Options.ShutdownTimeout. Run returns only after every goroutine it
// started has returned. A stage that returns an error or panics is
// logged, counted in its metadata and, by default, restarted with
// exponential backoff (Options.OnStageError).
//
// # Links
//
// LinkTo publishes a record's values through a connector and LinkFrom
// stores the messages a connector receives, each with a Codec. The
// connectors are given to the DB by URL scheme (Options.Connectors; see
// package connector and connector/mqtt). Run owns every connection: it
// dials with backoff and jitter, subscribes again after each reconnect,
// keeps a bounded drop-oldest queue of outbound messages while offline,
// drains it at shutdown, and reports state and counters in
// RecordMetadata.Links. An inbound link is its record's writer.
//
// # Introspection
//
// Records returns per-record metadata (buffer counters, per-stage
// profiles, gauges) and Graph the dependency graph; both carry JSON tags
// matching AimDB's wire shapes. Metrics are always on.
//
// # Concurrency
//
// Produce, Subscribe, Lookup, Records and Graph are safe for concurrent
// use. A Subscription's receive methods are for one goroutine at a time;
// its Close may be called from any goroutine. Record configuration
// methods must be called before Run; after it they change nothing and log
// ErrStarted ("aimdb: db already started").
package aimdb
