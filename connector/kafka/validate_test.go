package kafka_test

import (
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/kafka"
)

func TestValidateLink(t *testing.T) {
	d, err := kafka.NewDialer("kafka://127.0.0.1:9092", kafka.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url     string
		inbound bool
		want    string
	}{
		{"kafka://readings/7?password=x", false, `kafka link parameter "password" carries credentials`},
		{"kafka://readings?acks=all", false, `unknown Kafka link parameter "acks"`},
		{"kafka://read ings/7", false, `kafka topic "read ings"`},
		{"kafka://readings/+", false, "wildcard"},
		{"kafka://readings/a+", true, "invalid"},
	} {
		db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"kafka": d}})
		r, err := aimdb.Register(db, aimdb.NewKey[string]("x"), aimdb.Ring(4))
		if err != nil {
			t.Fatal(err)
		}
		if tc.inbound {
			r.LinkFrom(tc.url, codec.String{})
		} else {
			r.LinkTo(tc.url, codec.String{})
		}
		if err := db.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q (inbound %v): Validate() = %v; want an error containing %q", tc.url, tc.inbound, err, tc.want)
		}
	}
	for _, bad := range []string{"mqtt://h", "kafka://u:p@h", "kafka://h:0", "kafka://:9092"} {
		if _, err := kafka.NewDialer(bad, kafka.Options{}); err == nil {
			t.Errorf("NewDialer(%q) succeeded", bad)
		}
	}
}

// FuzzValidateLink feeds link URLs to the Dialer's link check: it never
// panics, and what it accepts has a valid Kafka topic name.
func FuzzValidateLink(f *testing.F) {
	for _, s := range []string{"kafka://readings/7", "kafka://readings/+", "kafka://a.b_c-d/#", "kafka://x?user=u"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	d, err := kafka.NewDialer("kafka://127.0.0.1:9092", kafka.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string, inbound bool) {
		l, err := connector.ParseLink(raw)
		if err != nil {
			return
		}
		l.Inbound = inbound
		if d.ValidateLink(l) != nil {
			return
		}
		name, _ := kafka.SplitTopic(l.Topic)
		if name == "" || strings.ContainsAny(name, " /+#?") || len(l.Params) != 0 {
			t.Fatalf("accepted %q: topic %q, params %v", raw, name, l.Params)
		}
	})
}
