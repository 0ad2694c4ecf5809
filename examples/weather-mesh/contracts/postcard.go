package contracts

import "github.com/aimdb-go/aimdb/codec/postcard"

// The Postcard codecs of the mesh's payloads (package codec/postcard),
// byte-compatible with upstream's weather contracts under Rust's postcard
// 1.x: a temperature is its schema_version (u32 varint), celsius (f32,
// little-endian) and timestamp (u64 varint); a humidity is percent and
// timestamp; a dew point is celsius and timestamp. They check and
// migrate as the JSON codecs do.
var (
	TemperaturePostcard = postcard.For(TemperatureContract)
	HumidityPostcard    = postcard.For(HumidityContract)
	DewPointPostcard    = postcard.For(DewPointContract)
)

// MarshalPostcard writes celsius and timestamp (the codec writes the
// version before them).
func (t Temperature) MarshalPostcard(e *postcard.Encoder) {
	e.F32(t.Celsius)
	e.U64(t.Timestamp)
}

// UnmarshalPostcard reads what MarshalPostcard writes.
func (t *Temperature) UnmarshalPostcard(d *postcard.Decoder) error {
	t.Celsius = d.Field("celsius").F32()
	t.Timestamp = d.Field("timestamp").U64()
	return d.Err()
}

// MarshalPostcard writes temp (f32), timestamp and unit (a string).
func (t TemperatureV1) MarshalPostcard(e *postcard.Encoder) {
	e.F32(float32(t.Temp))
	e.U64(t.Timestamp)
	e.Str(t.Unit)
}

// UnmarshalPostcard reads what MarshalPostcard writes.
func (t *TemperatureV1) UnmarshalPostcard(d *postcard.Decoder) error {
	t.Temp = widen(d.Field("temp").F32())
	t.Timestamp = d.Field("timestamp").U64()
	t.Unit = d.Field("unit").Str()
	return d.Err()
}

// MarshalPostcard writes percent and timestamp.
func (h Humidity) MarshalPostcard(e *postcard.Encoder) {
	e.F32(h.Percent)
	e.U64(h.Timestamp)
}

// UnmarshalPostcard reads what MarshalPostcard writes.
func (h *Humidity) UnmarshalPostcard(d *postcard.Decoder) error {
	h.Percent = d.Field("percent").F32()
	h.Timestamp = d.Field("timestamp").U64()
	return d.Err()
}

// MarshalPostcard writes celsius and timestamp.
func (p DewPoint) MarshalPostcard(e *postcard.Encoder) {
	e.F32(p.Celsius)
	e.U64(p.Timestamp)
}

// UnmarshalPostcard reads what MarshalPostcard writes.
func (p *DewPoint) UnmarshalPostcard(d *postcard.Decoder) error {
	p.Celsius = d.Field("celsius").F32()
	p.Timestamp = d.Field("timestamp").U64()
	return d.Err()
}
