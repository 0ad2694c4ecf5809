package codec_test

import (
	"fmt"

	"github.com/aimdb-go/aimdb/codec"
)

// The JSON codec of a contract reads every version, migrates and checks,
// and can write an old version for a peer that needs it.
func ExampleJSONFor() {
	c := codec.JSONFor(temps) // "temperature" v2, v1 migrated (see contract_test.go)

	v, err := c.Decode([]byte(`{"schema_version":1,"temp":50,"timestamp":1754044800000,"unit":"F"}`))
	fmt.Println(v, err)

	b, _ := c.Encode(v)
	fmt.Println(string(b))
	b, _ = c.As(1).Encode(v)
	fmt.Println(string(b))

	_, err = c.Decode([]byte(`{"schema_version":2,"celsius":-300,"timestamp":1754044800000}`))
	fmt.Println(err)
	_, err = c.Decode([]byte(`{"schema_version":2,"celsius":"warm","timestamp":1754044800000}`))
	fmt.Println(err)
	_, err = c.Decode([]byte(`{"celsius":21.5,"timestamp":1754044800000}`))
	fmt.Println(err)
	// Output:
	// {10 1754044800000} <nil>
	// {"schema_version":2,"celsius":10,"timestamp":1754044800000}
	// {"schema_version":1,"temp":10,"timestamp":1754044800000,"unit":"C"}
	// contract "temperature" v2: invalid value: field "celsius": -300 is outside -90 to 70
	// contract "temperature" v2: payload does not decode: field "celsius": want a number (float64), got string
	// contract "temperature": payload has no version: field "schema_version": missing
}

// A contract's payloads declared for TypeScript clients; JSONSchema
// describes the same payloads for validators.
func ExampleTypeScript() {
	ts, err := codec.TypeScript(temps)
	fmt.Println(ts, err)
	// Output:
	// // The JSON payloads of AimDB data contracts: one interface per contract
	// // and version, one union per contract of every version a decoder accepts.
	//
	// /** "temperature" v1 (Go type codec_test.tempV1). */
	// export interface TemperatureV1 {
	//   schema_version: 1;
	//   temp: number;
	//   timestamp: number;
	//   unit?: string | null;
	// }
	//
	// /** "temperature" v2 (Go type codec_test.temp), the current version. */
	// export interface TemperatureV2 {
	//   schema_version: 2;
	//   celsius: number;
	//   timestamp: number;
	// }
	//
	// /** Every version of "temperature" a decoder accepts. */
	// export type Temperature = TemperatureV1 | TemperatureV2;
	//  <nil>
}
