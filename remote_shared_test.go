package aimdb_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
)

// countingJSON is intJSON counting its encodes.
type countingJSON struct{ n *atomic.Int64 }

func (c countingJSON) Encode(v int) ([]byte, error) {
	c.n.Add(1)
	return intJSON{}.Encode(v)
}

func (countingJSON) Decode(b []byte) (int, error) { return intJSON{}.Decode(b) }

// remoteOf registers key with buf and a counting codec and returns its
// remote view and the encode counter.
func remoteOf(t *testing.T, buf aimdb.Buffer) (*aimdb.Record[int], *aimdb.RemoteRecord, *atomic.Int64) {
	t.Helper()
	db := aimdb.New(nil)
	rec, err := aimdb.Register(db, aimdb.NewKey[int]("shared"), buf)
	if err != nil {
		t.Fatal(err)
	}
	n := new(atomic.Int64)
	rec.RemoteAccess(countingJSON{n})
	r, err := db.Remote("shared")
	if err != nil {
		t.Fatal(err)
	}
	return rec, r, n
}

// TestRemoteEncodedOnce: a value several remote subscriptions receive is
// encoded once, and each gets its own, correct sequence; a subscription
// alone encodes for itself.
func TestRemoteEncodedOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		buf  aimdb.Buffer
	}{{"ring", aimdb.Ring(64)}, {"latest", aimdb.Latest()}} {
		t.Run(tc.name, func(t *testing.T) {
			rec, r, encodes := remoteOf(t, tc.buf)
			var subs []*aimdb.RemoteSubscription
			for range 3 {
				s, err := r.Subscribe()
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				subs = append(subs, s)
			}
			const n = 50
			for v := 1; v <= n; v++ {
				if err := rec.Produce(v); err != nil {
					t.Fatal(err)
				}
				for i, s := range subs {
					b, _, err := s.TryRecv()
					if err != nil || string(b) != strconv.Itoa(v) {
						t.Fatalf("subscription %d after %d: %s, %v", i, v, b, err)
					}
				}
			}
			if got := encodes.Load(); got != n {
				t.Errorf("%d values read by 3 subscriptions: %d encodes; want %d", n, got, n)
			}
			// Alone again: no cache, one encode per value read.
			subs[1].Close()
			subs[2].Close()
			encodes.Store(0)
			for v := n + 1; v <= n+10; v++ {
				_ = rec.Produce(v)
				if b, _, err := subs[0].TryRecv(); err != nil || string(b) != strconv.Itoa(v) {
					t.Fatalf("alone after %d: %s, %v", v, b, err)
				}
			}
			if got := encodes.Load(); got != 10 {
				t.Errorf("10 values read by 1 subscription: %d encodes; want 10", got)
			}
		})
	}
}

// TestRemoteSharedFarApart: readers far apart in a ring, and readers
// that lag, still get their own values, in order, with their own counts
// of missed values.
func TestRemoteSharedFarApart(t *testing.T) {
	rec, r, encodes := remoteOf(t, aimdb.Ring(16))
	a, _ := r.Subscribe()
	defer a.Close()
	b, _ := r.Subscribe()
	defer b.Close()
	for v := 1; v <= 40; v++ {
		_ = rec.Produce(v)
		if data, _, err := a.TryRecv(); err != nil || string(data) != strconv.Itoa(v) {
			t.Fatalf("a after %d: %s, %v", v, data, err)
		}
	}
	// b lagged: the ring holds 25..40.
	want, wantMissed := 25, uint64(24)
	for {
		data, missed, err := b.TryRecv()
		if err != nil {
			break
		}
		if string(data) != strconv.Itoa(want) || missed != wantMissed {
			t.Fatalf("b: %s, missed %d; want %d, missed %d", data, missed, want, wantMissed)
		}
		want, wantMissed = want+1, 0
	}
	if want != 41 {
		t.Fatalf("b read up to %d; want 40", want-1)
	}
	if got := encodes.Load(); got < 40 || got > 40+16 {
		t.Errorf("%d encodes; want 40 for a, and at most 16 more for b", got)
	}
}

// TestRemoteSharedConcurrent: subscriptions come and go while values are
// produced and read; every reader sees increasing values, each decoded
// from its own data. Run it with -race.
func TestRemoteSharedConcurrent(t *testing.T) {
	rec, r, _ := remoteOf(t, aimdb.Ring(32))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				s, err := r.Subscribe()
				if err != nil {
					t.Error(err)
					return
				}
				last := 0
				for range 200 {
					data, _, err := s.Recv(ctx)
					if err != nil {
						break
					}
					v, err := strconv.Atoi(string(data))
					if err != nil || v <= last {
						t.Errorf("read %q after %d", data, last)
					}
					last = v
				}
				s.Close()
				s.Close() // a second Close changes nothing
			}
		})
	}
	for v := 1; ctx.Err() == nil; v++ {
		_ = rec.Produce(v)
		if v%64 == 0 {
			time.Sleep(100 * time.Microsecond)
		}
	}
	wg.Wait()
}
