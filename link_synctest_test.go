//go:build !tinygo

// TinyGo has no testing/synctest: the tests in this file run in a synctest
// bubble, on virtual time, so they run on the gc targets only.

package aimdb_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/loopback"
)

// countingDialer counts Dial calls.
type countingDialer struct {
	d     connector.Dialer
	dials atomic.Int32
}

func (c *countingDialer) Dial(ctx context.Context) (connector.Session, error) {
	c.dials.Add(1)
	return c.d.Dial(ctx)
}

// TestLinkBackoffUsesTheDBClock: with the peer down, the DB dials again
// after 100ms, 200ms, 400ms… (each wait jittered to between half and all
// of it), on the DB's clock — here synctest's fake time.
func TestLinkBackoffUsesTheDBClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := loopback.New()
		b.Stop()
		cd := &countingDialer{d: b.Dialer()}
		db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"loop": cd}})
		r := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, aimdb.NewKey[int]("b.out"), aimdb.Ring(4)))
		r.LinkTo("loop://b", intCodec{})
		stop := aimdbtest.Start(t, db)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		// Lower bound of the waits: 50+100+…+3200 = 6350ms, 7 waits → at
		// most 8 dials; upper: 100+…+3200 = 6300ms, 6 waits → at least 7.
		if n := cd.dials.Load(); n < 7 || n > 8 {
			t.Errorf("%d dials in 10s; want 7 or 8", n)
		}
		md := db.Records()[0].Links[0]
		if md.State != aimdb.LinkDisconnected || md.LastError != loopback.ErrDown.Error() {
			t.Errorf("link = %+v", md)
		}
		b.Start()
		// The last dial was before 10s and the wait after it is at most
		// the current delay, 12.8s.
		time.Sleep(13 * time.Second)
		synctest.Wait()
		if md := db.Records()[0].Links[0]; !md.Connected || md.Reconnects != 0 {
			t.Errorf("after the peer started: %+v", md)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestLinkShutdownWhileOffline: queued messages that cannot be sent by the
// shutdown timeout are counted as dropped, and Run returns; with nothing
// queued, an unreachable peer does not hold shutdown up at all.
func TestLinkShutdownWhileOffline(t *testing.T) {
	for _, queued := range []int{0, 5} {
		synctest.Test(t, func(t *testing.T) {
			b := loopback.New()
			b.Stop()
			db := aimdb.New(&aimdb.Options{
				Connectors:      map[string]connector.Dialer{"loop": b.Dialer()},
				ShutdownTimeout: time.Second,
			})
			r := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, aimdb.NewKey[int]("s.out"), aimdb.Ring(8)))
			r.LinkTo("loop://s", intCodec{})
			in := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, aimdb.NewKey[int]("s.in"), aimdb.Ring(8)))
			in.LinkFrom("loop://s", intCodec{})
			stop := aimdbtest.Start(t, db)
			for i := range queued {
				_ = r.Produce(i)
			}
			synctest.Wait()
			start := time.Now()
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			md := db.Records()[0].Links[0]
			if md.Dropped != uint64(queued) || md.State != aimdb.LinkStopped || md.Queued != 0 {
				t.Errorf("queued %d: link after shutdown = %+v", queued, md)
			}
			want := time.Duration(0)
			if queued > 0 {
				want = time.Second
			}
			if took != want {
				t.Errorf("queued %d: shutdown took %v; want %v", queued, took, want)
			}
		})
	}
}

// TestLinkRouteTopic: messages routed to an unknown record are counted as
// decode errors and stored nowhere.
func TestLinkRouteTopic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := loopDB(nil)
		out := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, aimdb.NewKey[int]("r.out"), aimdb.Ring(8)))
		out.LinkTo("loop://dev/x", intCodec{}, aimdb.TopicFrom(func(v int) string {
			return []string{"dev/a", "dev/b", "dev/zz"}[v]
		}))
		all := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, aimdb.NewKey[int]("r.dev.a"), aimdb.Ring(8)))
		all.LinkFrom("loop://dev/+", intCodec{}, aimdb.RouteTopic(func(topic string) string { return "r." + topic[:3] + "." + topic[4:] }))
		devB := aimdbtest.Must[*aimdb.Record[int]](t)(aimdb.Register(db, aimdb.NewKey[int]("r.dev.b"), aimdb.Ring(8)))
		subA := aimdbtest.Must[*aimdb.Subscription[int]](t)(all.Subscribe())
		subB := aimdbtest.Must[*aimdb.Subscription[int]](t)(devB.Subscribe())
		defer subA.Close()
		defer subB.Close()
		aimdbtest.Start(t, db)
		synctest.Wait()
		for i := range 3 {
			_ = out.Produce(i)
		}
		synctest.Wait()
		if got := aimdbtest.Collect(t, subA, 1); got[0] != 0 {
			t.Errorf("r.dev.a got %v", got)
		}
		if got := aimdbtest.Collect(t, subB, 1); got[0] != 1 {
			t.Errorf("r.dev.b got %v", got)
		}
		if md := db.Records()[1].Links[0]; md.Received != 3 || md.DecodeErrors != 1 {
			t.Errorf("inbound link = %+v", md)
		}
	})
}
