package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aimdb-go/aimdb/aimx"
)

func newRecordCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "record",
		Short: "List, read, write, drain and query records",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for %q (see %s --help)", args[0], cmd.CommandPath(), cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(newRecordListCmd(a), newRecordGetCmd(a), newRecordSetCmd(a), newRecordDrainCmd(a), newRecordQueryCmd(a))
	return cmd
}

func newRecordListCmd(a *app) *cobra.Command {
	var writable bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the records with their buffers, origins and counters",
		Long: `List the records, sorted by key (numeric segments in numeric order), with
their Go type, buffer, origin, producers/consumers, produced/dropped counts
and whether this connection may write them. -o json prints the server's
rows as they came, in registration order.`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withClient(cmd, func(ctx context.Context, c *aimx.Client) error {
				var raw json.RawMessage
				if err := c.Call(ctx, "record.list", listParams, &raw); err != nil {
					return err
				}
				var rows []aimx.RecordInfo
				if err := json.Unmarshal(raw, &rows); err != nil {
					return fmt.Errorf("record.list: decoding the rows: %w", err)
				}
				if writable {
					rows = slices.DeleteFunc(rows, func(r aimx.RecordInfo) bool { return !r.Writable })
				}
				if a.json() {
					if !writable {
						return writeJSONRaw(a, raw)
					}
					return writeJSON(a.stdout, rows)
				}
				return recordTable(rows).write(a.stdout)
			})
		},
	}
	cmd.Flags().BoolVarP(&writable, "writable", "w", false, "only the records this connection may write")
	return cmd
}

// listParams asks a Go server for full record.list rows (counters,
// stage profiles, links) however many records there are; AimDB's
// servers ignore record.list params.
var listParams = map[string]bool{"detail": true}

// writeJSONRaw prints raw JSON indented.
func writeJSONRaw(a *app, raw json.RawMessage) error {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return err
	}
	b.WriteByte('\n')
	_, err := a.stdout.Write(b.Bytes())
	return err
}

func recordTable(rows []aimx.RecordInfo) *table {
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, func(x, y aimx.RecordInfo) int { return compareKeys(x.RecordKey, y.RecordKey) })
	t := &table{header: []string{"KEY", "TYPE", "BUFFER", "ORIGIN", "PROD/CONS", "PRODUCED/DROPPED", "WRITABLE"}}
	known := hasCounters(rows)
	for _, r := range rows {
		w := "-"
		if r.Writable {
			w = "yes"
		}
		counts := "-"
		if known {
			counts = fmt.Sprintf("%d/%d", r.ProducedCount, r.DroppedCount)
		}
		t.add(r.RecordKey, r.Name, bufferText(r.BufferType, r.BufferCapacity), originText(r.Origin),
			fmt.Sprintf("%d/%d", r.ProducerCount, r.ConsumerCount), counts, w)
	}
	return t
}

// hasCounters reports whether the server sent buffer counters: Go
// servers always do, AimDB's only when built with observability, and
// then with an occupancy for rings.
func hasCounters(rows []aimx.RecordInfo) bool {
	return slices.ContainsFunc(rows, func(r aimx.RecordInfo) bool {
		return r.Occupancy != nil || r.ProducedCount > 0 || r.DroppedCount > 0
	})
}

// compareKeys orders record keys segment by segment, numeric segments by
// value: station.2 sorts before station.10.
func compareKeys(x, y string) int {
	xs, ys := strings.Split(x, "."), strings.Split(y, ".")
	for i := range min(len(xs), len(ys)) {
		a, b := xs[i], ys[i]
		if a == b {
			continue
		}
		na, errA := strconv.ParseUint(a, 10, 64)
		nb, errB := strconv.ParseUint(b, 10, 64)
		if errA == nil && errB == nil && na != nb {
			return cmp.Compare(na, nb)
		}
		return strings.Compare(a, b)
	}
	return cmp.Compare(len(xs), len(ys))
}

// bufferText is the short form of a buffer: ring(N), latest, mailbox.
func bufferText(kind string, capacity int) string {
	switch kind {
	case "spmc_ring":
		return fmt.Sprintf("ring(%d)", capacity)
	case "single_latest":
		return "latest"
	}
	return kind
}

// origin is RecordOrigin decoded: "source", "passive" or one of the
// externally tagged variants.
type origin struct {
	Kind     string   // source, passive, link, transform or transform_join
	Protocol string   // link
	Address  string   // link
	Input    string   // transform
	Inputs   []string // transform_join
}

