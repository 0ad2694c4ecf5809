package main

import (
	"slices"
	"testing"
)

func TestStation(t *testing.T) {
	var got []string
	n, err := run(t.Context(), func(line string) { got = append(got, line) })
	if err != nil {
		t.Fatalf("run() = %v", err)
	}
	want := []string{
		"temp 19.93 C", "temp 20.17 C", "temp 20.49 C",
		"temp 20.89 C", "temp 21.22 C", "temp 21.62 C", "temp 21.94 C",
	}
	if n != len(want) || !slices.Equal(got, want) {
		t.Errorf("run() = %d temperatures, logged\n%q\nwant\n%q", n, got, want)
	}
}

func TestCenti(t *testing.T) {
	for c, want := range map[int32]string{2089: "20.89", 5: "0.05", -5: "-0.05", -1230: "-12.30", 0: "0.00"} {
		if got := centi(c); got != want {
			t.Errorf("centi(%d) = %q; want %q", c, got, want)
		}
	}
}
