//go:build linux

package mirror_test

import (
	"context"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector/connectortest"
)

// TestSerialMirror mirrors over a serial line: the serving DB on a pty
// master (a device's UART), the mirror dialing serial:///dev/pts/N.
// Readings flow in, a setpoint flows out, both acknowledged.
func TestSerialMirror(t *testing.T) {
	served := aimdb.New(nil)
	temp, err := aimdb.Register(served, aimdb.NewKey[reading]("station.mcu1.temperature"), aimdb.Ring(64))
	if err != nil {
		t.Fatal(err)
	}
	temp.RemoteAccess(codec.JSON[reading]{})
	set, err := aimdb.Register(served, aimdb.NewKey[int]("config.mcu1.setpoint"), aimdb.Latest())
	if err != nil {
		t.Fatal(err)
	}
	set.RemoteAccess(codec.JSON[int]{})
	aimdbtest.Start(t, served)

	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("pty.Open: %v (the serial test needs /dev/ptmx)", err)
	}
	srv := aimx.NewServer(served, &aimx.ServerOptions{Policy: aimx.ReadWrite("config.mcu1.setpoint")})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeStream(ctx, ptmx, aimx.COBS) }()
	// The pty master is a blocking file: the last terminal-side close
	// ends a read in progress. Cleanups run last-registered first, so
	// the mirror DB (registered below) stops before this runs.
	t.Cleanup(func() {
		tty.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeStream: %v", err)
		}
	})

	var in *aimdb.Record[reading]
	var out *aimdb.Record[int]
	db := mirrorDB(t, "serial://"+tty.Name()+"?baud=115200", func(db *aimdb.DB) {
		in, err = aimdb.Register(db, aimdb.NewKey[reading]("mcu1.temperature"), aimdb.Latest())
		if err != nil {
			t.Fatal(err)
		}
		in.LinkFrom("hub://station.mcu1.temperature", codec.JSON[reading]{})
		out, err = aimdb.Register(db, aimdb.NewKey[int]("mcu1.setpoint"), aimdb.Latest())
		if err != nil {
			t.Fatal(err)
		}
		out.LinkTo("hub://config.mcu1.setpoint", codec.JSON[int]{})
	})
	connectortest.WaitLink(t, db, "mcu1.temperature", 0, 10*time.Second, "connected", func(md aimdb.LinkMetadata) bool { return md.Connected })
	for n := 1; n <= 20; n++ {
		if err := temp.Produce(reading{Station: "mcu1", N: n, Celsius: 20 + float64(n)/10}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "reading 20 mirrored over the serial line", func() bool {
		v, ok := in.Peek()
		return ok && v.N == 20
	})
	if v, _ := in.Peek(); v.Station != "mcu1" || v.Celsius != 22 {
		t.Fatalf("mirrored %+v; want mcu1's reading 20 at 22 °C", v)
	}
	if err := out.Produce(215); err != nil {
		t.Fatal(err)
	}
	fctx, fcancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer fcancel()
	if err := db.Flush(fctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if v, ok := set.Peek(); !ok || v != 215 {
		t.Fatalf("the serving DB's setpoint is %d, %v after Flush; want 215", v, ok)
	}
	if md := connectortest.LinkStats(t, db, "mcu1.temperature", 0); md.Received != 20 || md.Lost != 0 {
		t.Fatalf("link metadata %+v; want 20 received, 0 lost", md)
	}
}
