package aimx

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestWatcherDecode checks that a Watcher's reused decoder decodes each
// value as json.Unmarshal does, errors included, from value to value.
func TestWatcherDecode(t *testing.T) {
	type point struct {
		X    float64           `json:"x"`
		Name string            `json:"name"`
		Tags map[string]string `json:"tags"`
		Opt  *int              `json:"opt"`
	}
	values := []string{
		`{"x":1,"name":"a","tags":{"k":"v"},"opt":3}`, `{"x":2}`, `{"name":"b"}`, `{"x":"not a number"}`,
		`{"x":3,"tags":{"other":"w"}}`, `[1]`, `{"x":4}`, "{\"x\" :\n 5 } ", `null`, `{"x":6}`,
	}
	var w Watcher[point]
	for _, v := range values {
		got, gotErr := w.decode([]byte(v))
		var want point
		wantErr := json.Unmarshal([]byte(v), &want)
		if !reflect.DeepEqual(got, want) || (gotErr == nil) != (wantErr == nil) {
			t.Errorf("%s: decoded %+v, %v; Unmarshal %+v, %v", v, got, gotErr, want, wantErr)
		}
	}
	var n Watcher[float64]
	for _, v := range []string{`1`, `2.5`, `"x"`, `3`, ` 4 `} {
		got, gotErr := n.decode([]byte(v))
		var want float64
		wantErr := json.Unmarshal([]byte(v), &want)
		if got != want || (gotErr == nil) != (wantErr == nil) {
			t.Errorf("%s: decoded %v, %v; Unmarshal %v, %v", v, got, gotErr, want, wantErr)
		}
	}
	v := []byte(`{"x":7}`)
	allocs := testing.AllocsPerRun(100, func() { w.decode(v) })
	if allocs != 0 {
		t.Errorf("%v allocations per value, want 0", allocs)
	}
}
