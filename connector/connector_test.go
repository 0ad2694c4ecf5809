package connector_test

import (
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb/connector"
)

func TestMatchTopic(t *testing.T) {
	tests := []struct {
		filter, topic string
		want          bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/c", false},
		{"a/+", "a/b", true},
		{"a/+", "a/b/c", false},
		{"a/+/c", "a/b/c", true},
		{"+/+", "a/b", true},
		{"+", "a", true},
		{"+", "a/b", false},
		{"a/#", "a", true},
		{"a/#", "a/b/c", true},
		{"#", "a/b", true},
		{"#", "$SYS/x", false},
		{"+/x", "$SYS/x", false},
		{"station/+/temperature", "station/1/temperature", true},
		{"station/+/temperature", "station/1/humidity", false},
		{"a/+", "a/", true},
		{"a", "a/b", false},
		{"a/b/c", "a/b", false},
	}
	for _, tt := range tests {
		if got := connector.MatchTopic(tt.filter, tt.topic); got != tt.want {
			t.Errorf("MatchTopic(%q, %q) = %v; want %v", tt.filter, tt.topic, got, tt.want)
		}
	}
}

func TestParseLink(t *testing.T) {
	tests := []struct {
		raw, scheme, topic, qos, err string
	}{
		{raw: "mqtt://sensors/temp", scheme: "mqtt", topic: "sensors/temp"},
		{raw: "MQTT://a", scheme: "mqtt", topic: "a"},
		{raw: "mqtt://station/#", scheme: "mqtt", topic: "station/#"},
		{raw: "mqtt://station/+/t?qos=2", scheme: "mqtt", topic: "station/+/t", qos: "2"},
		{raw: "mqtt:///leading", scheme: "mqtt", topic: "leading"},
		{raw: "mqtt://", err: "no topic"},
		{raw: "sensors/temp", err: "no scheme"},
		{raw: "://x", err: "no scheme"},
		{raw: "1x://x", err: "malformed scheme"},
		{raw: "mqtt://u:p@host/x", err: "userinfo"},
		{raw: "mqtt://a\x00b", err: "control"},
		{raw: "mqtt://a?%zz", err: "query"},
	}
	for _, tt := range tests {
		l, err := connector.ParseLink(tt.raw)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseLink(%q) = %v; want error containing %q", tt.raw, err, tt.err)
			}
			continue
		}
		if err != nil || l.Scheme != tt.scheme || l.Topic != tt.topic || l.Params.Get("qos") != tt.qos {
			t.Errorf("ParseLink(%q) = %+v, %v", tt.raw, l, err)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"mqtt://user:secret@host:1883":  "mqtt://host:1883",
		"mqtts://u:p@h/x?y=1":           "mqtts://h/x?y=1",
		"mqtt://host":                   "mqtt://host",
		"mqtt://u:se cret%zz@host/path": "mqtt://host/path",
		"no url":                        "no url",
	} {
		if got := connector.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q; want %q", in, got, want)
		}
	}
}

func FuzzParseLink(f *testing.F) {
	for _, s := range []string{"mqtt://a/b?qos=1&retain=true", "mqtt://a/#", "x://", "mqtt://u:p@h/t", "mqtt://%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		l, err := connector.ParseLink(raw)
		if err != nil {
			if strings.Contains(raw, "@") && strings.Contains(err.Error(), raw) {
				t.Fatalf("error repeats the URL: %v", err)
			}
			return
		}
		if l.Topic == "" || l.Scheme == "" || strings.HasPrefix(l.Topic, "/") && !strings.HasPrefix(raw[len(l.Scheme)+3:], "//") {
			t.Fatalf("ParseLink(%q) = %+v", raw, l)
		}
	})
}

func FuzzMatchTopic(f *testing.F) {
	f.Add("a/+/c", "a/b/c")
	f.Add("#", "x")
	f.Add("a/#", "a")
	f.Fuzz(func(t *testing.T, filter, topic string) {
		m := connector.MatchTopic(filter, topic)
		if !connector.HasWildcard(filter) && m != (filter == topic) {
			t.Fatalf("MatchTopic(%q, %q) = %v without wildcards", filter, topic, m)
		}
		if connector.ValidFilter(filter) && filter == "#" && !strings.HasPrefix(topic, "$") && !m {
			t.Fatalf("# did not match %q", topic)
		}
	})
}

func FuzzRedact(f *testing.F) {
	f.Add("mqtt://user:secret@host:1883/x")
	f.Fuzz(func(t *testing.T, raw string) {
		out := connector.Redact(raw)
		_, rest, ok := strings.Cut(out, "://")
		if !ok {
			return
		}
		if auth, _, _ := strings.Cut(rest, "/"); strings.Contains(auth, "@") {
			t.Fatalf("Redact(%q) = %q kept userinfo", raw, out)
		}
	})
}
