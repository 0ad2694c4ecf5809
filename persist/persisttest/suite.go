// Package persisttest is the conformance suite of persist.Backend: every
// backend runs it from its own tests.
//
//	func TestConformance(t *testing.T) {
//		persisttest.Run(t, func(t *testing.T) persist.Backend { return open(t) })
//	}
package persisttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/persist"
)

// Run runs every conformance test against backends made by open. Each
// call of open must return a new, empty backend; Run closes it (Close
// must be idempotent) and open may register more cleanup with t.
func Run(t *testing.T, open func(t *testing.T) persist.Backend) {
	tests := []struct {
		name string
		f    func(t *testing.T, b persist.Backend)
	}{
		{"RoundTrip", testRoundTrip},
		{"LatestPerRecordLimit", testLatestLimit},
		{"Range", testRange},
		{"Order", testOrder},
		{"LimitAscending", testLimitAscending},
		{"Bucket", testBucket},
		{"Latest", testLatest},
		{"TrimAge", testTrimAge},
		{"TrimCount", testTrimCount},
		{"Patterns", testPatterns},
		{"BadRowStoresNothing", testBadRow},
		{"BadQuery", testBadQuery},
		{"Concurrent", testConcurrent},
		{"Closed", testClosed},
		{"Outbox", testOutbox},
		{"OutboxClosed", testOutboxClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := open(t)
			t.Cleanup(func() { b.Close() })
			tc.f(t, b)
		})
	}
}

var epoch = time.UnixMilli(1_700_000_000_000).UTC()

func at(ms int64) time.Time { return epoch.Add(time.Duration(ms) * time.Millisecond) }

func row(key string, ms int64, data string) persist.Row {
	return persist.Row{Key: key, Time: at(ms), Schema: "test", Version: 1, Data: []byte(data)}
}

func appendRows(t *testing.T, b persist.Backend, rows ...persist.Row) {
	t.Helper()
	if err := b.Append(t.Context(), rows); err != nil {
		t.Fatalf("Append: %v", err)
	}
}

func query(t *testing.T, b persist.Backend, q persist.Query) []persist.Row {
	t.Helper()
	rows, err := b.Query(t.Context(), q)
	if err != nil {
		t.Fatalf("Query(%+v): %v", q, err)
	}
	return rows
}

// summary renders rows as "key@ms=data" for comparisons.
func summary(rows []persist.Row) []string {
	s := make([]string, len(rows))
	for i, r := range rows {
		s[i] = fmt.Sprintf("%s@%d=%s", r.Key, r.Time.Sub(epoch).Milliseconds(), r.Data)
	}
	return s
}

func want(t *testing.T, what string, got []persist.Row, want ...string) {
	t.Helper()
	if g := summary(got); !slices.Equal(g, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, g, want)
	}
}

func testRoundTrip(t *testing.T, b persist.Backend) {
	big := bytes.Repeat([]byte{0, 0xff, 'x', 0x80}, 16<<10)
	ts := epoch.Add(123456789 * time.Nanosecond)
	in := []persist.Row{
		{Key: "a.b", Time: ts, Schema: "temperature", Version: 3, Data: []byte(`{"celsius":21.5}`)},
		{Key: "a.b", Time: ts.Add(time.Nanosecond), Schema: "", Version: 0, Data: nil},
		{Key: "ünï.cødé", Time: ts.Add(2 * time.Nanosecond), Schema: "bin", Version: 1 << 31, Data: big},
	}
	appendRows(t, b, in...)
	got := query(t, b, persist.Query{})
	if len(got) != len(in) {
		t.Fatalf("Query returned %d rows, want %d", len(got), len(in))
	}
	for i, g := range got {
		w := in[i]
		if g.Key != w.Key || !g.Time.Equal(w.Time) || g.Schema != w.Schema || g.Version != w.Version || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("row %d: got {%q %v %q %d %d bytes}, want {%q %v %q %d %d bytes}", i,
				g.Key, g.Time, g.Schema, g.Version, len(g.Data), w.Key, w.Time, w.Schema, w.Version, len(w.Data))
		}
		if i > 0 && g.Seq <= got[i-1].Seq {
			t.Errorf("row %d: Seq %d not after %d", i, g.Seq, got[i-1].Seq)
		}
	}
	// The caller's slice may be reused after Append.
	in[0].Data[0] = '!'
	if got := query(t, b, persist.Query{Pattern: "a.b", Limit: 1}); got[0].Data[0] != '{' {
		t.Errorf("the stored row changed with the caller's buffer: %q", got[0].Data)
	}
}

