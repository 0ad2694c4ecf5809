package nats_test

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/nats"
	"github.com/nats-io/nats-server/v2/server"
)

func TestLinkURLCredentialsRefused(t *testing.T) {
	d, err := nats.NewDialer("nats://127.0.0.1:4222", nats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ url, want string }{
		{"nats://a.b?token=s3cret", `"token" carries credentials`},
		{"nats://a.b?user=u&password=p", "carries credentials"},
		{"nats://a.b?creds=/x.creds", `"creds" carries credentials`},
		{"nats://a.b?nkey=SUAX", `"nkey" carries credentials`},
		{"nats://u:p@a.b", "userinfo"},
		{"nats://a.b?qos=1", `unknown NATS link parameter "qos"`},
		{"nats://a.*.b", "wildcard"},
		{"nats://a..b", "empty token"},
		{"nats://a.b>", "whole tokens"},
		{"nats://a.b?jetstream=yes", `jetstream "yes"`},
		{"nats://a.b?queue=hubs", "inbound links only"},
		{"nats://a.b?stream=S", "inbound links only"},
	} {
		db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"nats": d}})
		r, err := aimdb.Register(db, aimdb.NewKey[string]("x"), aimdb.Ring(16))
		if err != nil {
			t.Fatal(err)
		}
		r.LinkTo(tc.url, codec.String{})
		err = db.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LinkTo(%q): Validate() = %v; want an error containing %q", tc.url, err, tc.want)
		}
	}
	for _, tc := range []struct{ url, want string }{
		{"nats://a.>.b", "last token"},
		{"nats://a.b?deliver=all", "need jetstream=true"},
		{"nats://a.b?jetstream=true&deliver=first", `deliver "first"`},
		{"nats://a.b?queue=bad.name", `queue "bad.name"`},
	} {
		db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"nats": d}})
		r, err := aimdb.Register(db, aimdb.NewKey[string]("x"), aimdb.Ring(16))
		if err != nil {
			t.Fatal(err)
		}
		r.LinkFrom(tc.url, codec.String{})
		if err := db.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LinkFrom(%q): Validate() = %v; want an error containing %q", tc.url, err, tc.want)
		}
	}
}

func TestNewDialerErrors(t *testing.T) {
	for _, tc := range []struct {
		url  string
		o    nats.Options
		want string
	}{
		{"mqtt://h:1", nats.Options{}, `scheme "mqtt"`},
		{"nats://", nats.Options{}, "no host"},
		{"nats://h:99999", nats.Options{}, "out of range"},
		{"nats://h/path", nats.Options{}, "must be scheme"},
		{"nats://h", nats.Options{Token: "t", User: "u"}, "one kind of credentials"},
		{"nats://h", nats.Options{Group: "a.b"}, `group "a.b"`},
		{"nats://h", nats.Options{NKeySeedFile: "/nonexistent"}, "NKey seed file"},
		{"nats://h", nats.Options{CAFile: "/nonexistent"}, "CA file"},
	} {
		if _, err := nats.NewDialer(tc.url, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewDialer(%q, %+v) = %v; want an error containing %q", tc.url, tc.o, err, tc.want)
		}
	}
	d, err := nats.NewDialer("nats://user:pw-s3cret@h:4222,tls://h2", nats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s := d.String() + d.GoString(); strings.Contains(s, "s3cret") || !strings.Contains(s, "nats://h:4222,tls://h2") {
		t.Errorf("String, GoString = %q; want the servers without the password", s)
	}
}

// roundTrip links a sender and a receiver DB through dialers tx and rx
// and checks that one value arrives; it returns the receiver's link
// error if it never connects.
func roundTrip(t *testing.T, tx, rx connector.Dialer, params string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	newDB := func(d connector.Dialer) *aimdb.DB {
		return aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"nats": d},
			ReconnectBackoff: 20 * time.Millisecond, MaxReconnectBackoff: 200 * time.Millisecond})
	}
	rdb, sdb := newDB(rx), newDB(tx)
	in, _ := aimdb.Register(rdb, aimdb.NewKey[string]("in"), aimdb.Ring(16))
	in.LinkFrom("nats://aimdbct.secure"+params, codec.String{})
	sub, err := in.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	out, _ := aimdb.Register(sdb, aimdb.NewKey[string]("out"), aimdb.Ring(16))
	out.LinkTo("nats://aimdbct.secure"+params, codec.String{})
	done := make(chan error, 2)
	go func() { done <- rdb.Run(ctx) }()
	go func() { done <- sdb.Run(ctx) }()
	defer func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	}()
	<-rdb.Started()
	<-sdb.Started()
	connectortest.WaitLink(t, rdb, "in", 0, 20*time.Second, "connected", func(md aimdb.LinkMetadata) bool { return md.Connected })
	connectortest.WaitLink(t, sdb, "out", 0, 20*time.Second, "connected", func(md aimdb.LinkMetadata) bool { return md.Connected })
	if err := out.Produce("hello"); err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	defer rcancel()
	if v, err := sub.Recv(rctx); err != nil || v != "hello" {
		t.Fatalf("Recv = %q, %v; want hello", v, err)
	}
}

func TestTokenAndUserAuth(t *testing.T) {
	p := startInproc(t, func(o *server.Options) { o.Authorization = "tok-s3cret" })
	good := dialer(t, p, nats.Options{Token: "tok-s3cret"})
	roundTrip(t, good, dialer(t, p, nats.Options{Token: "tok-s3cret"}), "?jetstream=true")

	bad := dialer(t, p, nats.Options{Token: "wrong"})
	if _, err := bad.Dial(context.Background()); err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Errorf("Dial with a wrong token = %v; want an authorization error", err)
	} else if strings.Contains(err.Error(), "wrong") {
		t.Errorf("Dial error repeats the token: %v", err)
	}

	pu := startInproc(t, func(o *server.Options) { o.Username, o.Password = "hub", "pw-s3cret" })
	roundTrip(t, dialer(t, pu, nats.Options{User: "hub", Password: "pw-s3cret"}), dialer(t, pu, nats.Options{User: "hub", Password: "pw-s3cret"}), "")
}

func TestTLS(t *testing.T) {
	pki := newTestPKI(t)
	p := startInproc(t, func(o *server.Options) {
		cfg, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, CaFile: pki.CA, Verify: true})
		if err != nil {
			t.Fatal(err)
		}
		o.TLSConfig, o.TLSVerify, o.TLSTimeout = cfg, true, 5
	})
	o := nats.Options{CAFile: pki.CA, CertFile: pki.ClientCert, KeyFile: pki.ClientKey}
	roundTrip(t, dialer(t, p, o), dialer(t, p, o), "?jetstream=true")

	// Without the client certificate the server refuses the handshake.
	nocert := dialer(t, p, nats.Options{TLSConfig: &tls.Config{RootCAs: mustPool(t, pki.CA), MinVersion: tls.VersionTLS12}})
	if _, err := nocert.Dial(context.Background()); err == nil {
		t.Error("Dial without a client certificate succeeded")
	}
}
