package mqtt_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/mqtt"
)

func TestNewDialer(t *testing.T) {
	tests := []struct {
		url, want, err string
	}{
		{url: "mqtt://localhost", want: "mqtt://localhost"},
		{url: "mqtt://user:s3cret@broker:1884", want: "mqtt://broker:1884"},
		{url: "mqtts://user:s3cret@broker", want: "mqtts://broker"},
		{url: "mqtt://[::1]:1883", want: "mqtt://[::1]:1883"},
		{url: "tcp://broker", err: "want mqtt or mqtts"},
		{url: "mqtt://", err: "no host"},
		{url: "mqtt://broker/topic", err: "must be scheme://"},
		{url: "mqtt://broker?x=1", err: "must be scheme://"},
		{url: "mqtt://broker:99999", err: "out of range"},
		{url: "mqtt://user:s3cret%zz@broker", err: "malformed broker URL"},
		{url: "mqtt://user:s3 cret@bro ker", err: "malformed broker URL"},
	}
	for _, tt := range tests {
		d, err := mqtt.NewDialer(tt.url, mqtt.Options{})
		if err != nil && strings.Contains(err.Error(), "s3") {
			t.Errorf("NewDialer(%q) error repeats the password: %v", tt.url, err)
		}
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("NewDialer(%q) = %v; want error containing %q", tt.url, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewDialer(%q): %v", tt.url, err)
			continue
		}
		for _, s := range []string{d.String(), d.GoString()} {
			if !strings.Contains(s, tt.want) || strings.Contains(s, "s3cret") {
				t.Errorf("NewDialer(%q) shows as %q; want %q", tt.url, s, tt.want)
			}
		}
		if !strings.HasPrefix(d.ClientID(), "aimdb-") || len(d.ClientID()) != len("aimdb-")+16 {
			t.Errorf("default client id %q", d.ClientID())
		}
	}
	if _, err := mqtt.NewDialer("mqtt://h", mqtt.Options{CAFile: "x"}); err == nil {
		t.Error("TLS options accepted for mqtt://")
	}
	if _, err := mqtt.NewDialer("mqtts://h", mqtt.Options{CAFile: "/nonexistent"}); err == nil {
		t.Error("missing CA file accepted")
	}
	d, _ := mqtt.NewDialer("mqtt://h", mqtt.Options{ClientID: "edge-1"})
	if d.ClientID() != "edge-1" {
		t.Errorf("ClientID = %q", d.ClientID())
	}
}

func FuzzNewDialer(f *testing.F) {
	for _, s := range []string{"mqtt://u:p@h:1", "mqtts://h", "mqtt://u:p%zz@h", "mqtt://[::1", "mqtt://u:pw@h/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		d, err := mqtt.NewDialer(raw, mqtt.Options{})
		_, rest, _ := strings.Cut(raw, "://")
		auth, _, _ := strings.Cut(rest, "/")
		i := strings.LastIndex(auth, "@")
		if i < 0 {
			return
		}
		_, pass, ok := strings.Cut(auth[:i], ":")
		if !ok || len(pass) < 4 {
			return
		}
		// The same text elsewhere in the URL (its scheme, host or path)
		// may be shown: only the userinfo is secret.
		if strings.Contains(strings.Replace(raw, auth[:i], "", 1), pass) {
			return
		}
		if err != nil && strings.Contains(err.Error(), pass) {
			t.Fatalf("error %q repeats the password %q", err, pass)
		}
		if err == nil && strings.Contains(d.String(), pass) {
			t.Fatalf("String %q shows the password", d.String())
		}
	})
}

