// Package mesh wires the weather mesh: a hub that collects every
// station's readings from an MQTT broker and derives dew points, and a
// simulated station that publishes readings to it. The records, topics
// and payloads are those of package contracts.
//
// # Hub
//
// [Hub] registers three record families, station.{id}.temperature and
// station.{id}.humidity (rings of 100, fed from MQTT) and
// station.{id}.dew_point (a ring of 100, joined from the two); a
// station's three records appear with its first valid reading, for any id
// 0..65535, up to HubOptions.MaxStations stations. The hub subscribes once
// per measurement, to station/+/temperature and station/+/humidity at QoS
// 1. Payloads that break the contract, and topics that name no valid
// station, are logged, counted and dropped; the record keeps its previous
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
//	_, err = mesh.Hub(db, nil)
//	err = db.Run(ctx)
package mesh
