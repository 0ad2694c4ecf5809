package contract

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// A Schema names one version of a contract: the wire identity of a type.
// Versions count from 1.
type Schema struct {
	Name    string
	Version uint32
}

// String returns the schema as "name v<version>", for example
// "temperature v2".
func (s Schema) String() string {
	return strconv.Quote(s.Name) + " v" + strconv.FormatUint(uint64(s.Version), 10)
}

// A SchemaType is a type that declares its schema. Every version of a
// contract is its own Go type with its own Schema method; the method is
// called on the zero value and must return a constant.
type SchemaType interface {
	Schema() Schema
}

// An Observable is a type that names its signal: the number its
// record's gauge tracks. A record of an Observable type keeps a gauge of
// every value produced (count, last, min, max and mean, in the record's
// signal_stats), without a tap of its own. The gauge is named by
// SignalName when the type has that method, else after the schema.
type Observable interface {
	SchemaType
	// Signal returns the value's signal, such as degrees Celsius.
	Signal() float64
}

// A SignalNamer names an Observable's signal and its unit, such as
// "celsius" and "°C".
type SignalNamer interface {
	SignalName() (name, unit string)
}

// A Simulatable is a type that makes plausible values of itself, for
// development, demos and tests: package sim turns it into a record's
// source. Simulate is called on the previous value, the zero value for
// the first one, and returns the value at time at, drawing its
// randomness from r (a *math/rand/v2.Rand), so that a seeded source
// repeats its values.
type Simulatable[T any] interface {
	SchemaType
	Simulate(r Rand, at time.Time) T
}

// Rand is the source of randomness of Simulate; *math/rand/v2.Rand is
// one.
type Rand interface {
	Float64() float64
	NormFloat64() float64
	Uint64() uint64
}

// A Version is one version of a contract as a Registry sees it: its
// schema and the name of the Go type that holds it.
type Version struct {
	Schema Schema
	Type   string // the Go type, as fmt's %T prints it
}

// A Versioned is what a Registry registers: a contract lists every
// version it reads. *Contract[T] is one.
type Versioned interface {
	Versions() []Version
}

// A Registry indexes contracts by schema name and version, so that tools
// and servers can find a contract from the schema a payload names. A
// (name, version) pair belongs to one Go type: registering it again is a
// configuration error, even for the same type, because two declarations
// of one wire version drift apart.
//
// The zero value is an empty registry. A Registry is not safe for
// concurrent use; fill it at start-up.
type Registry struct {
	byKey map[Schema]Version
	errs  []error
}

// Register adds every version of c. A version already registered is
// refused with an error naming both Go types; the other versions of c
// are still added. The error is also kept for Err.
func (r *Registry) Register(c Versioned) error {
	if r.byKey == nil {
		r.byKey = map[Schema]Version{}
	}
	var errs []error
	for _, v := range c.Versions() {
		if old, ok := r.byKey[v.Schema]; ok {
			err := fmt.Errorf("contract: schema %s registered twice: by %s and by %s", v.Schema, old.Type, v.Type)
			errs = append(errs, err)
			continue
		}
		r.byKey[v.Schema] = v
	}
	r.errs = append(r.errs, errs...)
	return errors.Join(errs...)
}

// Err returns every mistake Register found, or nil.
func (r *Registry) Err() error { return errors.Join(r.errs...) }

// Lookup returns the registered version of schema s.
func (r *Registry) Lookup(s Schema) (Version, bool) {
	v, ok := r.byKey[s]
	return v, ok
}

// All returns every registered version, ordered by name, then version.
func (r *Registry) All() []Version {
	out := make([]Version, 0, len(r.byKey))
	for _, v := range r.byKey {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b Version) int {
		return cmp.Or(cmp.Compare(a.Schema.Name, b.Schema.Name), cmp.Compare(a.Schema.Version, b.Schema.Version))
	})
	return out
}
