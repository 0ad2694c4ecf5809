package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/internal/tooltest"
)

// startWatch runs aimdb watch in-process until it returns.
func startWatch(ctx context.Context, endpoint string, args ...string) (stdout, stderr *syncBuffer, done chan int) {
	stdout, stderr, done = &syncBuffer{}, &syncBuffer{}, make(chan int, 1)
	env := func(k string) string {
		if k == "AIMDB_CONNECT" {
			return endpoint
		}
		return ""
	}
	go func() { done <- run(ctx, append([]string{"watch"}, args...), stdout, stderr, env) }()
	return stdout, stderr, done
}

func lines(s string) int { return strings.Count(s, "\n") }

// TestWatchLines checks the non-terminal output: a wildcard's snapshots,
// then live events, one line each, until --count.
func TestWatchLines(t *testing.T) {
	for _, format := range []string{"table", "json"} {
		t.Run(format, func(t *testing.T) {
			f := startFixture(t, nil)
			stdout, stderr, done := startWatch(t.Context(), f.endpoint, "sensors.*", "--count", "4", "-o", format)
			waitFor(t, "the snapshots", func() bool { return lines(stdout.String()) == 2 })
			if err := f.temp.Produce(Temp{Celsius: 23}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the temperature", func() bool { return lines(stdout.String()) == 3 })
			if err := f.humidity.Produce(41); err != nil {
				t.Fatal(err)
			}
			if code := <-done; code != 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr.String())
			}
			if got, want := stderr.String(), "watch: 4 update(s) from 2 record(s), 0 lost\n"; got != want {
				t.Errorf("stderr = %q, want %q", got, want)
			}
			golden(t, "watch."+format, maskTimes(stdout.String()))
		})
	}
}

