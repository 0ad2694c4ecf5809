// Package knx is the KNX connector: it links records to KNX group
// addresses through a KNXnet/IP tunnelling gateway (knxd, a KNX IP
// interface or router), or by KNXnet/IP routing on a multicast group
// (multicast://224.0.23.12?iface=eth0: telegrams sent once, no
// acknowledgement, the DB's own not delivered back to it).
//
//	d, err := knx.NewDialer("udp://192.168.1.19:3671", nil)
//	db := aimdb.New(&aimdb.Options{Connectors: map[string]connector.Dialer{"knx": d}})
//	temp.LinkFrom("knx://9/1/0", knx.Temperature)            // DPT 9.001
//	light.LinkTo("knx://1/2/3", knx.Bool{})                   // DPT 1.001
//	dimmer.LinkTo("knx://1/2/4?frame=long", knx.Percent{})    // DPT 5.001
//
// # Links
//
// A link topic is a group address, main/middle/sub (0-31/0-7/0-255) or
// main/sub (0-31/0-2047). Inbound links may use the wildcards '+' (one
// level) and a final '#' ("knx://9/1/+"); inbound messages carry the
// group address in three-level decimal form ("9/1/0") as their topic.
// Outbound values become GroupValueWrite telegrams (L_Data.req); inbound
// links receive the GroupValueWrite telegrams of the bus (L_Data.ind).
// Reads, responses and the gateway's confirmations of this DB's own
// telegrams are not delivered.
//
// # Payloads and the short-frame rule
//
// A payload is the telegram's data octets. A KNX telegram carries a
// value of up to 6 bits (DPT 1, 2, 3) in its APCI octet instead: a short
// telegram, whose payload is that one byte. The link parameter frame
// chooses the form of outbound telegrams: auto (the default) sends a
// one-byte payload below 64 short and everything else long, byte for byte
// as AimDB's Rust connector does; short refuses anything but one byte
// below 64; long always sends data octets, which one-octet types (DPT 5
// and 6) need, since the auto rule would send 10 % short and a strict
// receiver would misread it. Inbound, both forms deliver their byte.
//
// The DPT codecs (Bool, Percent, Uint8, Uint16, Float16 with Temperature
// and Humidity, Uint32, Int32, Float32, String) encode and decode these
// payloads and refuse a payload of the wrong length or range, which the
// DB counts in the link's decode_errors.
//
// # Tunnelling
//
// A session is one tunnelling connection (link layer): CONNECT_REQUEST
// with NAT addressing, sequence-numbered TUNNELLING_REQUESTs each waiting
// for its ACK (resent once after Options.AckTimeout; a second miss ends
// the session), CONNECTIONSTATE_REQUEST keepalives every
// Options.HeartbeatInterval (three unanswered end the session), inbound
// requests acknowledged and delivered once (a repeat is acknowledged
// again, an out-of-sequence one dropped), and DISCONNECT on Close. The DB
// reconnects with backoff and sends what was queued; a telegram whose ACK
// was lost is sent again, so delivery is at least once.
//
// Datagrams and telegrams that do not parse (a bad header, a truncated
// cEMI frame, a length that does not match, a foreign channel) are
// refused, logged at most once per 10s and counted in Dialer.Stats. The
// KNXnet/IP services are packed with github.com/vapourismo/knx-go's
// knxnet package; frames are parsed here, strictly.
package knx
