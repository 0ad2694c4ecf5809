package aimx_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
)

type Temp struct {
	Celsius float64 `json:"celsius"`
}

type Level struct {
	Level int `json:"level"`
}

var (
	keyTemp     = aimdb.NewKey[Temp]("sensors.temp")
	keyHumidity = aimdb.NewKey[float64]("sensors.humidity")
	keySecret   = aimdb.NewKey[string]("sensors.secret")
	keyDouble   = aimdb.NewKey[Temp]("calc.double")
	keyCfg      = aimdb.NewKey[Level]("cfg")
	keyCmd      = aimdb.NewKey[string]("cmd.box")
	keyTick     = aimdb.NewKey[int]("tick")
)

// fixture is a running DB with an AimX server on TCP and a Unix socket.
type fixture struct {
	db       *aimdb.DB
	temp     *aimdb.Record[Temp]
	humidity *aimdb.Record[float64]
	cmd      *aimdb.Record[string]
	srv      *aimx.Server
	tcp, uds string
}

// startFixture runs a DB with these records:
//
//	sensors.temp      Ring(8), remote, passive (written by the test)
//	sensors.humidity  Latest, remote, passive
//	sensors.secret    Latest, no remote access
//	calc.double       Latest, remote, transform of sensors.temp
//	cfg               Latest, remote, passive
//	cmd.box           Mailbox, remote, passive
//	tick              Latest, remote, with a source that produces 1 once
func startFixture(t *testing.T, opts *aimx.ServerOptions) *fixture {
	t.Helper()
	db := aimdb.New(nil)
	f := &fixture{db: db}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	f.temp, err = aimdb.Register(db, keyTemp, aimdb.Ring(8))
	must(err)
	f.temp.RemoteAccess(codec.JSON[Temp]{})
	f.humidity, err = aimdb.Register(db, keyHumidity, aimdb.Latest())
	must(err)
	f.humidity.RemoteAccess(codec.JSON[float64]{})
	secret, err := aimdb.Register(db, keySecret, aimdb.Latest())
	must(err)
	must(secret.Produce("hunter2"))
	double, err := aimdb.Register(db, keyDouble, aimdb.Latest())
	must(err)
	aimdb.Transform(double, keyTemp, func(in Temp) (Temp, bool) { return Temp{in.Celsius * 2}, true })
	double.RemoteAccess(codec.JSON[Temp]{})
	cfg, err := aimdb.Register(db, keyCfg, aimdb.Latest())
	must(err)
	cfg.RemoteAccess(codec.JSON[Level]{})
	f.cmd, err = aimdb.Register(db, keyCmd, aimdb.Mailbox())
	must(err)
	f.cmd.RemoteAccess(codec.JSON[string]{})
	tick, err := aimdb.Register(db, keyTick, aimdb.Latest())
	must(err)
	tick.Source(func(ctx context.Context, p *aimdb.Producer[int]) error {
		return p.Produce(1)
	})
	tick.RemoteAccess(codec.JSON[int]{})

	stop := aimdbtest.Start(t, db)
	srv := aimx.NewServer(db, opts)
	f.srv = srv
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)

	ln, fr, err := aimx.Listen("tcp://127.0.0.1:0")
	must(err)
	f.tcp = "tcp://" + ln.Addr().String()
	go func() { done <- srv.Serve(ctx, ln, fr) }()

	f.uds = "unix://" + filepath.Join(t.TempDir(), "aimx.sock")
	uln, ufr, err := aimx.Listen(f.uds)
	must(err)
	go func() { done <- srv.Serve(ctx, uln, ufr) }()

	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		}
		if err := stop(); err != nil {
			t.Errorf("db: %v", err)
		}
	})
	return f
}

// dial connects a client and closes it at the end of the test.
func dial(t *testing.T, endpoint string, opts *aimx.ClientOptions) *aimx.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := aimx.Dial(ctx, endpoint, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
