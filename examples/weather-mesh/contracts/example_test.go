package contracts_test

import (
	"fmt"

	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
)

// A version 1 payload in Fahrenheit is migrated to the current contract,
// and a payload without a schema version is rejected.
func Example_temperatureCodec() {
	c := contracts.TemperatureCodec
	t, err := c.Decode([]byte(`{"schema_version":1,"temp":70.5,"timestamp":1754044800000,"unit":"F"}`))
	fmt.Printf("%.2f °C at %d, %v\n", t.Celsius, t.Timestamp, err)

	b, _ := c.Encode(t)
	fmt.Println(string(b))

	_, err = c.Decode([]byte(`{"celsius":21.4,"timestamp":1754044800000}`))
	fmt.Println(err)
	// Output:
	// 21.39 °C at 1754044800000, <nil>
	// {"schema_version":2,"celsius":21.38889,"timestamp":1754044800000}
	// contract "temperature": payload has no version: field "schema_version": missing
}

func ExampleDewPointOf() {
	dp := contracts.DewPointOf(
		contracts.Temperature{Celsius: 21.4, Timestamp: 1754044800000},
		contracts.Humidity{Percent: 58.2, Timestamp: 1754044801000},
	)
	fmt.Printf("%.2f °C at %d\n", dp.Celsius, dp.Timestamp)
	// Output: 13.04 °C at 1754044801000
}

func ExampleParseTopic() {
	slot, kind, err := contracts.ParseTopic("station/7/temperature")
	fmt.Println(slot, kind, err, contracts.KeyName(slot, kind))
	_, _, err = contracts.ParseTopic("station/07/temperature")
	fmt.Println(err)
	// Output:
	// 7 temperature <nil> station.7.temperature
	// contracts: not a weather mesh name: topic "station/07/temperature": slot "07" has a leading zero
}
