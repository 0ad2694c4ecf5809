package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/aimdb-go/aimdb/aimx"
)

// redrawEvery is the shortest interval between two redraws of the live
// table.
const redrawEvery = 100 * time.Millisecond

func newWatchCmd(a *app) *cobra.Command {
	var o watchOptions
	cmd := &cobra.Command{
		Use:   "watch PATTERN...",
		Short: "Stream live updates of records matching keys or patterns",
		Long: `Subscribe to record keys or patterns ("*" one segment, "#" any number) and
print every update. On a terminal the updates fill a table, one row per
record, redrawn in place; otherwise each update is one line:

  <RFC 3339 time> <topic> seq=<n> [lost=<k>] <json>

lost counts values the subscription missed just before this one (gaps in
the server's seq and updates dropped because the reader was slow).
-o json prints one object per line: {"topic","seq","lost","snapshot","data"}.
Ctrl-C, --count or --duration stop it; a summary goes to stderr.`,
		Example: `  aimdb watch 'station.*.temperature'
  aimdb watch --count 10 -o json sensors.temp`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("%s: want at least one key or pattern (see %s --help)", cmd.CommandPath(), cmd.CommandPath())
			}
			return nil
		},
		ValidArgsFunction: a.completeKeys(false),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.duration < 0 {
				return usagef("--duration %v: want a duration of 0 or more", o.duration)
			}
			o.patterns = args
			return a.watch(cmd.Context(), o)
		},
	}
	cmd.Flags().Uint64VarP(&o.count, "count", "n", 0, "stop after this many updates (0: no limit)")
	cmd.Flags().DurationVarP(&o.duration, "duration", "d", 0, "stop after this long (0: no limit)")
	return cmd
}

type watchOptions struct {
	patterns []string
	count    uint64
	duration time.Duration
}

// A watchView shows updates as they arrive.
type watchView interface {
	add(u aimx.Update, at time.Time) error
	// tick is called at most every redrawEvery.
	tick(now time.Time) error
	// close finishes the view.
	close(now time.Time) error
}

// watch subscribes to every pattern and shows the updates until ctx
// ends, the count is reached or the duration has passed. It returns nil
// in all three cases.
func (a *app) watch(ctx context.Context, o watchOptions) error {
	dctx, dcancel := context.WithTimeout(ctx, a.timeout)
	defer dcancel()
	c, err := a.dial(dctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := checkPatterns(dctx, c, o.patterns); err != nil {
		return err
	}
	streams := make([]*aimx.Stream, 0, len(o.patterns))
	defer func() {
		for _, s := range streams {
			s.Close()
		}
	}()
	for _, p := range o.patterns {
		s, err := c.Subscribe(dctx, p)
		if err != nil {
			return err
		}
		streams = append(streams, s)
	}

	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	ctx, cancel := context.WithCancel(ctx)
	updates := make(chan aimx.Update)
	failed := make(chan error, len(streams))
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for _, s := range streams {
		wg.Go(func() {
			for {
				u, err := s.Next(ctx)
				if err != nil {
					if ctx.Err() == nil {
						failed <- fmt.Errorf("watch %q: %w", s.Pattern(), err)
					}
					return
				}
				select {
				case updates <- u:
				case <-ctx.Done():
					return
				}
			}
		})
	}

	var view watchView
	var tick <-chan time.Time
	if ok, width, height := a.terminal(); ok && !a.json() {
		t := time.NewTicker(redrawEvery)
		defer t.Stop()
		tick = t.C
		view = &tableView{w: a.stdout, width: width, height: height, title: strings.Join(o.patterns, " "), endpoint: a.connect, rows: map[string]*watchRow{}}
	} else {
		view = &lineView{w: a.stdout, json: a.json()}
	}
	var n, lost uint64
	topics := map[string]bool{}
	summary := func() error {
		if err := view.close(a.now()); err != nil {
			return err
		}
		_, err := fmt.Fprintf(a.stderr, "watch: %d update(s) from %d record(s), %d lost\n", n, len(topics), lost)
		return err
	}
	for {
		select {
		case u := <-updates:
			n++
			lost += u.Lost
			topics[u.Topic] = true
			if err := view.add(u, a.now()); err != nil {
				return err
			}
			if o.count > 0 && n >= o.count {
				return summary()
			}
		case now := <-tick:
			if err := view.tick(now); err != nil {
				return err
			}
		case err := <-failed:
			view.close(a.now())
			return err
		case <-ctx.Done():
			return summary()
		}
	}
}

// checkPatterns refuses a wildcard pattern that matches no record: the
// server would accept it and never send anything.
func checkPatterns(ctx context.Context, c *aimx.Client, patterns []string) error {
	if !slices.ContainsFunc(patterns, aimx.IsWildcard) {
		return nil
	}
	rows, err := c.Records(ctx)
	if err != nil {
		return err
	}
	for _, p := range patterns {
		if !aimx.IsWildcard(p) {
			continue
		}
		if !slices.ContainsFunc(rows, func(r aimx.RecordInfo) bool { return aimx.MatchTopic(p, r.RecordKey) }) {
			return fmt.Errorf("watch %q: no record on %s matches the pattern", p, c.Endpoint())
		}
	}
	return nil
}

// A lineView prints one line per update.
type lineView struct {
	w    io.Writer
	json bool
	buf  bytes.Buffer
}

func (v *lineView) add(u aimx.Update, at time.Time) error {
	v.buf.Reset()
	if v.json {
		b, err := json.Marshal(struct {
			Topic    string          `json:"topic"`
			Seq      uint64          `json:"seq"`
			Lost     uint64          `json:"lost"`
			Snapshot bool            `json:"snapshot"`
			Data     json.RawMessage `json:"data"`
		}{u.Topic, u.Seq, u.Lost, u.Snapshot, compactJSON(u.Data)})
		if err != nil {
			return err
		}
		v.buf.Write(b)
	} else {
		fmt.Fprintf(&v.buf, "%s %s seq=%d", at.Format(timeFormat), u.Topic, u.Seq)
		if u.Lost > 0 {
			fmt.Fprintf(&v.buf, " lost=%d", u.Lost)
		}
		v.buf.WriteByte(' ')
		v.buf.Write(compactJSON(u.Data))
	}
	v.buf.WriteByte('\n')
	_, err := v.w.Write(v.buf.Bytes())
	return err
}

func (v *lineView) tick(time.Time) error  { return nil }
func (v *lineView) close(time.Time) error { return nil }

// timeFormat is RFC 3339 with milliseconds.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// compactJSON returns data on one line; data that is not JSON is quoted
// as a string.
func compactJSON(data json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, data); err != nil {
		q, _ := json.Marshal(string(data))
		return q
	}
	return b.Bytes()
}

