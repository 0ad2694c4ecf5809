package aimdb

import (
	"reflect"
	"sync"
)

// RecordMetadata describes one record. Its JSON form matches AimDB's
// RecordMetadata (the rows of AimX record.list), with fields AimDB leaves
// out when empty left out too.
type RecordMetadata struct {
	RecordID               uint32 `json:"record_id"`  // registration index
	RecordKey              string `json:"record_key"` // the key
	Name                   string `json:"name"`       // the Go value type, e.g. "sensors.Temperature"
	TypeID                 string `json:"type_id"`    // the Go type with its package path
	Origin                 Origin `json:"origin"`
	BufferType             string `json:"buffer_type"`
	BufferCapacity         int    `json:"buffer_capacity,omitempty"` // rings only
	ProducerCount          int    `json:"producer_count"`            // 1 if the record has a source
	ConsumerCount          int    `json:"consumer_count"`            // number of taps
	Writable               bool   `json:"writable"`                  // set by a remote-access server's policy
	OutboundConnectorCount int    `json:"outbound_connector_count"`
	SchemaType             string `json:"schema_type,omitempty"`    // the contract's name, when the type declares one (contract.SchemaType)
	SchemaVersion          uint32 `json:"schema_version,omitempty"` // the contract's current version, with SchemaType (beyond AimDB)
	Entity                 string `json:"entity,omitempty"`         // the key's last segment
	RemoteAccess           bool   `json:"remote_access,omitempty"`  // opened with RemoteAccess (beyond AimDB)
	Family                 string `json:"family,omitempty"`         // the template of the family the record is an instance of (beyond AimDB)

	ProducedCount uint64 `json:"produced_count"`
	ConsumedCount uint64 `json:"consumed_count"`
	DroppedCount  uint64 `json:"dropped_count"`
	Occupancy     [2]int `json:"occupancy"` // [retained values, capacity]

	StageProfiling []StageProfile `json:"stage_profiling,omitempty"`
	SignalStats    []SignalStats  `json:"signal_stats,omitempty"`

	// Beyond AimDB: the state and counters of each link, inbound links
	// first, in the order they were added.
	Links []LinkMetadata `json:"links,omitempty"`

	// Beyond AimDB: the record's persistence, when it has a persister.
	Persist *PersistMetadata `json:"persist,omitempty"`
}

// Records returns the metadata of every record, in registration order.
// It is safe to call at any time, including while the DB runs.
func (db *DB) Records() []RecordMetadata {
	db.mu.Lock()
	defer db.mu.Unlock()
	md := make([]RecordMetadata, 0, db.live)
	for _, c := range db.records {
		if c != nil {
			md = append(md, metadata(c))
		}
	}
	return md
}

// typeIDs caches typeID: Records calls it once per record, and the
// instances of a family share one type.
var typeIDs sync.Map // reflect.Type → string

// typeID names a Go type with its package path.
func typeID(t reflect.Type) string {
	if id, ok := typeIDs.Load(t); ok {
		return id.(string)
	}
	id := t.String()
	if t.PkgPath() != "" && t.Name() != "" {
		id = t.PkgPath() + "." + t.Name()
	}
	typeIDs.Store(t, id)
	return id
}

func metadata(c recordCore) RecordMetadata {
	b := c.base()
	s := c.stats()
	m := RecordMetadata{
		RecordID:      uint32(b.id),
		RecordKey:     b.key,
		Name:          b.typ.String(),
		TypeID:        b.typ.String(),
		Origin:        b.origin(),
		BufferType:    b.cfg.Type(),
		ProducerCount: min(len(b.sources), 1),
		ConsumerCount: len(b.taps),

		OutboundConnectorCount: len(b.linksOut),
		SchemaType:             b.schema.Name,
		SchemaVersion:          b.schema.Version,
		Entity:                 entity(b.key),
		RemoteAccess:           b.remote != nil,
		ProducedCount:          s.Produced,
		ConsumedCount:          s.Consumed,
		DroppedCount:           s.Dropped,
		Occupancy:              [2]int{s.Items, s.Capacity},
	}
	m.TypeID = typeID(b.typ)
	m.Persist = b.persistOf()
	if b.fam != nil {
		m.Family = b.famBase.key
	}
	if b.cfg.kind == "spmc_ring" {
		m.BufferCapacity = b.cfg.capacity
	}
	for _, group := range [][]*stage{b.sources, b.taps} {
		for _, st := range group {
			m.StageProfiling = append(m.StageProfiling, st.profile())
		}
	}
	for _, t := range b.transforms {
		m.StageProfiling = append(m.StageProfiling, t.stage.profile())
	}
	for _, g := range b.gauges {
		m.SignalStats = append(m.SignalStats, g.Stats())
	}
	for _, links := range [][]*link{b.linksIn, b.linksOut} {
		for _, l := range links {
			m.Links = append(m.Links, l.metadata())
		}
	}
	return m
}

// ResetStageProfiling zeroes every stage's timing counters and every
// gauge. Failure counts are kept.
func (db *DB) ResetStageProfiling() {
	db.mu.Lock()
	defer db.mu.Unlock()
	for _, c := range db.nodesLocked() {
		b := c.base()
		for _, st := range b.sources {
			st.reset()
		}
		for _, st := range b.taps {
			st.reset()
		}
		for _, t := range b.transforms {
			t.stage.reset()
		}
		for _, g := range b.gauges {
			g.reset()
		}
	}
}

// ResetBufferMetrics zeroes every buffer's produced, consumed and dropped
// counters. Occupancy is unaffected.
func (db *DB) ResetBufferMetrics() {
	db.mu.Lock()
	records := append([]recordCore(nil), db.records...)
	db.mu.Unlock()
	for _, c := range records {
		if c != nil {
			c.resetStats()
		}
	}
}
