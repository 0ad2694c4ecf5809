package knx_test

import (
	"fmt"

	"github.com/aimdb-go/aimdb/connector/knx"
)

// The DPT codecs turn values into telegram payloads and back.
func Example_dpt() {
	b, _ := knx.Temperature.Encode(21.5) // DPT 9.001
	fmt.Printf("% x\n", b)
	v, _ := knx.Temperature.Decode(b)
	fmt.Println(v)
	p, _ := knx.Percent{}.Encode(48) // DPT 5.001
	fmt.Println(p[0])
	_, err := knx.Temperature.Decode([]byte{0x0c}) // a truncated telegram
	fmt.Println(err)
	// Output:
	// 0c 33
	// 21.5
	// 122
	// knx: DPT 9.001: want 2 bytes, have 1
}

func ExampleParseGroupAddress() {
	a, _ := knx.ParseGroupAddress("9/1/0")
	b, _ := knx.ParseGroupAddress("1/2047") // two-level form
	fmt.Println(a, uint16(a), b)
	// Output: 9/1/0 18688 1/7/255
}