// Upstream's test: the newest value of each record matching temp.*.
func testLatestLimit(t *testing.T, b persist.Backend) {
	appendRows(t, b, row("temp.vienna", 1000, "v1"), row("temp.vienna", 2000, "v2"), row("temp.berlin", 1500, "b1"))
	got := query(t, b, persist.Query{Pattern: "temp.*", Limit: 1, Order: persist.Descending})
	want(t, "newest per record", got, "temp.vienna@2000=v2", "temp.berlin@1500=b1")
}

func testRange(t *testing.T, b persist.Backend) {
	for ms := int64(1000); ms <= 5000; ms += 1000 {
		appendRows(t, b, row("r", ms, fmt.Sprint(ms)))
	}
	got := query(t, b, persist.Query{Pattern: "r", Since: at(2000), Until: at(4000)})
	want(t, "range 2000..4000 inclusive", got, "r@2000=2000", "r@3000=3000", "r@4000=4000")
	got = query(t, b, persist.Query{Pattern: "r", Since: at(4500)})
	want(t, "since only", got, "r@5000=5000")
	got = query(t, b, persist.Query{Pattern: "r", Until: at(1000)})
	want(t, "until only", got, "r@1000=1000")
	got = query(t, b, persist.Query{Pattern: "r", Since: at(6000)})
	want(t, "empty range", got)
}

func testOrder(t *testing.T, b persist.Backend) {
	// Appended out of time order, with a tie at 2000.
	appendRows(t, b, row("x", 3000, "c"), row("x", 1000, "a"), row("y", 2000, "b1"), row("x", 2000, "b2"))
	got := query(t, b, persist.Query{})
	want(t, "ascending, ties by insertion", got, "x@1000=a", "y@2000=b1", "x@2000=b2", "x@3000=c")
	got = query(t, b, persist.Query{Order: persist.Descending})
	want(t, "descending, ties by insertion reversed", got, "x@3000=c", "x@2000=b2", "y@2000=b1", "x@1000=a")
}

func testLimitAscending(t *testing.T, b persist.Backend) {
	for i := range int64(5) {
		appendRows(t, b, row("k.a", 1000*i, fmt.Sprint("a", i)), row("k.b", 1000*i+500, fmt.Sprint("b", i)))
	}
	got := query(t, b, persist.Query{Pattern: "k.*", Limit: 2, Since: at(1000)})
	want(t, "oldest 2 per record since 1000", got, "k.a@1000=a1", "k.b@1500=b1", "k.a@2000=a2", "k.b@2500=b2")
	got = query(t, b, persist.Query{Pattern: "k.*", Limit: 2, Order: persist.Descending})
	want(t, "newest 2 per record", got, "k.b@4500=b4", "k.a@4000=a4", "k.b@3500=b3", "k.a@3000=a3")
}

func testBucket(t *testing.T, b persist.Backend) {
	// One value every 250 ms over 3 s, in 1 s buckets: the newest of each.
	for ms := int64(0); ms < 3000; ms += 250 {
		appendRows(t, b, row("s", ms, fmt.Sprint(ms)))
	}
	appendRows(t, b, row("other", 100, "o"))
	got := query(t, b, persist.Query{Pattern: "s", Bucket: time.Second})
	want(t, "1 s buckets", got, "s@750=750", "s@1750=1750", "s@2750=2750")
	got = query(t, b, persist.Query{Pattern: "s", Bucket: time.Second, Order: persist.Descending, Limit: 2})
	want(t, "1 s buckets, newest 2", got, "s@2750=2750", "s@1750=1750")
	got = query(t, b, persist.Query{Pattern: "s", Bucket: time.Second, Limit: 1})
	want(t, "1 s buckets, oldest 1", got, "s@750=750")
	got = query(t, b, persist.Query{Bucket: time.Second, Since: at(500), Until: at(1500)})
	want(t, "buckets within a range, several records", got, "s@750=750", "s@1500=1500")
}

