package modbus_test

import (
	"fmt"

	"github.com/aimdb-go/aimdb/connector"
	"github.com/aimdb-go/aimdb/connector/modbus"
)

// Link URLs name a unit, a table and a register; the dialer checks them
// before the DB runs.
func ExampleDialer_ValidateLink() {
	d, _ := modbus.NewDialer("tcp://plc.local:502", nil)
	for _, u := range []string{
		"modbus://1/holding/40001?type=float32&order=CDAB",
		"modbus://plc.local:502/1/input/30001?type=int16&scale=0.1",
		"modbus://1/holding/30001",
	} {
		l, _ := connector.ParseLink(u)
		l.Inbound = true
		fmt.Println(d.ValidateLink(l))
	}
	// Output:
	// <nil>
	// <nil>
	// modbus: address "30001": want a reference 40001-49999 or 400001-465536, or @0-@65535
}
