// Package mesh wires the weather mesh: a hub that collects every
// station's readings from an MQTT broker and derives dew points, and a
// simulated station that publishes readings to it. The records, topics
// and payloads are those of package contracts.
//
// # Hub
//
// [Hub] registers, for every slot n of its pool, the records
// station.<n>.temperature and station.<n>.humidity (rings of 100, fed from
// MQTT) and station.<n>.dew_point (a ring of 100, joined from the two).
// The hub subscribes once per measurement, to station/+/temperature and
// station/+/humidity at QoS 1, and routes each message to its slot's
// record. Payloads that break the contract, and topics of slots outside
// the pool, are logged, counted and dropped; the record keeps its previous
// values.
//
// # Station
//
// [Station] registers one slot's temperature and humidity records with
// sources driven by a [Simulator] and publishes them to
// station/<n>/temperature and station/<n>/humidity at QoS 1, retain off.
//
// # Connecting
//
// The DB owns the broker connection: build it with the dialer of
// [HubDialer] or [StationDialer] under the "mqtt" scheme.
//
//	d, err := mesh.HubDialer("mqtt://127.0.0.1:1883")
//	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"mqtt": d}})
//	err = mesh.Hub(db, mesh.DefaultSlots)
//	err = db.Run(ctx)
package mesh
