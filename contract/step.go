package contract

import "fmt"

// A Step migrates values between two consecutive versions of a contract:
// Up from the older type to the newer, Down back. Make one with NewStep;
// the versions are those the two types declare.
type Step struct {
	from, to         Schema
	oldType, newType string
	newOld           func() any               // a new *Old
	isNew            func(p any) bool         // whether p is a *New
	up               func(p any) (any, error) // *Old to *New
	down             func(p any) (any, error) // *New to *Old; nil without a down function
	mistake          string
}

// NewStep returns the step from Old to New. The two types' Schema
// methods give the versions, which New[T] checks: the same name, New
// one version above Old. up must not be nil; down may be, and then
// values cannot be encoded as Old (a link that must speak the old
// version is refused when it encodes).
//
// up and down are pure conversions. Either may refuse a value with an
// error, wrapped with ErrMigrate when it happens.
func NewStep[Old, New SchemaType](up func(Old) (New, error), down func(New) (Old, error)) Step {
	var o Old
	var n New
	s := Step{
		from:    o.Schema(),
		to:      n.Schema(),
		oldType: fmt.Sprintf("%T", o),
		newType: fmt.Sprintf("%T", n),
		newOld:  func() any { return new(Old) },
		isNew:   func(p any) bool { _, ok := p.(*New); return ok },
	}
	if up == nil {
		s.mistake = "nil up function"
	} else {
		s.up = func(p any) (any, error) {
			v, err := up(*p.(*Old))
			return &v, err
		}
	}
	if down != nil {
		s.down = func(p any) (any, error) {
			v, err := down(*p.(*New))
			return &v, err
		}
	}
	return s
}

// String describes the step, as "TemperatureV1 v1 → Temperature v2".
func (s Step) String() string {
	return fmt.Sprintf("%s v%d → %s v%d", s.oldType, s.from.Version, s.newType, s.to.Version)
}
