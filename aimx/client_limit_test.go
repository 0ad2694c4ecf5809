package aimx_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb/aimx"
)

// TestClientFrameLimit checks that a request over the frame limit fails
// alone, naming the limit, and is never sent: the connection, and calls
// on it, carry on.
func TestClientFrameLimit(t *testing.T) {
	f := startFixture(t, &aimx.ServerOptions{Policy: aimx.ReadWrite("cfg", "cmd.box")})
	huge := json.RawMessage(`"` + strings.Repeat("x", 70_000) + `"`)
	for _, ep := range []string{f.tcp, f.uds} {
		t.Run(ep[:3], func(t *testing.T) {
			ctx := testCtx(t)
			before := f.srv.Stats()
			c := dial(t, ep, nil)
			// A subscription on the connection outlives the refused calls.
			s, err := c.Subscribe(ctx, "cfg")
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()

			_, err = c.Set(ctx, "cmd.box", huge)
			if want := "aimx: record.set: request of 700"; err == nil || !strings.HasPrefix(err.Error(), want) ||
				!strings.HasSuffix(err.Error(), " bytes exceeds the 64 KiB frame limit") || !errors.Is(err, aimx.ErrFrameTooLarge) {
				t.Errorf("Set of a 70 000-byte value: %v", err)
			}
			if err := c.Write(ctx, "cmd.box", huge); err == nil || !strings.Contains(err.Error(), `write "cmd.box": request of`) || !errors.Is(err, aimx.ErrFrameTooLarge) {
				t.Errorf("Write of a 70 000-byte value: %v", err)
			}

			res, err := c.Set(ctx, "cfg", json.RawMessage(`{"level":7}`))
			if err != nil || res.Status != "success" {
				t.Fatalf("Set after the refused one: %+v, %v", res, err)
			}
			u, err := s.Next(ctx)
			if err != nil || string(u.Data) != `{"level":7}` {
				t.Errorf("subscription after the refused call: %+v, %v", u, err)
			}
			if st := f.srv.Stats(); st.Accepted != before.Accepted+1 || st.Oversize != before.Oversize {
				t.Errorf("server stats: accepted %d → %d, oversize %d → %d: the connection was dropped", before.Accepted, st.Accepted, before.Oversize, st.Oversize)
			}
		})
	}
	// A client told of a bigger cap sends up to it (the server refuses
	// what is over its own).
	c := dial(t, f.tcp, &aimx.ClientOptions{MaxFrame: 1000})
	if _, err := c.Set(testCtx(t), "cmd.box", json.RawMessage(`"`+strings.Repeat("x", 1000)+`"`)); err == nil || !strings.HasSuffix(err.Error(), "exceeds the 1000-byte frame limit") {
		t.Errorf("Set over a MaxFrame of 1000: %v", err)
	}
}
