package lograte_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb/internal/lograte"
)

func TestLimiter(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	var l lograte.Limiter
	const every = 200 * time.Millisecond
	for range 50 {
		l.Warn(log, every, "refused", "remote", "10.0.0.1:5")
		l.Warn(log, every, "other")
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "msg=refused remote=10.0.0.1:5 suppressed=0") || !strings.Contains(lines[1], "msg=other suppressed=0") {
		t.Fatalf("first burst logged:\n%s\nwant one line per message", buf.String())
	}
	time.Sleep(250 * time.Millisecond)
	buf.Reset()
	l.Warn(log, every, "refused", "remote", "10.0.0.2:6")
	if got := buf.String(); !strings.Contains(got, "remote=10.0.0.2:6 suppressed=49") {
		t.Fatalf("after the interval: %q; want the line with suppressed=49", got)
	}
}
