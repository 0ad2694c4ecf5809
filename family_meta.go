package aimdb

// FamilyMetadata describes one record family: its template, and how many
// instances it holds, created, refused and evicted.
type FamilyMetadata struct {
	Template     string `json:"template"`    // the key template, e.g. "station.{id}.temperature"
	Name         string `json:"name"`        // the Go value type
	TypeID       string `json:"type_id"`     // the Go type with its package path
	BufferType   string `json:"buffer_type"` // of every instance
	Instances    int    `json:"instances"`   // live instances
	MaxInstances int    `json:"max_instances"`
	Created      uint64 `json:"created"` // instances created since Run
	Refused      uint64 `json:"refused"` // writes refused because the family was full
	Evicted      uint64 `json:"evicted"` // instances removed after being idle
	// Inbound messages that reached no instance: a topic that does not
	// fill the template, or a payload that failed to decode for an
	// instance that does not exist yet.
	Rejected       uint64 `json:"rejected"`
	IdleEvictionMs int64  `json:"idle_eviction_ms,omitempty"`
	// The family's links, with their connection state; Received counts
	// every message of an inbound link, whichever instance it reached.
	// Each instance's metadata has its own counters.
	Links []LinkMetadata `json:"links,omitempty"`
}

// Families returns the metadata of every record family, in registration
// order.
func (db *DB) Families() []FamilyMetadata {
	db.mu.Lock()
	fams := append([]familyCore(nil), db.families...)
	db.mu.Unlock()
	md := make([]FamilyMetadata, len(fams))
	for i, f := range fams {
		md[i] = f.familyMetadata()
	}
	return md
}
