package mesh

import (
	"fmt"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
)

// A Wire is the payload encoding of the mesh's MQTT messages: JSON (the
// default, upstream's) or Postcard (upstream's compact binary, for
// microcontrollers). Stations and hub of one mesh must agree; a payload
// in the other encoding is refused and counted as a decode error.
type Wire string

// The wires.
const (
	JSON     Wire = "json"
	Postcard Wire = "postcard"
)

// ParseWire returns the wire named s: "json" (or "") or "postcard".
func ParseWire(s string) (Wire, error) {
	switch Wire(s) {
	case "", JSON:
		return JSON, nil
	case Postcard:
		return Postcard, nil
	}
	return "", fmt.Errorf("mesh: codec %q: want json or postcard", s)
}

// codecs returns the link codecs of w.
func (w Wire) codecs() (aimdb.Codec[contracts.Temperature], aimdb.Codec[contracts.Humidity], error) {
	switch w {
	case "", JSON:
		return contracts.TemperatureCodec, contracts.HumidityCodec, nil
	case Postcard:
		return contracts.TemperaturePostcard, contracts.HumidityPostcard, nil
	}
	return nil, nil, fmt.Errorf("mesh: codec %q: want json or postcard", string(w))
}
