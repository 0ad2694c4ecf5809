package aimdb_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/loopback"
)

// misdeclaredCodec is a codec whose configuration is wrong, as a codec
// built on a misdeclared data contract reports it.
type misdeclaredCodec struct{ codec.JSON[Temperature] }

func (misdeclaredCodec) Validate() error { return errors.New("the contract has a gap") }

func loopDB(opts *aimdb.Options) *aimdb.DB {
	o := aimdb.Options{}
	if opts != nil {
		o = *opts
	}
	o.Connectors = map[string]connector.Dialer{"loop": loopback.New().Dialer()}
	return aimdb.New(&o)
}

func TestLinkValidation(t *testing.T) {
	type cfg func(t *testing.T, db *aimdb.DB)
	reg := func(t *testing.T, db *aimdb.DB, key string) *aimdb.Record[Temperature] {
		return aimdbtest.Must[*aimdb.Record[Temperature]](t)(aimdb.Register(db, aimdb.NewKey[Temperature](key), aimdb.Latest()))
	}
	j := codec.JSON[Temperature]{}
	tests := []struct {
		name string
		cfg  cfg
		want []string // substrings, one per expected ConfigError, in order
	}{
		{"valid", func(t *testing.T, db *aimdb.DB) {
			reg(t, db, "a").LinkTo("loop://a/b", j)
			reg(t, db, "b").LinkFrom("loop://a/+", j)
		}, nil},
		{"malformed URL", func(t *testing.T, db *aimdb.DB) {
			reg(t, db, "a").LinkTo("no-scheme", j)
		}, []string{`record "a" (no-scheme): .LinkTo(): link URL has no scheme`}},
		{"empty topic", func(t *testing.T, db *aimdb.DB) {
			reg(t, db, "a").LinkFrom("loop://", j)
		}, []string{"link URL has no topic"}},
		{"unknown scheme", func(t *testing.T, db *aimdb.DB) {
			reg(t, db, "a").LinkTo("kafka://t", j)
		}, []string{`no connector for scheme "kafka"`}},
		{"nil codec", func(t *testing.T, db *aimdb.DB) {
			reg(t, db, "a").LinkTo("loop://t", nil)
			reg(t, db, "b").LinkFrom("loop://t", (*codec.JSON[Temperature])(nil))
		}, []string{".LinkTo() given a nil codec", ".LinkFrom() given a nil codec"}},
		{"connector rejects the link", func(t *testing.T, db *aimdb.DB) {
			reg(t, db, "a").LinkTo("loop://t/+", j)
			reg(t, db, "b").LinkFrom("loop://t?qos=1", j)
		}, []string{`outbound topic "t/+" holds a wildcard`, `unknown parameter "qos"`}},
		{"source and link", func(t *testing.T, db *aimdb.DB) {
			r := reg(t, db, "a")
			r.LinkFrom("loop://t", j)
			r.Source(func(ctx contextT, p *aimdb.Producer[Temperature]) error { return nil })
		}, []string{"conflicting writers: record has .Source() + .LinkFrom()"}},
		{"transform and link", func(t *testing.T, db *aimdb.DB) {
			r := reg(t, db, "a")
			aimdb.Transform(r, aimdb.NewKey[Temperature]("b"), func(v Temperature) (Temperature, bool) { return v, true })
			reg(t, db, "b")
			r.LinkFrom("loop://t", j)
		}, []string{"conflicting writers: record has .Transform() + .LinkFrom()"}},
		{"options of the wrong kind or type", func(t *testing.T, db *aimdb.DB) {
			reg(t, db, "a").LinkTo("loop://t", j, aimdb.TopicFrom(func(int) string { return "x" }))
			reg(t, db, "b").LinkFrom("loop://t", j, aimdb.TopicFrom(func(Temperature) string { return "x" }))
			reg(t, db, "c").LinkTo("loop://t", j, aimdb.RouteTopic(func(string) string { return "" }))
			reg(t, db, "d").LinkFrom("loop://t", j, aimdb.RouteTopic(nil))
		}, []string{"TopicFrom takes " + funcIntString, "TopicFrom applies to .LinkTo() only",
			"RouteTopic applies to .LinkFrom() only", "RouteTopic given a nil function"}},
		{"codec reports mistakes of its own", func(t *testing.T, db *aimdb.DB) {
			reg(t, db, "a").LinkTo("loop://t", misdeclaredCodec{})
			reg(t, db, "b").LinkFrom("loop://t", misdeclaredCodec{})
			reg(t, db, "c").RemoteAccess(misdeclaredCodec{})
		}, []string{`record "c": .RemoteAccess(): codec: the contract has a gap`,
			`record "a" (loop://t): .LinkTo(): codec: the contract has a gap`,
			`record "b" (loop://t): .LinkFrom(): codec: the contract has a gap`}},
		{"credentials in a link URL", func(t *testing.T, db *aimdb.DB) {
			reg(t, db, "a").LinkTo("loop://user:secret@t", j)
		}, []string{"link URL carries userinfo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := loopDB(nil)
			tt.cfg(t, db)
			err := db.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v; want nil", err)
				}
				return
			}
			ice, ok := err.(*aimdb.InvalidConfigError)
			if !ok {
				t.Fatalf("Validate() = %v; want *InvalidConfigError", err)
			}
			if len(ice.Errors) != len(tt.want) {
				t.Fatalf("Validate() = %v; want %d errors", err, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(ice.Errors[i].Error(), w) {
					t.Errorf("error %d = %q; want it to contain %q", i, ice.Errors[i], w)
				}
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("credentials in the error: %v", err)
			}
		})
	}
}

