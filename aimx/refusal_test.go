package aimx_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb/aimx"
)

// TestGetNoValue checks that record.get tells a record that holds no
// value yet from an unknown key, and that a record.set value that does
// not decode is refused invalid_params with the codec's reason, over TCP
// and a Unix socket.
func TestGetNoValue(t *testing.T) {
	f := startFixture(t, &aimx.ServerOptions{Policy: aimx.ReadWrite("cfg")})
	for _, ep := range []string{f.tcp, f.uds} {
		c := dial(t, ep, nil)
		ctx := testCtx(t)
		for _, key := range []string{"cfg", "cmd.box"} { // a latest record, a mailbox
			_, err := c.Get(ctx, key)
			if !errors.Is(err, aimx.ErrNoValue) || errors.Is(err, aimx.ErrNotFound) {
				t.Errorf("%s: get %s: %v; want ErrNoValue, not ErrNotFound", ep, key, err)
			}
			if want := `aimx: record.get "` + key + `": the record has no value yet (not_found: no_value)`; err == nil || err.Error() != want {
				t.Errorf("%s: get %s: %v; want %s", ep, key, err, want)
			}
		}
		_, err := c.Get(ctx, "nope")
		if !errors.Is(err, aimx.ErrNotFound) || errors.Is(err, aimx.ErrNoValue) {
			t.Errorf("%s: get nope: %v; want ErrNotFound, not ErrNoValue", ep, err)
		}

		for _, bad := range []string{`{"level":"high"}`, `"9"`, `[1]`} {
			_, err = c.Set(ctx, "cfg", json.RawMessage(bad))
			var ae *aimx.Error
			if !errors.Is(err, aimx.ErrInvalidParams) || !errors.As(err, &ae) ||
				!strings.HasPrefix(ae.Message, "the value does not decode into the record's type: json: cannot unmarshal ") {
				t.Errorf("%s: set cfg %s: %v; want invalid_params with the codec's reason", ep, bad, err)
			}
		}
		if _, err := c.Get(ctx, "cfg"); !errors.Is(err, aimx.ErrNoValue) {
			t.Errorf("%s: a refused set changed cfg: %v", ep, err)
		}
	}
}