// TestWatchStops checks that Ctrl-C (the context ending) and --duration
// end a watch with exit status 0 and a summary.
func TestWatchStops(t *testing.T) {
	f := startFixture(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	stdout, stderr, done := startWatch(ctx, f.endpoint, "cfg", "station.2.temperature")
	waitFor(t, "cfg's value", func() bool { return lines(stdout.String()) == 1 })
	cancel()
	if code := <-done; code != 0 || stderr.String() != "watch: 1 update(s) from 1 record(s), 0 lost\n" {
		t.Errorf("after interrupt: exit %d, stderr %q", code, stderr.String())
	}
	if !regexp.MustCompile(`^\S+ cfg seq=1 {"level":1}\n$`).MatchString(stdout.String()) {
		t.Errorf("stdout = %q", stdout.String())
	}

	start := time.Now()
	r := runCLI(t, f.endpoint, "watch", "station.*.temperature", "--duration", "200ms")
	if r.code != 0 || r.stdout != "" || r.stderr != "watch: 0 update(s) from 0 record(s), 0 lost\n" {
		t.Errorf("--duration: %+v", r)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("--duration 200ms returned after %v", d)
	}
}

// TestWatchViews checks the rendering of losses in the line views and
// of the live table.
func TestWatchViews(t *testing.T) {
	at := time.Date(2026, 11, 23, 1, 2, 3, 450e6, time.UTC)
	var b syncBuffer
	lv := &lineView{w: &b}
	lv.add(aimx.Update{Topic: "a.b", Seq: 7, Lost: 3, Data: json.RawMessage("{ \"x\": 1 }")}, at)
	lv.add(aimx.Update{Topic: "a.b", Seq: 8, Data: json.RawMessage(`not json`)}, at)
	want := "2026-11-23T01:02:03.450Z a.b seq=7 lost=3 {\"x\":1}\n2026-11-23T01:02:03.450Z a.b seq=8 \"not json\"\n"
	if b.String() != want {
		t.Errorf("line view:\n%s\nwant:\n%s", b.String(), want)
	}
	var j syncBuffer
	jv := &lineView{w: &j, json: true}
	jv.add(aimx.Update{Topic: "a.b", Seq: 2, Lost: 1, Snapshot: true, Data: json.RawMessage(`5`)}, at)
	if want := `{"topic":"a.b","seq":2,"lost":1,"snapshot":true,"data":5}` + "\n"; j.String() != want {
		t.Errorf("json view = %s, want %s", j.String(), want)
	}

	var tb syncBuffer
	tv := &tableView{w: &tb, width: 60, height: 6, title: "s.#", endpoint: "tcp://h:1", rows: map[string]*watchRow{}}
	tv.add(aimx.Update{Topic: "s.10", Seq: 1, Data: json.RawMessage(`{"v":"a long value that the terminal width cuts"}`)}, at)
	tv.add(aimx.Update{Topic: "s.2", Seq: 2, Data: json.RawMessage(`1`)}, at)
	tv.add(aimx.Update{Topic: "s.2", Seq: 5, Lost: 2, Data: json.RawMessage(`2`)}, at.Add(time.Second))
	tv.add(aimx.Update{Topic: "s.3", Seq: 6, Data: json.RawMessage(`3`)}, at)
	if err := tv.tick(at.Add(2 * time.Second)); err != nil {
		t.Fatal(err)
	}
	first := tb.String()
	want = "\x1b[?25l" +
		"watching s.# on tcp://h:1: 4 update(s), 2 lost\x1b[K\n" +
		"TOPIC   AGE  UPDATES  LOST  VALUE\x1b[K\n" +
		"s.2    1.0s        2     2  2\x1b[K\n" +
		"s.3    2.0s        1     0  3\x1b[K\n" +
		"… 1 more record(s)\x1b[K\n" +
		"\x1b[J"
	if first != want {
		t.Errorf("first frame:\n%q\nwant:\n%q", first, want)
	}
	// Nothing new and less than a second later: no redraw.
	tv.tick(at.Add(2500 * time.Millisecond))
	if tb.String() != first {
		t.Errorf("redrawn without news: %q", strings.TrimPrefix(tb.String(), first))
	}
	// A second later the ages move: the cursor goes back up 5 lines.
	tv.tick(at.Add(3 * time.Second))
	if next := strings.TrimPrefix(tb.String(), first); !strings.HasPrefix(next, "\x1b[5Fwatching") || !strings.Contains(next, "s.2    2.0s") {
		t.Errorf("second frame = %q", next)
	}
	tv.close(at.Add(3 * time.Second))
	if !strings.HasSuffix(tb.String(), "\x1b[?25h") {
		t.Errorf("the cursor is not shown again: %q", tb.String())
	}

	for d, want := range map[time.Duration]string{-time.Second: "0.0s", 440 * time.Millisecond: "0.4s", 12 * time.Second: "12s", 185 * time.Second: "3m05s", 130 * time.Minute: "2h10m"} {
		if got := formatAge(d); got != want {
			t.Errorf("formatAge(%v) = %q, want %q", d, got, want)
		}
	}
}

// buildBinary builds aimdb into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "aimdb")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestWatchTerminal runs the live view in a real terminal, a tmux pane
// of 100×12, and reads the screen: the table is redrawn in place, and
// Ctrl-C ends the watch with status 0 and a summary.
func TestWatchTerminal(t *testing.T) {
	tmux := tooltest.Path(t, "tmux")
	bin := buildBinary(t)
	f := startFixture(t, nil)
	sock := filepath.Join(t.TempDir(), "tmux.sock")
	tm := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(tmux, append([]string{"-S", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	// The pane's shell ignores SIGINT, so that it outlives aimdb and
	// writes its exit status; aimdb catches SIGINT itself (os/signal
	// re-enables an ignored SIGINT it is notified of). The pane stays
	// open for the last screen.
	exitFile := filepath.Join(t.TempDir(), "exit")
	script := fmt.Sprintf(`trap '' INT; %s --connect %s watch 'sensors.*' cfg; echo "exit=$?" > %s; exec sleep 600`, bin, f.endpoint, exitFile)
	tm("-f", "/dev/null", "new-session", "-d", "-x", "100", "-y", "12", "sh", "-c", script)
	t.Cleanup(func() { exec.Command(tmux, "-S", sock, "kill-server").Run() })
	screen := func() string { return tm("capture-pane", "-p") }
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; the screen:\n%s", what, screen())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	wait("the table", func() bool { return strings.Contains(screen(), "cfg ") && strings.Contains(screen(), "sensors.temp") })
	for i := range 5 {
		if err := f.temp.Produce(Temp{Celsius: 30 + float64(i)}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Millisecond)
	}
	wait("the updates", func() bool { return strings.Contains(screen(), `{"celsius":34}`) })
	s := screen()
	t.Logf("the screen:\n%s", s)
	if n := strings.Count(s, "TOPIC"); n != 1 {
		t.Errorf("the header appears %d times: the table was not redrawn in place\n%s", n, s)
	}
	row := regexp.MustCompile(`(?m)^sensors\.temp\s+\S+\s+(\d+)\s+(\d+)\s+\{"celsius":34\}\s*$`).FindStringSubmatch(s)
	if row == nil || row[1] != "6" || row[2] != "0" {
		t.Errorf("sensors.temp row: want 6 updates (snapshot and 5), 0 lost\n%s", s)
	}
	if !strings.Contains(s, "watching sensors.* cfg on "+f.endpoint+": 8 update(s), 0 lost") {
		t.Errorf("title line missing\n%s", s)
	}

	tm("send-keys", "C-c")
	wait("aimdb to exit after Ctrl-C", func() bool {
		b, err := os.ReadFile(exitFile)
		return err == nil && strings.HasSuffix(string(b), "\n")
	})
	if b, _ := os.ReadFile(exitFile); string(b) != "exit=0\n" {
		t.Errorf("after Ctrl-C: %s", b)
	}
	if s := screen(); !strings.Contains(s, "watch: 8 update(s) from 3 record(s), 0 lost") {
		t.Errorf("no summary after Ctrl-C\n%s", s)
	}
}

// TestWatchCountsLoss produces a burst faster than the subscription
// can carry: every value is either printed or counted as lost.
func TestWatchCountsLoss(t *testing.T) {
	f := startFixture(t, &aimx.ServerOptions{EventQueue: 1})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stdout, stderr, done := startWatch(ctx, f.endpoint, "sensors.temp", "-o", "json")
	// The subscription is open once the watch is connected and the
	// server counts the session's reader; a ring subscription starts at
	// the head, so wait for a first value to arrive.
	waitFor(t, "the first value", func() bool {
		if lines(stdout.String()) > 0 {
			return true
		}
		f.temp.Produce(Temp{Celsius: -1})
		time.Sleep(5 * time.Millisecond)
		return false
	})
	first := lines(stdout.String())
	var seen uint64 // values printed or counted lost, after the first ones
	const burst = 10000
	for i := range burst {
		if err := f.temp.Produce(Temp{Celsius: float64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// Values lost at the very end show only as the gap before the next
	// value: let the burst drain, then produce one more.
	time.Sleep(200 * time.Millisecond)
	if err := f.temp.Produce(Temp{Celsius: -2}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the last value", func() bool { return strings.HasSuffix(stdout.String(), `"data":{"celsius":-2}}`+"\n") })
	cancel()
	<-done
	var lost uint64
	for i, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var u struct{ Lost uint64 }
		if err := json.Unmarshal([]byte(l), &u); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if i >= first {
			seen += 1 + u.Lost
			lost += u.Lost
		}
	}
	if seen != burst+1 || lost == 0 {
		t.Errorf("printed+lost = %d, lost %d; want %d with some lost", seen, lost, burst+1)
	}
	if !strings.Contains(stderr.String(), fmt.Sprintf(", %d lost\n", lost)) {
		t.Errorf("summary %q does not report %d lost", stderr.String(), lost)
	}
}
