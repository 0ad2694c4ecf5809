package contract_test

import (
	"errors"
	"fmt"

	"github.com/aimdb-go/aimdb/contract"
)

// Version 1 of a reading was in Fahrenheit; version 2 is in Celsius.
type ReadingV1 struct{ Fahrenheit float64 }

type Reading struct{ Celsius float64 }

func (ReadingV1) Schema() contract.Schema { return contract.Schema{Name: "reading", Version: 1} }
func (Reading) Schema() contract.Schema   { return contract.Schema{Name: "reading", Version: 2} }

// A contract with one migration step and a check. Codecs (codec.JSONFor,
// postcard.For) call Decode with the version they read and a function
// that fills the value of that version; here the fill function stands in
// for a codec.
func ExampleNew() {
	readings := contract.New(contract.Def[Reading]{
		VersionField: "schema_version",
		Steps: []contract.Step{contract.NewStep(
			func(v ReadingV1) (Reading, error) { return Reading{Celsius: (v.Fahrenheit - 32) * 5 / 9}, nil },
			func(v Reading) (ReadingV1, error) { return ReadingV1{Fahrenheit: v.Celsius*9/5 + 32}, nil },
		)},
		Check: func(v Reading) error { return contract.Range("celsius", v.Celsius, -90, 70) },
	})
	fmt.Println(readings.Schema(), readings.Validate())

	v, err := readings.Decode(1, func(p any) error {
		*p.(*ReadingV1) = ReadingV1{Fahrenheit: 212 - 140} // 72 °F
		return nil
	})
	fmt.Printf("%.1f °C %v\n", v.Celsius, err)

	_, err = readings.Decode(1, func(p any) error {
		*p.(*ReadingV1) = ReadingV1{Fahrenheit: 212}
		return nil
	})
	fmt.Println(err, errors.Is(err, contract.ErrInvalid))

	_, err = readings.Decode(3, nil)
	fmt.Println(err)
	// Output:
	// "reading" v2 <nil>
	// 22.2 °C <nil>
	// contract "reading" v2: invalid value: field "celsius": 100 is outside -90 to 70 true
	// contract "reading" v3: version too new: the newest known is v2
}

// A chain declared backwards is refused when the contract is built,
// with every mistake at once.
func ExampleContract_Validate() {
	bad := contract.New(contract.Def[Reading]{
		Steps: []contract.Step{contract.NewStep(
			func(v Reading) (ReadingV1, error) { return ReadingV1{}, nil }, nil,
		)},
	})
	fmt.Println(bad.Validate())
	// Output:
	// contract "reading": migration steps need a VersionField to tell the versions of a payload apart
	// contract "reading": step 1 (contract_test.Reading v2 → contract_test.ReadingV1 v1): a step must go up by exactly one version
	// contract "reading": step 1 (contract_test.Reading v2 → contract_test.ReadingV1 v1) starts at v2; the first step must start at v1
	// contract "reading": the last step (contract_test.Reading v2 → contract_test.ReadingV1 v1) ends at v1; it must end at v2, the version of contract_test.Reading
	// contract "reading": the last step (contract_test.Reading v2 → contract_test.ReadingV1 v1) goes to contract_test.ReadingV1, not to contract_test.Reading
}

// A registry refuses a schema version declared twice.
func ExampleRegistry() {
	var r contract.Registry
	r.Register(contract.New(contract.Def[ReadingV1]{}))
	err := r.Register(contract.New(contract.Def[ReadingV1]{}))
	fmt.Println(err)
	fmt.Println(r.All())
	// Output:
	// contract: schema "reading" v1 registered twice: by contract_test.ReadingV1 and by contract_test.ReadingV1
	// [{"reading" v1 contract_test.ReadingV1}]
}
