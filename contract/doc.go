// Package contract declares data contracts: the schema of a record's
// type, its older versions and the migrations between them, and the
// checks a value must pass, defined once and applied by every codec on
// every path a value enters by (inbound links, remote writes).
//
// # Schemas
//
// A type declares its schema, a name and a version counted from 1, with
// a Schema method. Every version of a contract is its own Go type:
//
//	type TemperatureV1 struct{ Temp float64; Unit string }
//	func (TemperatureV1) Schema() contract.Schema { return contract.Schema{Name: "temperature", Version: 1} }
//
//	type Temperature struct{ Celsius float64 }
//	func (Temperature) Schema() contract.Schema { return contract.Schema{Name: "temperature", Version: 2} }
//
// A Registry indexes the versions of many contracts by (name, version)
// and refuses a pair declared twice.
//
// # Migrations
//
// New builds a Contract from a Def: the current type, the field that
// carries a payload's version, one Step per older version (typed up and
// down functions), and a Check. The chain is validated when the contract
// is built, every mistake at once: steps must go up by one version, be
// consecutive, start at v1, end at the current version and chain in
// type. The codecs built on a contract report those mistakes from their
// Validate method, which the DB calls before it runs.
//
// Decoding reads the version first. A payload without a version, with a
// version newer than the current one, or with version 0 is refused; an
// older one is decoded as its own type and migrated up step by step; the
// result is checked. Encoding can write an older version through the
// down functions, for a peer that speaks only that version.
//
// # Codecs
//
// The package holds no wire format. codec.JSONFor reads and writes a
// contract as JSON, the version field first; package postcard as
// Postcard, the version as the first varint. Both return *Error values
// that name the contract, the version and the field.
package contract
