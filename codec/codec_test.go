package codec_test

import (
	"testing"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/codec"
)

type reading struct {
	Celsius float64 `json:"celsius"`
	Station string  `json:"station,omitempty"`
}

var (
	_ aimdb.Codec[reading] = codec.JSON[reading]{}
	_ aimdb.Codec[[]byte]  = codec.Bytes{}
	_ aimdb.Codec[string]  = codec.String{}

	_ aimdb.AppendEncoder[reading] = codec.JSON[reading]{}
	_ aimdb.AppendEncoder[reading] = codec.StrictJSON[reading]{}
	_ aimdb.AppendEncoder[[]byte]  = codec.Bytes{}
	_ aimdb.AppendEncoder[string]  = codec.String{}
)

// TestAppendEncode: AppendEncode appends exactly what Encode returns,
// HTML escaping and errors included, and reuses the caller's buffer.
func TestAppendEncode(t *testing.T) {
	type odd struct {
		S string   `json:"s"`
		C chan int `json:"c,omitempty"`
	}
	for _, v := range []odd{{S: "<a&b>"}, {S: "é\u2028"}, {C: make(chan int)}} {
		want, wantErr := codec.JSON[odd]{}.Encode(v)
		got, err := codec.JSON[odd]{}.AppendEncode([]byte("prefix:"), v)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%+v: AppendEncode error %v; Encode error %v", v, err, wantErr)
		}
		if err == nil && string(got) != "prefix:"+string(want) {
			t.Errorf("AppendEncode = %s; want prefix:%s", got, want)
		}
	}
	if got, _ := (codec.String{}).AppendEncode([]byte("a"), "bc"); string(got) != "abc" {
		t.Errorf("String.AppendEncode = %q", got)
	}
	if got, _ := (codec.Bytes{}).AppendEncode([]byte("a"), []byte("bc")); string(got) != "abc" {
		t.Errorf("Bytes.AppendEncode = %q", got)
	}
}

func TestJSON(t *testing.T) {
	tests := []struct {
		name string
		in   reading
		want string
	}{
		{"all fields", reading{21.5, "s1"}, `{"celsius":21.5,"station":"s1"}`},
		{"omitted", reading{Celsius: -3}, `{"celsius":-3}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := codec.JSON[reading]{}.Encode(tt.in)
			if err != nil || string(b) != tt.want {
				t.Fatalf("Encode = %s, %v; want %s", b, err, tt.want)
			}
			got, err := codec.JSON[reading]{}.Decode(b)
			if err != nil || got != tt.in {
				t.Fatalf("Decode = %+v, %v; want %+v", got, err, tt.in)
			}
		})
	}
	if _, err := (codec.JSON[reading]{}).Decode([]byte("{")); err == nil {
		t.Error("Decode of a truncated payload succeeded")
	}
}

func TestBytesCopies(t *testing.T) {
	in := []byte("abc")
	out, _ := codec.Bytes{}.Decode(in)
	in[0] = 'x'
	if string(out) != "abc" {
		t.Errorf("Decode aliases its input: %q", out)
	}
}

func FuzzJSONDecode(f *testing.F) {
	f.Add([]byte(`{"celsius":1}`))
	f.Add([]byte(`nul`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := codec.JSON[reading]{}.Decode(b)
		if err != nil {
			return
		}
		if _, err := (codec.JSON[reading]{}).Encode(v); err != nil {
			t.Fatalf("re-encode of %+v: %v", v, err)
		}
	})
}

func TestStrictJSON(t *testing.T) {
	type cmd struct {
		Target float64 `json:"target"`
	}
	c := codec.StrictJSON[cmd]{}
	if v, err := c.Decode([]byte(`{"target": 21.5}`)); err != nil || v.Target != 21.5 {
		t.Fatalf("Decode(valid) = %+v, %v", v, err)
	}
	for _, bad := range []string{`{"targte": 21.5}`, `{"target": 1} {"target": 2}`, `{"target": "x"}`, ``, `{`} {
		if v, err := c.Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%q) = %+v, nil; want an error", bad, v)
		}
	}
	if _, err := (codec.JSON[cmd]{}).Decode([]byte(`{"targte": 21.5}`)); err != nil {
		t.Errorf("JSON (lenient) refused an unknown field: %v", err)
	}
	b, err := c.Encode(cmd{Target: 3})
	if err != nil || string(b) != `{"target":3}` {
		t.Errorf("Encode = %s, %v", b, err)
	}
}