func testLatest(t *testing.T, b persist.Backend) {
	appendRows(t, b, row("l.b", 1000, "b1"), row("l.a", 3000, "a3"), row("l.a", 2000, "a2"), row("l.b", 1000, "b1'"), row("m", 9000, "m"))
	got, err := b.Latest(t.Context(), "l.#")
	if err != nil {
		t.Fatal(err)
	}
	want(t, "newest per record, key order, ties by insertion", got, "l.a@3000=a3", "l.b@1000=b1'")
	got, err = b.Latest(t.Context(), "nothing")
	if err != nil || len(got) != 0 {
		t.Errorf("Latest(nothing) = %q, %v; want nothing", summary(got), err)
	}
}

func testTrimAge(t *testing.T, b persist.Backend) {
	appendRows(t, b, row("t", 1000, "1"), row("t", 2000, "2"), row("t", 3000, "3"), row("u", 1000, "u"))
	n, err := b.Trim(t.Context(), "t", persist.Trim{Before: at(2500)})
	if err != nil || n != 2 {
		t.Fatalf("Trim before 2500 = %d, %v; want 2 deleted", n, err)
	}
	want(t, "after trim", query(t, b, persist.Query{}), "u@1000=u", "t@3000=3")
	n, err = b.Trim(t.Context(), "t", persist.Trim{Before: at(3000)})
	if err != nil || n != 0 {
		t.Errorf("Trim before 3000 = %d, %v; want 0 (strictly older)", n, err)
	}
}

func testTrimCount(t *testing.T, b persist.Backend) {
	for ms := int64(1); ms <= 6; ms++ {
		appendRows(t, b, row("c", 1000*(7-ms), fmt.Sprint(7-ms))) // newest first
	}
	appendRows(t, b, row("d", 1, "d"))
	n, err := b.Trim(t.Context(), "c", persist.Trim{Keep: 2})
	if err != nil || n != 4 {
		t.Fatalf("Trim keep 2 = %d, %v; want 4 deleted", n, err)
	}
	want(t, "after trim", query(t, b, persist.Query{}), "d@1=d", "c@5000=5", "c@6000=6")
	n, err = b.Trim(t.Context(), "c", persist.Trim{Keep: 1, Before: at(5500)})
	if err != nil || n != 1 {
		t.Fatalf("Trim keep 1 before 5500 = %d, %v; want 1", n, err)
	}
	if _, err := b.Trim(t.Context(), "c", persist.Trim{Keep: -1}); !errors.Is(err, persist.ErrInvalid) {
		t.Errorf("Trim keep -1: %v, want ErrInvalid", err)
	}
}

func testPatterns(t *testing.T, b persist.Backend) {
	keys := []string{"test_record", "testXrecord", "sensors.temp", "sensors.secret.deep", "sensors_extra.x",
		"Sensors.temp", "sensors", "a.c", "a.x.c", "a.x.y.c", "a%b", "a_b", "sensors/x"}
	for i, k := range keys {
		appendRows(t, b, row(k, int64(i), k))
	}
	for _, tc := range []struct {
		pattern string
		want    []string
	}{
		{"test_record", []string{"test_record"}},
		{"sensors.*", []string{"sensors.temp"}},
		{"sensors.#", []string{"sensors.temp", "sensors.secret.deep", "sensors"}},
		{"a.#.c", []string{"a.c", "a.x.c", "a.x.y.c"}},
		{"*.temp", []string{"sensors.temp", "Sensors.temp"}},
		{"a%b", []string{"a%b"}},
		{"a_b", []string{"a_b"}},
		{"sensors/x", []string{"sensors/x"}},
		{"#", keys},
	} {
		got := query(t, b, persist.Query{Pattern: tc.pattern})
		var keys []string
		for _, r := range got {
			keys = append(keys, r.Key)
		}
		if !slices.Equal(keys, tc.want) {
			t.Errorf("pattern %q: got %q, want %q", tc.pattern, keys, tc.want)
		}
		latest, err := b.Latest(t.Context(), tc.pattern)
		if err != nil || len(latest) != len(tc.want) {
			t.Errorf("Latest(%q) = %d rows, %v; want %d", tc.pattern, len(latest), err, len(tc.want))
		}
	}
}

