package contract

import (
	"fmt"
	"math"
)

// A Limit bounds one numeric field of a contract's current type: a value
// whose field is not a finite number from Min to Max is refused, as a
// Check would refuse it. Unlike a Check, a limit is data: exports
// (codec.JSONSchema, codec.TypeScript) publish it, so a browser or
// another service refuses what the contract refuses. Make one with
// Between.
type Limit[T any] struct {
	Bound
	get func(T) float64
}

// A Bound is a Limit as exports see it: the field, by its wire name, and
// its inclusive range. An infinite Min or Max bounds one side only.
type Bound struct {
	Field    string
	Min, Max float64
}

// Between returns the limit of the field named field (its name on the
// wire), whose value get returns: a finite number from lo to hi
// inclusive. Use math.Inf(-1) or math.Inf(1) for a field bounded on one
// side, both for a field that must only be finite.
func Between[T any](field string, lo, hi float64, get func(T) float64) Limit[T] {
	return Limit[T]{Bound: Bound{Field: field, Min: lo, Max: hi}, get: get}
}

// check applies l to v.
func (l Limit[T]) check(v T) error { return Range(l.Field, l.get(v), l.Min, l.Max) }

// mistake describes what is wrong with l's declaration, or "".
func (l Limit[T]) mistake() string {
	switch {
	case l.Field == "":
		return "a limit names no field"
	case l.get == nil:
		return fmt.Sprintf("the limit of %q has no value function (make limits with Between)", l.Field)
	case math.IsNaN(l.Min) || math.IsNaN(l.Max) || l.Min > l.Max:
		return fmt.Sprintf("the limit of %q is %v to %v, which no number is within", l.Field, l.Min, l.Max)
	}
	return ""
}

// Bounds returns the contract's limits, in the order declared.
func (c *Contract[T]) Bounds() []Bound {
	out := make([]Bound, len(c.limits))
	for i, l := range c.limits {
		out[i] = l.Bound
	}
	return out
}
