// Package persist keeps the history of records in a store that survives
// restarts, and restores records from it when a DB starts.
//
// # Model
//
// A [Backend] stores [Row]s: a record key, the time the value was
// produced, the value's encoded bytes (what the record's codec, usually
// a data contract's, produced) and the schema name and version of that
// encoding. Backends append rows in batches, answer time-range queries
// with a per-record limit, an order and an optional downsampling bucket,
// return the newest row of each record, and trim rows by age and count.
// Package persisttest is the conformance suite every backend passes;
// [NewMemory] is the in-memory backend, persist/sqlite and
// persist/postgres the durable ones.
//
// # Writing
//
// A [Store] owns a backend and one writer. [Record] makes the
// aimdb.Persister that Record.Persist attaches to a record: every value
// produced is queued (a bounded queue per record, never blocking
// Produce), and the writer commits what is queued, for every record of
// the store at once, in one Append (group commit). While the store is
// slow the queues absorb the backlog; when a queue is full its oldest
// value is dropped and counted. RecordMetadata.Persist shows, per
// record, the values queued, committed and dropped.
//
// # Replay
//
// When the DB starts, a persisted record gets its newest stored value
// back (a Ring, optionally, its last N), before any stage runs. Taps,
// transforms and outbound links do not receive restored values unless
// Options.ReplayToStages says so; RecordMetadata.Persist.Restored tells
// that the record's value is a restored one.
package persist