func testBadRow(t *testing.T, b persist.Backend) {
	err := b.Append(t.Context(), []persist.Row{row("good", 1, "g"), {Time: at(2), Data: []byte("x")}})
	if !errors.Is(err, persist.ErrInvalid) {
		t.Fatalf("Append with an empty key: %v, want ErrInvalid", err)
	}
	if got := query(t, b, persist.Query{}); len(got) != 0 {
		t.Errorf("a refused batch stored %q", summary(got))
	}
	if err := b.Append(t.Context(), nil); err != nil {
		t.Errorf("Append(nil): %v", err)
	}
}

func testBadQuery(t *testing.T, b persist.Backend) {
	appendRows(t, b, row("q", 1, "q"))
	for _, q := range []persist.Query{
		{Limit: -1},
		{Bucket: -time.Second},
		{Order: 7},
		{Since: at(2), Until: at(1)},
		{Pattern: "a..b"},
		{Pattern: "."},
	} {
		if _, err := b.Query(t.Context(), q); !errors.Is(err, persist.ErrInvalid) {
			t.Errorf("Query(%+v): %v, want ErrInvalid", q, err)
		}
	}
	if _, err := b.Latest(t.Context(), "a..b"); !errors.Is(err, persist.ErrInvalid) {
		t.Errorf("Latest(a..b): %v, want ErrInvalid", err)
	}
	want(t, "after bad queries", query(t, b, persist.Query{}), "q@1=q")
}

