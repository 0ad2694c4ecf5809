package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimdbtest"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/mesh"
)

func TestScratch(t *testing.T) {
	d, err := mesh.HubDialer("mqtt://127.0.0.1:1")
	if err != nil { t.Fatal(err) }
	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": d}})
	if err := mesh.Hub(db, 64); err != nil { t.Fatal(err) }
	aimdbtest.Start(t, db)
	err = aimdb.Produce(db, contracts.TemperatureKey(1), contracts.Temperature{Celsius: 21.4, Timestamp: 1})
	fmt.Println("produce", err)
	aimdb.Produce(db, contracts.HumidityKey(1), contracts.Humidity{Percent: 50, Timestamp: 2})
	time.Sleep(100*time.Millisecond)
	srv := aimx.NewServer(db, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.ListenAndServe(ctx, "tcp://127.0.0.1:7999")
	time.Sleep(100*time.Millisecond)
	c, err := aimx.Dial(ctx, "tcp://127.0.0.1:7999", nil)
	if err != nil { t.Fatal(err) }
	defer c.Close()
	var raw json.RawMessage
	err = c.Call(ctx, "record.list", nil, &raw)
	fmt.Println(err, len(raw))
	var rows []map[string]any
	json.Unmarshal(raw, &rows)
	for _, r := range rows[:6] { b, _ := json.Marshal(r); fmt.Println(string(b)) }
}
