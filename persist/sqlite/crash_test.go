//go:build !js && !wasip1

package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/persist"
	"github.com/aimdb-go/aimdb/persist/sqlite"
)

const crashEnv = "AIMDB_SQLITE_CRASH_CHILD"

var crashKey = aimdb.NewKey[int]("crash.seq")

type seqCodec struct{}

func (seqCodec) Encode(v int) ([]byte, error) { return strconv.AppendInt(nil, int64(v), 10), nil }
func (seqCodec) Decode(b []byte) (int, error) { return strconv.Atoi(string(b)) }

// TestCrashChild is the process TestCrashSafety kills: with the
// environment variable set, it writes a sequence to the store at 1000
// values a second, continuing after the newest stored value, and prints
// "committed N" each time the store confirmed values up to N. Without
// the variable it does nothing.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		return
	}
	b, err := sqlite.Open(path, nil)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	next := 0
	if rows, err := b.Latest(context.Background(), crashKey.Name()); err == nil && len(rows) == 1 {
		n, _ := strconv.Atoi(string(rows[0].Data))
		next = n + 1
	}
	db := aimdb.New(nil)
	rec, _ := aimdb.Register(db, crashKey, aimdb.Ring(64))
	persist.Attach(rec, persist.NewStore(b, &persist.StoreOptions{BatchSize: 64}), seqCodec{}, &persist.Options{Replay: -1})
	rec.Source(func(ctx context.Context, p *aimdb.Producer[int]) error {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for v := next; ; v++ {
			if err := p.Produce(v); err != nil {
				return err
			}
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
	})
	go db.Run(context.Background())
	<-db.Started()
	fmt.Println("started", next)
	var last uint64
	for {
		for _, m := range db.Records() {
			if m.Persist != nil && m.Persist.Committed != last {
				last = m.Persist.Committed
				fmt.Println("committed", next+int(last)-1)
			}
		}
		time.Sleep(time.Millisecond) // polling the counter; the parent kills us at any time
	}
}

// TestCrashSafety kills a writing process with SIGKILL 20 times and
// checks after each kill that the database opens cleanly, holds every
// value the process saw committed, and holds each value once, with no
// gap.
func TestCrashSafety(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crash.db")
	reported := -1
	for round := range 20 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		commits := 0
		// Kill after a number of commit reports that varies by round, so
		// that the kill lands at different points of the write cycle.
		for commits < 5+round%7*3 && sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 2 && f[0] == "committed" {
				n, _ := strconv.Atoi(f[1])
				reported = max(reported, n)
				commits++
			} else if len(f) > 0 && f[0] == "error" {
				t.Fatalf("round %d: child: %s", round, sc.Text())
			}
		}
		cmd.Process.Kill()
		cmd.Wait()
		if commits == 0 {
			t.Fatalf("round %d: the child reported no commit", round)
		}

		b, err := sqlite.Open(path, nil)
		if err != nil {
			t.Fatalf("round %d: reopening after the kill: %v", round, err)
		}
		var check string
		if err := b.DB().QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
			t.Fatalf("round %d: integrity_check = %q, %v", round, check, err)
		}
		rows, err := b.Query(t.Context(), persist.Query{Pattern: crashKey.Name()})
		if err != nil {
			t.Fatal(err)
		}
		b.Close()
		for i, r := range rows {
			if string(r.Data) != strconv.Itoa(i) {
				t.Fatalf("round %d: row %d holds %s: a value is missing or duplicated", round, i, r.Data)
			}
		}
		if len(rows)-1 < reported {
			t.Fatalf("round %d: %d values stored, but the child saw up to %d committed", round, len(rows), reported)
		}
	}
	t.Logf("%d values reported committed over 20 kills, all stored once", reported+1)
}
