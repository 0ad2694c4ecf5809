package contracts

import (
	"math"
	"strconv"

	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/contract"
)

// The range of a plausible temperature: a reading outside it is a broken
// sensor or a wrong unit, and is refused.
const (
	MinCelsius = -90.0
	MaxCelsius = 70.0
)

// The data contracts of the mesh's payloads (package contract): their
// schema names and versions, the migration of a version 1 temperature,
// and the values they refuse.
var (
	// TemperatureContract is "temperature" v2. Payloads carry a
	// schema_version; version 1 is migrated (see [TemperatureV1.Migrate])
	// and can be written for an old peer. A temperature must be finite
	// and within MinCelsius to MaxCelsius.
	TemperatureContract = contract.New(contract.Def[Temperature]{
		VersionField: "schema_version",
		Steps:        []contract.Step{contract.NewStep(migrateV1, downgradeV1)},
		Limits: []contract.Limit[Temperature]{
			contract.Between("celsius", MinCelsius, MaxCelsius, func(t Temperature) float64 { return float64(t.Celsius) }),
		},
	})

	// HumidityContract is "humidity" v1, without a version field: a
	// relative humidity from 0 to 100 %.
	HumidityContract = contract.New(contract.Def[Humidity]{
		Limits: []contract.Limit[Humidity]{
			contract.Between("percent", 0, 100, func(h Humidity) float64 { return float64(h.Percent) }),
		},
	})

	// DewPointContract is "dew_point" v1, without a version field: a
	// finite temperature.
	DewPointContract = contract.New(contract.Def[DewPoint]{
		Limits: []contract.Limit[DewPoint]{
			contract.Between("celsius", math.Inf(-1), math.Inf(1), func(d DewPoint) float64 { return float64(d.Celsius) }),
		},
	})
)

// All lists the mesh's contracts, for the hub's AimX server
// (aimx.ServerOptions.Contracts): schema.list and GET /schemas describe
// them.
var All = []contract.Versioned{TemperatureContract, HumidityContract, DewPointContract}

// The link and remote-access codecs of the mesh's records: JSON by the
// contracts. Decode refuses, with a *contract.Error naming the contract,
// the version and the field: a payload that is not a JSON object, a
// temperature without a schema_version or with a version other than 1
// or 2, a missing or null field (unit is optional), a field of the
// wrong JSON type (a negative or fractional timestamp, a quoted number),
// and a value the contract refuses. Unknown fields are ignored, as
// upstream does.
var (
	TemperatureCodec = codec.JSONFor(TemperatureContract)
	HumidityCodec    = codec.JSONFor(HumidityContract)
	DewPointCodec    = codec.JSONFor(DewPointContract)
)

// Schema returns the contract's schema: "temperature" v2.
func (Temperature) Schema() contract.Schema { return contract.Schema{Name: "temperature", Version: 2} }

// Schema returns "temperature" v1.
func (TemperatureV1) Schema() contract.Schema {
	return contract.Schema{Name: "temperature", Version: 1}
}

// Schema returns "humidity" v1.
func (Humidity) Schema() contract.Schema { return contract.Schema{Name: "humidity", Version: 1} }

// Schema returns "dew_point" v1.
func (DewPoint) Schema() contract.Schema { return contract.Schema{Name: "dew_point", Version: 1} }

func migrateV1(v TemperatureV1) (Temperature, error) { return v.Migrate(), nil }

func downgradeV1(t Temperature) (TemperatureV1, error) {
	return TemperatureV1{Temp: widen(t.Celsius), Timestamp: t.Timestamp, Unit: "C"}, nil
}

// widen returns the float64 with the shortest decimal form of f: the
// number a reader of f's JSON sees, 21.4 for float32(21.4), not
// 21.399999618530273.
func widen(f float32) float64 {
	w, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	return w
}

// Signal returns the temperature in degrees Celsius: a hub record's gauge
// (contract.Observable) tracks it.
func (t Temperature) Signal() float64 { return float64(t.Celsius) }

// SignalName names the signal: celsius, in °C.
func (Temperature) SignalName() (name, unit string) { return "celsius", "°C" }

// Signal returns the relative humidity in percent.
func (h Humidity) Signal() float64 { return float64(h.Percent) }

// SignalName names the signal: percent, in %.
func (Humidity) SignalName() (name, unit string) { return "percent", "%" }

// Signal returns the dew point in degrees Celsius.
func (d DewPoint) Signal() float64 { return float64(d.Celsius) }

// SignalName names the signal: celsius, in °C.
func (DewPoint) SignalName() (name, unit string) { return "celsius", "°C" }
