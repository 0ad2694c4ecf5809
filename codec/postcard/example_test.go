package postcard_test

import (
	"fmt"

	"github.com/aimdb-go/aimdb/codec/postcard"
)

// A type writes its fields in order by hand; the contract codec puts the
// version in front (see weather_test.go for the types and the contract).
func ExampleFor() {
	b, err := temperatures.Encode(temperatureV2{Celsius: 21.5, Timestamp: 1754044800000})
	fmt.Printf("% x %v\n", b, err)

	v, err := temperatures.Decode(b)
	fmt.Println(v, err)

	// A Rust station still on version 1 sends 50 °F.
	v, err = temperatures.Decode([]byte{0x01, 0x00, 0x00, 0x48, 0x42, 0x00, 0x01, 'F'})
	fmt.Println(v, err)

	_, err = temperatures.Decode(b[:3])
	fmt.Println(err)
	// Output:
	// 02 00 00 ac 41 80 b8 de a9 86 33 <nil>
	// {21.5 1754044800000} <nil>
	// {10 0} <nil>
	// contract "temperature" v2: payload does not decode: postcard: field "celsius" at byte 1: truncated: f32 needs 4 bytes, 2 left
}

// An Encoder appends to a buffer it is given; reused, it allocates
// nothing.
func ExampleEncoder() {
	buf := make([]byte, 0, 32)
	e := postcard.NewEncoder(buf)
	e.U16(300)
	e.I32(-2)
	e.Str("ok")
	e.Option(false)
	fmt.Printf("% x\n", e.Bytes())

	d := postcard.NewDecoder(e.Bytes())
	fmt.Println(d.U16(), d.I32(), d.Str(), d.Option(), d.Err())
	// Output:
	// ac 02 03 02 6f 6b 00
	// 300 -2 ok false <nil>
}