// A tableView keeps one row per topic and redraws the table in place.
type tableView struct {
	w               io.Writer
	width, height   int
	title, endpoint string

	rows          map[string]*watchRow
	order         []string // topics, sorted by compareKeys
	updates, lost uint64
	drawn         int // lines drawn by the previous redraw
	dirty         bool
	lastDraw      time.Time
	hiddenCursor  bool
	buf           bytes.Buffer
}

type watchRow struct {
	value         json.RawMessage
	at            time.Time
	updates, lost uint64
}

func (v *tableView) add(u aimx.Update, at time.Time) error {
	r := v.rows[u.Topic]
	if r == nil {
		r = &watchRow{}
		v.rows[u.Topic] = r
		i, _ := slices.BinarySearchFunc(v.order, u.Topic, compareKeys)
		v.order = slices.Insert(v.order, i, u.Topic)
	}
	r.value, r.at = compactJSON(u.Data), at
	r.updates++
	r.lost += u.Lost
	v.updates++
	v.lost += u.Lost
	v.dirty = true
	return nil
}

func (v *tableView) tick(now time.Time) error {
	// Redraw on news, and once a second for the ages.
	if !v.dirty && now.Sub(v.lastDraw) < time.Second {
		return nil
	}
	return v.redraw(now)
}

func (v *tableView) close(now time.Time) error {
	if err := v.redraw(now); err != nil {
		return err
	}
	_, err := io.WriteString(v.w, "\x1b[?25h") // show the cursor
	return err
}

// redraw moves the cursor back to the table's first line and prints it
// again, each line cleared to its end, then clears what is left below.
func (v *tableView) redraw(now time.Time) error {
	v.dirty, v.lastDraw = false, now
	b := &v.buf
	b.Reset()
	if !v.hiddenCursor {
		b.WriteString("\x1b[?25l")
		v.hiddenCursor = true
	}
	if v.drawn > 0 {
		fmt.Fprintf(b, "\x1b[%dF", v.drawn)
	}
	lines := v.lines(now)
	for _, l := range lines {
		b.WriteString(truncate(l, v.width-1))
		b.WriteString("\x1b[K\n")
	}
	b.WriteString("\x1b[J")
	v.drawn = len(lines)
	_, err := v.w.Write(b.Bytes())
	return err
}

// lines renders the table to fit the terminal.
func (v *tableView) lines(now time.Time) []string {
	head := fmt.Sprintf("watching %s on %s: %d update(s), %d lost", v.title, v.endpoint, v.updates, v.lost)
	room := max(v.height-4, 1) // title, header, the "more" line and the cursor's
	order := v.order
	var more string
	if len(order) > room {
		more = fmt.Sprintf("… %d more record(s)", len(order)-room)
		order = order[:room]
	}
	t := &table{header: []string{"TOPIC", "AGE", "UPDATES", "LOST", "VALUE"}, right: map[int]bool{1: true, 2: true, 3: true}}
	for _, k := range order {
		r := v.rows[k]
		t.add(k, formatAge(now.Sub(r.at)), fmt.Sprint(r.updates), fmt.Sprint(r.lost), string(r.value))
	}
	var sb strings.Builder
	t.write(&sb)
	out := append([]string{head}, strings.Split(strings.TrimSuffix(sb.String(), "\n"), "\n")...)
	if len(v.order) == 0 {
		out = append(out, "(waiting for updates)")
	}
	if more != "" {
		out = append(out, more)
	}
	return out
}

// formatAge prints a duration coarsely: 0.4s, 12s, 3m05s, 2h10m.
func formatAge(d time.Duration) string {
	switch {
	case d < 0:
		return "0.0s"
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