func TestValidateLink(t *testing.T) {
	d, _ := mqtt.NewDialer("mqtt://h", mqtt.Options{})
	tests := []struct {
		url     string
		inbound bool
		qos     byte
		retain  bool
		err     string
	}{
		{url: "mqtt://a/b", qos: 1},
		{url: "mqtt://a/b?qos=0&retain=true", qos: 0, retain: true},
		{url: "mqtt://a/b?qos=2&retain=false", qos: 2},
		{url: "mqtt://a/+/b", inbound: true, qos: 1},
		{url: "mqtt://a/#?qos=0", inbound: true, qos: 0},
		{url: "mqtt://a/+", err: "wildcard"},
		{url: "mqtt://a/#/b", inbound: true, err: "invalid MQTT topic filter"},
		{url: "mqtt://a+/b", inbound: true, err: "invalid MQTT topic filter"},
		{url: "mqtt://a?qos=3", err: "qos"},
		{url: "mqtt://a?qos=", err: ""},
		{url: "mqtt://a?retain=yes", err: "retain"},
		{url: "mqtt://a?retain=true", inbound: true, err: "outbound links only"},
		{url: "mqtt://a?color=red", err: "unknown MQTT link parameter"},
		{url: "mqtt://a/+?no_local=true", inbound: true, qos: 1},
		{url: "mqtt://a/+?no_local=false", inbound: true, qos: 1},
		{url: "mqtt://a?no_local=true", err: "inbound links only"},
		{url: "mqtt://a?no_local=1", inbound: true, err: `no_local "1": want true or false`},
	}
	for _, tt := range tests {
		l, err := connector.ParseLink(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		l.Inbound = tt.inbound
		err = d.ValidateLink(l)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ValidateLink(%q) = %v; want error containing %q", tt.url, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ValidateLink(%q) = %v", tt.url, err)
			continue
		}
		qos, retain, _ := mqtt.LinkParams(l)
		if tt.qos != qos && tt.url != "mqtt://a?qos=" || retain != tt.retain {
			t.Errorf("LinkParams(%q) = %d, %v; want %d, %v", tt.url, qos, retain, tt.qos, tt.retain)
		}
	}
}

func TestNoLocalNeedsMQTT5(t *testing.T) {
	d, _ := mqtt.NewDialer("mqtt://h", mqtt.Options{Protocol: mqtt.V311})
	l, _ := connector.ParseLink("mqtt://a/+?no_local=true")
	l.Inbound = true
	if err := d.ValidateLink(l); err == nil || !strings.Contains(err.Error(), "needs MQTT 5") {
		t.Errorf("no_local=true on MQTT 3.1.1: %v; want an error saying it needs MQTT 5", err)
	}
	l, _ = connector.ParseLink("mqtt://a/+?no_local=false")
	l.Inbound = true
	if err := d.ValidateLink(l); err != nil {
		t.Errorf("no_local=false on MQTT 3.1.1: %v", err)
	}
}

func FuzzLinkParams(f *testing.F) {
	f.Add("mqtt://a/b?qos=1&retain=true")
	f.Add("mqtt://a/#?qos=2")
	f.Fuzz(func(t *testing.T, raw string) {
		l, err := connector.ParseLink(raw)
		if err != nil {
			return
		}
		qos, _, err := mqtt.LinkParams(l)
		if err == nil && qos > 2 {
			t.Fatalf("qos %d accepted", qos)
		}
	})
}

// TestGoOptionsWinOverQuery checks that mqtt.QoS and mqtt.Retain reach
// the link parameters and override the URL query.
func TestGoOptionsWinOverQuery(t *testing.T) {
	d, _ := mqtt.NewDialer("mqtt://h", mqtt.Options{})
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": d}})
	r, _ := aimdb.Register(db, aimdb.NewKey[string]("a"), aimdb.Latest())
	r.LinkTo("mqtt://t?qos=0", codec.String{}, mqtt.QoS(3))
	err := db.Validate()
	if err == nil || !strings.Contains(err.Error(), `qos "3"`) {
		t.Errorf("Validate() = %v; want the option's qos 3 rejected", err)
	}
}