// TestLinkRegistrationOrder: connectors are known at New; a link added
// before the record its transform reads is registered still validates.
func TestLinkRegistrationOrder(t *testing.T) {
	db := loopDB(nil)
	out := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, aimdb.NewKey[int]("o"), aimdb.Latest()))
	out.LinkTo("loop://o", intCodec{})
	aimdb.Transform(out, aimdb.NewKey[int]("i"), func(v int) (int, bool) { return v, true })
	in := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, aimdb.NewKey[int]("i"), aimdb.Latest()))
	in.LinkFrom("loop://i", intCodec{})
	if err := db.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestGraphAndMetadataWithLinks(t *testing.T) {
	db := loopDB(nil)
	in := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, aimdb.NewKey[int]("t.in"), aimdb.Ring(4)))
	in.LinkFrom("loop://sensors/+/t", intCodec{})
	in.LinkTo("loop://mirror/a", intCodec{})
	in.LinkTo("loop://mirror/b", intCodec{})
	in.Tap(func(ctx contextT, s *aimdb.Subscription[int]) error { return nil })
	got, _ := json.Marshal(db.Graph())
	want := compactJSON(t, `{
	"nodes":[{"key":"t.in","origin":{"link":{"protocol":"loop","address":"loop://sensors/+/t"}},"buffer_type":"spmc_ring","buffer_capacity":4,"tap_count":1,"has_outbound_link":true}],
	"edges":[
		{"from":null,"to":"t.in","edge_type":{"link":{"protocol":"loop"}}},
		{"from":"t.in","to":null,"edge_type":{"link_out":{"protocol":"unknown"}}},
		{"from":"t.in","to":null,"edge_type":{"tap":{"index":0}}}
	],
	"topo_order":["t.in"]}`)
	if string(got) != want {
		t.Errorf("Graph JSON =\n%s\nwant\n%s", got, want)
	}
	md := db.Records()[0]
	if md.OutboundConnectorCount != 2 || len(md.Links) != 3 || md.Links[0].Direction != "in" ||
		md.Links[1].Address != "loop://mirror/a" || md.Links[1].State != aimdb.LinkIdle {
		t.Errorf("metadata = %+v", md)
	}
	row, _ := json.Marshal(md.Links[1])
	wantRow := `{"direction":"out","protocol":"loop","address":"loop://mirror/a","state":"idle","connected":false,"reconnects":0,"published":0,"received":0,"decode_errors":0,"dropped":0,"encode_errors":0,"publish_errors":0,"queued":0}`
	if string(row) != wantRow {
		t.Errorf("link metadata JSON =\n%s\nwant\n%s", row, wantRow)
	}
}

// TestLinkRoundTripInOneDB links two records of one DB through the
// loopback connector and checks the run's counters and shutdown.
func TestLinkRoundTripInOneDB(t *testing.T) {
	db := loopDB(nil)
	out := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, aimdb.NewKey[int]("rt.out"), aimdb.Ring(64)))
	out.LinkTo("loop://rt", intCodec{})
	in := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, aimdb.NewKey[int]("rt.in"), aimdb.Ring(64)))
	in.LinkFrom("loop://rt", intCodec{})
	sub := aimdbtest.Must[*aimdb.Subscription[int]](t)(in.Subscribe())
	defer sub.Close()
	stop := aimdbtest.Start(t, db)
	for {
		if md := db.Records(); md[0].Links[0].Connected && md[1].Links[0].Connected {
			break
		}
		waitABit()
	}
	for i := range 10 {
		_ = out.Produce(i)
	}
	got := aimdbtest.Collect(t, sub, 10)
	for i, v := range got {
		if v != i {
			t.Fatalf("got %v", got)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	md := db.Records()
	if l := md[0].Links[0]; l.Published != 10 || l.State != aimdb.LinkStopped {
		t.Errorf("out link = %+v", l)
	}
	if l := md[1].Links[0]; l.Received != 10 || l.State != aimdb.LinkStopped {
		t.Errorf("in link = %+v", l)
	}
}
