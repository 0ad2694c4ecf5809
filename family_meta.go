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
}

// Families returns the metadata of every record family, in registration
// order.
func (db *DB) Families() []FamilyMetadata {
	return []FamilyMetadata{}
}
