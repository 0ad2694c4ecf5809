package aimdbtest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
)

// Temperature and IndoorTemp stand for a user's program's type and key.
type Temperature struct{ Celsius float64 }

var IndoorTemp = aimdb.NewKey[Temperature]("sensor.temp.indoor")

// inTest runs body as a test would, with a stand-in for its *testing.T:
// an Example has none. In a test, call body's code with the test's t.
func inTest(body func(t testing.TB)) {
	t := &exampleT{}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	defer t.cleanup()
	body(t)
}

// exampleT implements the methods of testing.TB that aimdbtest calls.
type exampleT struct {
	testing.TB
	ctx      context.Context
	cancel   context.CancelFunc
	cleanups []func()
}

func (t *exampleT) Helper()                           {}
func (t *exampleT) Context() context.Context          { return t.ctx }
func (t *exampleT) Cleanup(f func())                  { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (t *exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (t *exampleT) Errorf(format string, args ...any) { fmt.Printf("error: "+format+"\n", args...) }
func (t *exampleT) Logf(format string, args ...any)   {}
func (t *exampleT) Log(args ...any)                   {}
func (t *exampleT) Error(args ...any)                 { fmt.Println(append([]any{"error:"}, args...)...) }
func (t *exampleT) cleanup() {
	t.cancel()
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

func ExampleRegister() {
	inTest(func(t testing.TB) {
		db := aimdb.New(nil)
		// The record's type comes from the key: *aimdb.Record[Temperature].
		temps := aimdbtest.Register(t, db, IndoorTemp, aimdb.Ring(8))
		temps.Source(func(ctx context.Context, p *aimdb.Producer[Temperature]) error {
			p.Produce(Temperature{21.5})
			return nil
		})
		sub := aimdbtest.Subscribe(t, db, IndoorTemp)
		aimdbtest.Start(t, db)
		fmt.Println(aimdbtest.Collect(t, sub, 1))
	})
	// Output: [{21.5}]
}

func ExampleSubscribe() {
	inTest(func(t testing.TB) {
		db := aimdb.New(nil)
		aimdbtest.Register(t, db, IndoorTemp, aimdb.Latest())
		// A *aimdb.Subscription[Temperature], closed when the test ends.
		sub := aimdbtest.Subscribe(t, db, IndoorTemp)
		aimdbtest.Start(t, db)
		aimdb.Produce(db, IndoorTemp, Temperature{19})
		for _, v := range aimdbtest.Collect(t, sub, 1) {
			fmt.Printf("%.1f °C\n", v.Celsius)
		}
	})
	// Output: 19.0 °C
}