func decodeOrigin(raw json.RawMessage) origin {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return origin{Kind: s}
	}
	var v struct {
		Link *struct {
			Protocol string `json:"protocol"`
			Address  string `json:"address"`
		} `json:"link"`
		Transform *struct {
			Input string `json:"input"`
		} `json:"transform"`
		Join *struct {
			Inputs []string `json:"inputs"`
		} `json:"transform_join"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return origin{Kind: string(raw)}
	}
	switch {
	case v.Link != nil:
		return origin{Kind: "link", Protocol: v.Link.Protocol, Address: v.Link.Address}
	case v.Transform != nil:
		return origin{Kind: "transform", Input: v.Transform.Input}
	case v.Join != nil:
		return origin{Kind: "transform_join", Inputs: v.Join.Inputs}
	}
	return origin{Kind: string(raw)}
}

// String is the origin as the tables show it.
func (o origin) String() string {
	switch o.Kind {
	case "link":
		if o.Address != "" {
			return "link " + o.Address
		}
		return "link " + o.Protocol
	case "transform":
		return "transform ← " + o.Input
	case "transform_join":
		return "join ← " + strings.Join(o.Inputs, ",")
	}
	return o.Kind
}

func originText(raw json.RawMessage) string { return decodeOrigin(raw).String() }

func newRecordGetCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "get KEY",
		Short: "Print a record's current value",
		Long: `Print a record's current value: the value of a latest record, the pending
value of a mailbox (observed, not taken), the newest retained value of a
ring. A record that exists but holds no value yet is reported as such,
apart from an unknown key. The table format indents the JSON; -o json
prints it on one line.`,
		Args:              args("KEY"),
		ValidArgsFunction: a.completeKeys(false),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(cmd, func(ctx context.Context, c *aimx.Client) error {
				v, err := c.Get(ctx, args[0])
				if err != nil {
					return err
				}
				return a.printValue(v)
			})
		},
	}
}

// printValue prints one JSON value: indented in table mode, compact in
// json mode.
func (a *app) printValue(v json.RawMessage) error {
	var b bytes.Buffer
	var err error
	if a.json() {
		err = json.Compact(&b, v)
	} else {
		err = json.Indent(&b, v, "", "  ")
	}
	if err != nil {
		b.Reset()
		b.Write(v)
	}
	b.WriteByte('\n')
	_, err = a.stdout.Write(b.Bytes())
	return err
}

func newRecordSetCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "set KEY JSON",
		Short: "Write a record (when the server's policy allows)",
		Long: `Write a record with record.set. The value is JSON in the record's own
encoding, e.g. aimdb record set cfg '{"level":9}'. The server refuses
records outside its write policy and records a source or transform writes.`,
		Example:           `  aimdb record set cfg '{"level":9}'`,
		Args:              args("KEY", "JSON"),
		ValidArgsFunction: a.completeKeys(true),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, value := args[0], json.RawMessage(args[1])
			if !json.Valid(value) {
				var v any
				err := json.Unmarshal(value, &v)
				return usagef("record set %q: the value %q is not JSON: %v", key, args[1], err)
			}
			return a.withClient(cmd, func(ctx context.Context, c *aimx.Client) error {
				res, err := c.Set(ctx, key, value)
				if err != nil {
					return err
				}
				if a.json() {
					return writeJSON(a.stdout, res)
				}
				if len(res.Value) == 0 {
					_, err := fmt.Fprintf(a.stdout, "%s: %s\n", key, res.Status)
					return err
				}
				var b bytes.Buffer
				if json.Compact(&b, res.Value) != nil {
					b.Write(res.Value)
				}
				_, err = fmt.Fprintf(a.stdout, "%s: %s, value now %s\n", key, res.Status, b.Bytes())
				return err
			})
		},
	}
}

func newRecordDrainCmd(a *app) *cobra.Command {
	var limit uint64
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "drain KEY",
		Short: "Take the values that arrived since the connection's last drain",
		Long: `Drain a record: the values that arrived since the previous drain of the
record on this connection, oldest first. The first drain of a ring opens
its cursor and returns nothing; --wait keeps the connection open that long
and drains again, so a ring's new values are seen.

Draining a mailbox takes its pending value: the record's own consumer
then does not get it. Taking is a write, so the server allows it only
when its write policy names the record, and refuses it (denied)
otherwise. To look at a mailbox without taking, use aimdb record get or
aimdb watch.`,
		Args:              args("KEY"),
		ValidArgsFunction: a.completeKeys(false),
		RunE: func(cmd *cobra.Command, args []string) error {
			if wait < 0 {
				return usagef("--wait %v: want a duration of 0 or more", wait)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), a.timeout+wait)
			defer cancel()
			c, err := a.dial(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			res, err := c.Drain(ctx, args[0], limit)
			if err != nil {
				return err
			}
			if wait > 0 && (limit == 0 || uint64(res.Count) < limit) {
				select {
				case <-time.After(wait):
				case <-ctx.Done():
					return ctx.Err()
				}
				more, err := c.Drain(ctx, args[0], limit-min(limit, uint64(res.Count)))
				if err != nil {
					return err
				}
				res.Values = append(res.Values, more.Values...)
				res.Count = len(res.Values)
			}
			if a.json() {
				return writeJSON(a.stdout, res)
			}
			for _, v := range res.Values {
				if err := a.printCompact(v); err != nil {
					return err
				}
			}
			_, err = fmt.Fprintf(a.stderr, "%s: %d value(s) drained\n", args[0], res.Count)
			return err
		},
	}
	cmd.Flags().Uint64Var(&limit, "limit", 0, "take at most this many values (0: all)")
	cmd.Flags().DurationVar(&wait, "wait", 0, "after the first drain, wait this long and drain again")
	return cmd
}

// printCompact prints one JSON value on one line.
func (a *app) printCompact(v json.RawMessage) error {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		b.Reset()
		b.Write(v)
	}
	b.WriteByte('\n')
	_, err := a.stdout.Write(b.Bytes())
	return err
}

func newRecordQueryCmd(a *app) *cobra.Command {
	var since, until, order string
	var limit uint64
	var bucket time.Duration
	cmd := &cobra.Command{
		Use:   "query PATTERN",
		Short: "Query the stored history of the records matching a pattern",
		Long: `Query stored values (record.query) of the records matching PATTERN ("*" one
segment, "#" any number). --since and --until take an RFC 3339 time, Unix
milliseconds, or a duration before now ("15m"). --limit is per record:
the oldest values since --since, or with --order desc the newest.
--bucket downsamples to the newest value of each record per bucket.
The server answers only when it has persistence configured.`,
		Args: args("PATTERN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := aimx.QueryParams{Pattern: args[0]}
			now := a.now()
			var err error
			if q.Start, err = parseTime("--since", since, now); err != nil {
				return err
			}
			if q.End, err = parseTime("--until", until, now); err != nil {
				return err
			}
			if q.Start != nil && q.End != nil && *q.Start > *q.End {
				return usagef("--since %s is after --until %s", since, until)
			}
			if limit > 0 {
				q.Limit = &limit
			}
			switch order {
			case "asc", "desc":
				q.Order = order
			default:
				return usagef("--order %q: want asc or desc", order)
			}
			if bucket < 0 || bucket > 0 && bucket < time.Millisecond {
				return usagef("--bucket %v: want a duration of at least 1ms", bucket)
			}
			if bucket > 0 {
				ms := uint64(bucket.Milliseconds())
				q.Bucket = &ms
			}
			return a.withClient(cmd, func(ctx context.Context, c *aimx.Client) error {
				res, err := c.Query(ctx, q)
				if err != nil {
					return err
				}
				if a.json() {
					return writeJSON(a.stdout, res)
				}
				t := &table{header: []string{"TIME", "TOPIC", "PAYLOAD"}}
				for _, r := range res.Records {
					var b bytes.Buffer
					if json.Compact(&b, r.Payload) != nil {
						b.Write(r.Payload)
					}
					t.add(time.UnixMilli(int64(r.TS)).UTC().Format("2006-01-02T15:04:05.000Z07:00"), r.Topic, b.String())
				}
				return t.write(a.stdout)
			})
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "oldest time: RFC 3339, Unix ms, or a duration before now")
	cmd.Flags().StringVar(&until, "until", "", "newest time: RFC 3339, Unix ms, or a duration before now")
	cmd.Flags().Uint64Var(&limit, "limit", 0, "values per record (0: the server's default)")
	cmd.Flags().StringVar(&order, "order", "asc", "asc (oldest first) or desc (newest first)")
	cmd.Flags().DurationVar(&bucket, "bucket", 0, "downsample: the newest value of each record per bucket of this length")
	return cmd
}

// parseTime parses a time bound into Unix milliseconds: RFC 3339, Unix
// milliseconds, or a duration before now. An empty s is no bound.
func parseTime(flag, s string, now time.Time) (*uint64, error) {
	if s == "" {
		return nil, nil
	}
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return &n, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		if t.UnixMilli() < 0 {
			return nil, usagef("%s %q: before 1970", flag, s)
		}
		ms := uint64(t.UnixMilli())
		return &ms, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		ms := uint64(max(now.Add(-d).UnixMilli(), 0))
		return &ms, nil
	}
	return nil, usagef("%s %q: want an RFC 3339 time, Unix milliseconds or a duration like 15m", flag, s)
}

// completeKeys completes record keys from the server (writable ones only
// when writable is set), within a short time limit.
func (a *app) completeKeys(writable bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		ctx, cancel := context.WithTimeout(ctx, min(a.timeout, 2*time.Second))
		defer cancel()
		c, err := a.dial(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer c.Close()
		rows, err := c.Records(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var keys []string
		for _, r := range rows {
			if strings.HasPrefix(r.RecordKey, toComplete) && (!writable || r.Writable) {
				keys = append(keys, r.RecordKey)
			}
		}
		slices.SortFunc(keys, compareKeys)
		return keys, cobra.ShellCompDirectiveNoFileComp
	}
}
