package aimx_test

import (
	"context"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
)

// countingInt encodes ints as JSON numbers, counting the encodes.
type countingInt struct{ n *atomic.Int64 }

func (c countingInt) Encode(v int) ([]byte, error) {
	c.n.Add(1)
	return strconv.AppendInt(nil, int64(v), 10), nil
}

func (countingInt) Decode(b []byte) (int, error) { return strconv.Atoi(string(b)) }

// TestEventEncodedOnce: four subscriptions matching one record — two on
// one connection (the key and a pattern), one on each of two more
// connections — each get every value, and each value is encoded once
// for all of them (twice, now and then, when two reach it at the same
// instant).
func TestEventEncodedOnce(t *testing.T) {
	db := aimdb.New(nil)
	rec, err := aimdb.Register(db, aimdb.NewKey[int]("enc.count"), aimdb.Ring(64))
	if err != nil {
		t.Fatal(err)
	}
	encodes := new(atomic.Int64)
	rec.RemoteAccess(countingInt{encodes})
	stop := aimdbtest.Start(t, db)
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	ep := "unix://" + filepath.Join(t.TempDir(), "aimx.sock")
	ln, fr, err := aimx.Listen(ep)
	if err != nil {
		t.Fatal(err)
	}
	srv := aimx.NewServer(db, nil)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln, fr) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()

	tctx := testCtx(t)
	one, two, three := dial(t, ep, nil), dial(t, ep, nil), dial(t, ep, nil)
	var streams []*aimx.Stream
	for _, s := range []struct {
		c       *aimx.Client
		pattern string
	}{{one, "enc.count"}, {one, "enc.*"}, {two, "enc.count"}, {three, "enc.count"}} {
		st, err := s.c.Subscribe(tctx, s.pattern)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		streams = append(streams, st)
	}
	const n = 40
	for v := 1; v <= n; v++ {
		if err := rec.Produce(v); err != nil {
			t.Fatal(err)
		}
		// Every subscription has it before the next: they read the same
		// value at nearly the same time, as live subscribers do.
		for i, st := range streams {
			u, err := st.Next(tctx)
			if err != nil || string(u.Data) != strconv.Itoa(v) || u.Topic != "enc.count" {
				t.Fatalf("subscription %d, value %d: %+v, %v", i, v, u, err)
			}
		}
	}
	// Two subscriptions that reach a value at the same instant may both
	// encode it; without sharing, each of the four would (4n).
	got := encodes.Load()
	t.Logf("%d values to 4 subscriptions on 3 connections: %d encodes", n, got)
	if got < n || got > n+n/4 {
		t.Errorf("%d values to 4 subscriptions on 3 connections: %d encodes; want %d, a few more at most", n, got, n)
	}
}
