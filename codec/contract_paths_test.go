package codec_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/connectortest"
	"github.com/aimdb-go/aimdb/connector/mqtt"
	"github.com/aimdb-go/aimdb/connector/mqtt/mqttbroker"
	"github.com/aimdb-go/aimdb/connector/websocket"
)

// The contract's codec is the record's codec on every inbound path: a
// foreign device publishing a v1 payload over MQTT gets it migrated, and
// a payload the contract refuses is counted and never stored.
func TestContractOnLinkFrom(t *testing.T) {
	broker := mqttbroker.Start(t)
	d, err := mqtt.NewDialer(broker, mqtt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": d}})
	rec := aimdbtest.Must[*aimdb.Record[temp]](t)(aimdb.Register(db, aimdb.NewKey[temp]("roof.temp"), aimdb.Ring(16)))
	rec.LinkFrom("mqtt://roof/temp", tempJSON)
	sub := aimdbtest.Must[*aimdb.Subscription[temp]](t)(rec.Subscribe())
	defer sub.Close()
	stop := aimdbtest.Start(t, db)
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	connectortest.WaitLink(t, db, "roof.temp", 0, 10*time.Second, "subscribed", func(md aimdb.LinkMetadata) bool { return md.Connected })

	publish := mqttbroker.Publisher(t, broker, "foreign-device")
	payloads := []string{
		`{"schema_version":1,"temp":-40,"timestamp":1,"unit":"F"}`, // migrated: −40 °C
		`{"schema_version":2,"celsius":-300,"timestamp":2}`,        // refused: out of range
		`{"schema_version":3,"celsius":20,"timestamp":3}`,          // refused: too new
		`{"celsius":20,"timestamp":4}`,                             // refused: no version
		`{"schema_version":2,"celsius":21.5,"timestamp":5}`,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The link may subscribe at the broker just after it reports
	// connected: publish the first value until it arrives.
	first := make(chan temp, 1)
	go func() {
		v, err := sub.Recv(ctx)
		if err == nil {
			first <- v
		}
		close(first)
	}()
	var got temp
	for got.Timestamp == 0 {
		publish("roof/temp", payloads[0])
		select {
		case v, ok := <-first:
			if !ok {
				t.Fatal("no value arrived")
			}
			got = v
		case <-time.After(200 * time.Millisecond):
		}
	}
	if got != (temp{Celsius: -40, Timestamp: 1}) {
		t.Fatalf("first value = %+v; want the v1 payload migrated to -40 °C", got)
	}
	before := connectortest.LinkStats(t, db, "roof.temp", 0)
	for _, p := range payloads[1:] {
		publish("roof/temp", p)
	}
	// MQTT keeps the order of one publisher's messages on a topic: the
	// next value stored is the last one, so the three between were
	// refused.
	for {
		v, err := sub.Recv(ctx)
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if v.Timestamp == 1 { // a repeat of the first publication
			continue
		}
		if v != (temp{Celsius: 21.5, Timestamp: 5}) {
			t.Fatalf("stored %+v; want only the valid v2 value after the first", v)
		}
		break
	}
	md := connectortest.WaitLink(t, db, "roof.temp", 0, 10*time.Second, "all received", func(md aimdb.LinkMetadata) bool {
		return md.Received >= before.Received+4
	})
	if n := md.DecodeErrors - before.DecodeErrors; n != 3 {
		t.Errorf("decode_errors grew by %d; want 3 (%+v)", n, md)
	}
}

// AimX record.set and write go through the record's codec too.
func TestContractOnAimX(t *testing.T) {
	db := aimdb.New(nil)
	rec := aimdbtest.Must[*aimdb.Record[temp]](t)(aimdb.Register(db, aimdb.NewKey[temp]("roof.temp"), aimdb.Latest()))
	rec.RemoteAccess(tempJSON)
	stop := aimdbtest.Start(t, db)
	srv := aimx.NewServer(db, &aimx.ServerOptions{Policy: aimx.ReadWrite("roof.temp")})
	ln, fr, err := aimx.Listen("tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, fr) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	cl, err := aimx.Dial(ctx, "tcp://"+ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	checkRemoteWrites(t, ctx, cl)
}

// A WebSocket client's record.set and write reach the same codec.
func TestContractOnWebSocket(t *testing.T) {
	db := aimdb.New(nil)
	rec := aimdbtest.Must[*aimdb.Record[temp]](t)(aimdb.Register(db, aimdb.NewKey[temp]("roof.temp"), aimdb.Latest()))
	rec.RemoteAccess(tempJSON)
	stop := aimdbtest.Start(t, db)
	srv := aimx.NewServer(db, &aimx.ServerOptions{Policy: aimx.ReadWrite("roof.temp")})
	h := websocket.NewHandler(srv, &websocket.HandlerOptions{
		Auth: websocket.TokenAuth("t0ken", websocket.Permissions{Subscribe: []string{"#"}, Write: []string{"roof.temp"}}),
	})
	ts := httptest.NewServer(h)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer func() {
		cancel()
		h.Close()
		ts.Close()
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	cl, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http"), &aimx.ClientOptions{Token: "t0ken"})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	checkRemoteWrites(t, ctx, cl)
}

// checkRemoteWrites sets roof.temp through cl: a v1 value is migrated,
// refused values are refused with the contract's reason, and a refused
// write is never stored.
func checkRemoteWrites(t *testing.T, ctx context.Context, cl *aimx.Client) {
	t.Helper()
	if _, err := cl.Set(ctx, "roof.temp", json.RawMessage(`{"schema_version":1,"temp":50,"timestamp":1,"unit":"F"}`)); err != nil {
		t.Fatalf("Set(v1) = %v", err)
	}
	stored := func() string {
		t.Helper()
		raw, err := cl.Get(ctx, "roof.temp")
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		return string(raw)
	}
	if got, want := stored(), `{"schema_version":2,"celsius":10,"timestamp":1}`; got != want {
		t.Fatalf("after Set(v1): stored %s; want %s", got, want)
	}
	for _, tt := range []struct{ payload, want string }{
		{`{"schema_version":2,"celsius":-300,"timestamp":2}`, `contract "temperature" v2: invalid value: field "celsius": -300 is outside -90 to 70`},
		{`{"schema_version":9,"celsius":20,"timestamp":2}`, `contract "temperature" v9: version too new`},
		{`{"celsius":20,"timestamp":2}`, `payload has no version`},
		{`{"schema_version":2,"celsius":"warm","timestamp":2}`, `field "celsius": want a number (float64), got string`},
	} {
		_, err := cl.Set(ctx, "roof.temp", json.RawMessage(tt.payload))
		if !errors.Is(err, aimx.ErrInvalidParams) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Set(%s) = %v; want ErrInvalidParams naming %q", tt.payload, err, tt.want)
		}
	}
	// A write frame has no reply: a refused write is followed by a good
	// one, and only the good one is stored.
	if err := cl.Write(ctx, "roof.temp", json.RawMessage(`{"schema_version":2,"celsius":1e6,"timestamp":3}`)); err != nil {
		t.Fatal(err)
	}
	if err := cl.Write(ctx, "roof.temp", json.RawMessage(`{"schema_version":1,"temp":300,"timestamp":4,"unit":"K"}`)); err != nil {
		t.Fatal(err)
	}
	want := `{"schema_version":2,"celsius":26.850000000000023,"timestamp":4}`
	deadline := time.Now().Add(10 * time.Second)
	for got := stored(); got != want; got = stored() {
		if strings.Contains(got, "1000000") {
			t.Fatalf("the refused write was stored: %s", got)
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored %s; want %s", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