func testConcurrent(t *testing.T, b persist.Backend) {
	const writers, batches, per = 4, 10, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range batches {
				rows := make([]persist.Row, per)
				for j := range rows {
					n := i*per + j
					rows[j] = row(fmt.Sprintf("w.%d", w), int64(n), fmt.Sprint(n))
				}
				if err := b.Append(context.Background(), rows); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := query(t, b, persist.Query{})
	if len(got) != writers*batches*per {
		t.Fatalf("%d rows stored, want %d", len(got), writers*batches*per)
	}
	seqs := map[int64]bool{}
	next := map[string]int{}
	for _, r := range got {
		if seqs[r.Seq] {
			t.Fatalf("Seq %d twice", r.Seq)
		}
		seqs[r.Seq] = true
		if string(r.Data) != fmt.Sprint(next[r.Key]) {
			t.Fatalf("%s: got %s, want %d", r.Key, r.Data, next[r.Key])
		}
		next[r.Key]++
	}
}

func testClosed(t *testing.T, b persist.Backend) {
	appendRows(t, b, row("z", 1, "z"))
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := b.Append(t.Context(), []persist.Row{row("z", 2, "z")}); !errors.Is(err, persist.ErrClosed) {
		t.Errorf("Append after Close: %v, want ErrClosed", err)
	}
	if _, err := b.Query(t.Context(), persist.Query{}); !errors.Is(err, persist.ErrClosed) {
		t.Errorf("Query after Close: %v, want ErrClosed", err)
	}
	if _, err := b.Latest(t.Context(), "#"); !errors.Is(err, persist.ErrClosed) {
		t.Errorf("Latest after Close: %v, want ErrClosed", err)
	}
	if _, err := b.Trim(t.Context(), "z", persist.Trim{Keep: 1}); !errors.Is(err, persist.ErrClosed) {
		t.Errorf("Trim after Close: %v, want ErrClosed", err)
	}
}

// testOutbox drives two outboxes with a random sequence of adds and
// dones and compares each with a model after every step: oldest first,
// ids increasing, payloads copied, names independent, history untouched.
func testOutbox(t *testing.T, b persist.Backend) {
	ob, ok := b.(persist.OutboxBackend)
	if !ok {
		t.Logf("%s keeps no outboxes", b.Name())
		return
	}
	ctx := t.Context()
	type msg struct {
		id             int64
		topic, payload string
	}
	model := map[string][]msg{}
	names := []string{"a", "b.c"}
	var last int64
	rng := uint64(1)
	next := func(n int) int { rng = rng*6364136223846793005 + 1442695040888963407; return int(rng>>33) % n }
	check := func(step int, name string) {
		t.Helper()
		got, err := ob.OutboxLoad(ctx, name)
		if err != nil {
			t.Fatalf("step %d: OutboxLoad(%q): %v", step, name, err)
		}
		want := model[name]
		if len(got) != len(want) {
			t.Fatalf("step %d: OutboxLoad(%q) = %d messages; want %d", step, name, len(got), len(want))
		}
		for i, m := range got {
			if int64(m.ID) != want[i].id || m.Topic != want[i].topic || string(m.Payload) != want[i].payload {
				t.Fatalf("step %d: OutboxLoad(%q)[%d] = %d %q %q; want %+v", step, name, i, m.ID, m.Topic, m.Payload, want[i])
			}
		}
	}
	for step := range 300 {
		name := names[next(len(names))]
		box := model[name]
		if len(box) > 0 && next(3) == 0 {
			i := next(len(box))
			id := box[i].id
			if err := ob.OutboxDone(ctx, name, id); err != nil {
				t.Fatalf("step %d: OutboxDone: %v", step, err)
			}
			model[name] = slices.Delete(box, i, i+1)
			// Done twice, and done under another name, change nothing.
			if err := ob.OutboxDone(ctx, name, id); err != nil {
				t.Fatalf("step %d: second OutboxDone: %v", step, err)
			}
			for _, other := range names {
				if other != name {
					if err := ob.OutboxDone(ctx, other, id); err != nil {
						t.Fatalf("step %d: OutboxDone under %q: %v", step, other, err)
					}
					check(step, other)
				}
			}
		} else {
			payload := fmt.Appendf(nil, "p%d", step)
			if step%17 == 0 {
				payload = nil
			}
			id, err := ob.OutboxAdd(ctx, name, fmt.Sprintf("t/%d", step), payload)
			if err != nil {
				t.Fatalf("step %d: OutboxAdd: %v", step, err)
			}
			if id <= last {
				t.Fatalf("step %d: OutboxAdd gave id %d after %d", step, id, last)
			}
			last = id
			model[name] = append(box, msg{id, fmt.Sprintf("t/%d", step), string(payload)})
			for i := range payload {
				payload[i] = 'x' // the backend must have copied it
			}
		}
		check(step, name)
	}
	for _, n := range names {
		check(-1, n)
	}
	if rows, err := b.Query(ctx, persist.Query{}); err != nil || len(rows) != 0 {
		t.Fatalf("history after outbox use: %d rows, %v; want none", len(rows), err)
	}
}

func testOutboxClosed(t *testing.T, b persist.Backend) {
	ob, ok := b.(persist.OutboxBackend)
	if !ok {
		t.Logf("%s keeps no outboxes", b.Name())
		return
	}
	if _, err := ob.OutboxAdd(t.Context(), "a", "t", []byte("x")); err != nil {
		t.Fatal(err)
	}
	_ = b.Close()
	if _, err := ob.OutboxAdd(t.Context(), "a", "t", nil); !errors.Is(err, persist.ErrClosed) {
		t.Errorf("OutboxAdd after Close: %v, want ErrClosed", err)
	}
	if err := ob.OutboxDone(t.Context(), "a", 1); !errors.Is(err, persist.ErrClosed) {
		t.Errorf("OutboxDone after Close: %v, want ErrClosed", err)
	}
	if _, err := ob.OutboxLoad(t.Context(), "a"); !errors.Is(err, persist.ErrClosed) {
		t.Errorf("OutboxLoad after Close: %v, want ErrClosed", err)
	}
}