// logBuffer collects log output from several goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestCredentials logs in with a password, and checks that a wrong one
// is reported without either appearing in logs or metadata.
func TestCredentials(t *testing.T) {
	const goodPass, badPass = "g00d-passw0rd", "wr0ng-passw0rd"
	b := startMochiWith(t, &mochiBroker{user: "station", pass: goodPass})
	for _, tc := range []struct {
		pass    string
		connect bool
	}{{badPass, false}, {goodPass, true}} {
		var logs logBuffer
		url := strings.Replace(b.URL(), "mqtt://", "mqtt://station:"+tc.pass+"@", 1)
		d, err := mqtt.NewDialer(url, mqtt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		db := aimdb.New(&aimdb.Options{
			Logger:           slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			Connectors:       map[string]connector.Dialer{"mqtt": d},
			ReconnectBackoff: 10 * time.Millisecond,
		})
		r, _ := aimdb.Register(db, aimdb.NewKey[string]("cred.t"), aimdb.Latest())
		r.LinkTo("mqtt://cred/t", codec.String{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- db.Run(ctx) }()
		<-db.Started()
		md := connectortest.WaitLink(t, db, "cred.t", 0, 10*time.Second, "a connection result", func(md aimdb.LinkMetadata) bool {
			return md.Connected || md.LastError != ""
		})
		if md.Connected != tc.connect {
			t.Errorf("password %s: connected = %v (%+v)", tc.pass, md.Connected, md)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		all, _ := json.Marshal(db.Records())
		for _, s := range []string{logs.String(), string(all)} {
			if strings.Contains(s, goodPass) || strings.Contains(s, badPass) {
				t.Errorf("a password appears in logs or metadata:\n%s", s)
			}
		}
	}
}

// TestTLS connects to a TLS listener that requires a client certificate,
// verifying the broker with a custom CA.
func TestTLS(t *testing.T) {
	pki := newTestPKI(t)
	cert, err := tls.LoadX509KeyPair(pki.ServerCert, pki.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	caPool := mustPool(t, pki.CA)
	b := startMochiWith(t, &mochiBroker{tls: &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    caPool,
	}})
	url := strings.Replace(b.URL(), "mqtt://", "mqtts://", 1)
	good := func() connector.Dialer {
		d, err := mqtt.NewDialer(url, mqtt.Options{CAFile: pki.CA, CertFile: pki.ClientCert, KeyFile: pki.ClientKey})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	roundTrip(t, good(), good()) // two dialers: one client id each

	noCert, _ := mqtt.NewDialer(url, mqtt.Options{CAFile: pki.CA})
	systemRoots, _ := mqtt.NewDialer(url, mqtt.Options{CertFile: pki.ClientCert, KeyFile: pki.ClientKey})
	for name, d := range map[string]connector.Dialer{"no client certificate": noCert, "system roots": systemRoots} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s, err := d.Dial(ctx)
		cancel()
		if err == nil {
			// TLS 1.3 reports a refused client certificate on first use.
			select {
			case <-s.Done():
			case <-time.After(5 * time.Second):
				t.Errorf("%s: connected", name)
			}
			_ = s.Close()
		}
	}
}

// roundTrip links a record of one DB to a record of another through the
// dialers' broker and checks that values arrive.
func roundTrip(t *testing.T, tx, rx connector.Dialer) {
	t.Helper()
	rxDB := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": rx}})
	in, _ := aimdb.Register(rxDB, aimdb.NewKey[string]("rt.in"), aimdb.Ring(8))
	in.LinkFrom("mqtt://rt/x", codec.String{})
	sub, _ := in.Subscribe()
	defer sub.Close()
	txDB := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": tx}})
	out, _ := aimdb.Register(txDB, aimdb.NewKey[string]("rt.out"), aimdb.Ring(8))
	out.LinkTo("mqtt://rt/x", codec.String{})
	ctx := runConnected(t, rxDB, txDB, "rt.in", "rt.out")
	_ = out.Produce("hello")
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	if v, err := sub.Recv(rctx); err != nil || v != "hello" {
		t.Fatalf("Recv = %q, %v", v, err)
	}
}
