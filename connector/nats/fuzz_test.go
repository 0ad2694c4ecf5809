package nats_test

import (
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/nats"
)

// FuzzValidateLink feeds link URLs to the Dialer's link check: it never
// panics, refuses every credential parameter, and accepts only subjects
// CheckSubject accepts.
func FuzzValidateLink(f *testing.F) {
	for _, s := range []string{"nats://a.b", "nats://station.*.temperature?jetstream=true&queue=hubs", "nats://a.>?deliver=all&jetstream=true",
		"nats://a.b?token=x", "nats://a..b", "nats://a.b>", "nats://a?stream=S&jetstream=true"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	d, err := nats.NewDialer("nats://127.0.0.1:4222", nats.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string, inbound bool) {
		l, err := connector.ParseLink(raw)
		if err != nil {
			return
		}
		l.Inbound = inbound
		err = d.ValidateLink(l)
		if err != nil {
			return
		}
		if cerr := nats.CheckSubject(l.Topic, inbound); cerr != nil {
			t.Fatalf("link %q accepted with a subject CheckSubject refuses: %v", raw, cerr)
		}
		for k := range l.Params {
			switch strings.ToLower(k) {
			case "token", "password", "user", "nkey", "creds", "seed", "jwt":
				t.Fatalf("link %q with credential parameter %q accepted", raw, k)
			}
		}
		if !inbound && strings.ContainsAny(l.Topic, "*>") {
			t.Fatalf("outbound link %q with a wildcard accepted", raw)
		}
	})
}
