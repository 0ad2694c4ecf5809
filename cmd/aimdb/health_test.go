package main

import (
	"context"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/loopback"
)

// Command is a command sent to a mailbox.
type Command struct {
	Op        string `json:"op"`
	Timestamp int64  `json:"timestamp"` // Unix ms
}

// TestMCPHealthRates runs health through the built binary against a DB
// whose records each have their own rate: only the source that stopped
// and the slow tap are findings.
//
//	periodic  Latest, a source every 50ms, values with timestamps: healthy, not slow
//	cmd       Mailbox, one command an hour ago: sporadic, not stale
//	stopped   Latest, a source that wrote 20 values 5ms apart, then nothing: stale
//	jobs      Ring(4), passive, a tap that takes 30ms a value: slow
//	gw.out    Latest, passive, linked out to loop://gw/temp
//	gw.temp   Latest, linked in from loop://gw/temp, two messages: a healthy gateway
func TestMCPHealthRates(t *testing.T) {
	bin := buildBinary(t)
	broker := loopback.New()
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"loop": broker.Dialer()}})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	periodic, err := aimdb.Register(db, aimdb.NewKey[Temp]("periodic"), aimdb.Latest())
	must(err)
	periodic.RemoteAccess(codec.JSON[Temp]{})
	periodic.Source(func(ctx context.Context, p *aimdb.Producer[Temp]) error {
		tk := time.NewTicker(50 * time.Millisecond)
		defer tk.Stop()
		for {
			if err := p.Produce(Temp{Celsius: 20, Timestamp: time.Now().UnixMilli()}); err != nil {
				return err
			}
			select {
			case <-ctx.Done():
				return nil
			case <-tk.C:
			}
		}
	})
	cmd, err := aimdb.Register(db, aimdb.NewKey[Command]("cmd"), aimdb.Mailbox())
	must(err)
	cmd.RemoteAccess(codec.JSON[Command]{})
	stopped, err := aimdb.Register(db, aimdb.NewKey[int]("stopped"), aimdb.Latest())
	must(err)
	stopped.RemoteAccess(codec.JSON[int]{})
	stopped.Source(func(ctx context.Context, p *aimdb.Producer[int]) error {
		for i := range 20 {
			if err := p.Produce(i); err != nil {
				return err
			}
			time.Sleep(5 * time.Millisecond)
		}
		<-ctx.Done() // stuck, still running
		return nil
	})
	jobs, err := aimdb.Register(db, aimdb.NewKey[int]("jobs"), aimdb.Ring(4))
	must(err)
	jobs.Tap(func(ctx context.Context, s *aimdb.Subscription[int]) error {
		for range s.All(ctx) {
			time.Sleep(30 * time.Millisecond)
		}
		return nil
	})
	gwOut, err := aimdb.Register(db, aimdb.NewKey[Temp]("gw.out"), aimdb.Latest())
	must(err)
	gwOut.LinkTo("loop://gw/temp", codec.JSON[Temp]{})
	gwIn, err := aimdb.Register(db, aimdb.NewKey[Temp]("gw.temp"), aimdb.Latest())
	must(err)
	gwIn.LinkFrom("loop://gw/temp", codec.JSON[Temp]{})
	gwIn.RemoteAccess(codec.JSON[Temp]{})

	stop := aimdbtest.Start(t, db)
	srv := aimx.NewServer(db, nil)
	ctx, cancel := context.WithCancel(context.Background())
	ln, fr, err := aimx.Listen("tcp://127.0.0.1:0")
	must(err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln, fr) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if err := stop(); err != nil {
			t.Errorf("db: %v", err)
		}
	})
	started := time.Now()

	must(cmd.Produce(Command{Op: "reboot", Timestamp: time.Now().Add(-time.Hour).UnixMilli()}))
	meta := func() map[string]aimdb.RecordMetadata {
		m := map[string]aimdb.RecordMetadata{}
		for _, r := range db.Records() {
			m[r.RecordKey] = r
		}
		return m
	}
	waitFor(t, "the gateway link", func() bool {
		m := meta()
		return len(m["gw.out"].Links) == 1 && m["gw.out"].Links[0].Connected && m["gw.temp"].Links[0].Connected
	})
	for i := range 2 {
		must(gwOut.Produce(Temp{Celsius: float64(i)}))
		waitFor(t, "a gateway message", func() bool { return meta()["gw.temp"].ProducedCount == uint64(i+1) })
	}
	for i := range 3 {
		must(jobs.Produce(i))
	}
	waitFor(t, "the stopped source's values and the slow tap", func() bool {
		m := meta()
		return m["stopped"].ProducedCount == 20 && m["jobs"].ConsumedCount == 3 && m["periodic"].ProducedCount >= 3
	})
	// The gateway's two messages over half a second: a rate of one in
	// 250ms, which a second of silence does not contradict.
	time.Sleep(time.Until(started.Add(500 * time.Millisecond)))

	c := exec.Command(bin, "--connect", "tcp://"+ln.Addr().String(), "mcp")
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "aimdb-test", Version: "v0"}, nil).Connect(t.Context(), &mcp.CommandTransport{Command: c}, nil)
	must(err)
	defer cs.Close()
	var health healthOut
	call(t, cs, "health", map[string]any{"interval_ms": 1000}, &health)
	type kr struct{ kind, record string }
	var got []kr
	for _, f := range health.Findings {
		got = append(got, kr{f.Kind, f.Record})
	}
	if want := []kr{{"stale", "stopped"}, {"slow_stage", "jobs"}}; health.Healthy || !slices.Equal(got, want) {
		t.Errorf("findings %v, want %v; health %+v", got, want, health)
	}
}
