// Package websocket carries AimX, AimDB's remote-access protocol, over
// WebSocket (github.com/coder/websocket), so that browsers reach a DB.
//
// # Server
//
// A Handler serves an aimx.Server in AimX's WebSocket dialect. Mount it
// on any mux, or use Mux for "/ws", "/health" and "/version":
//
//	srv := aimx.NewServer(db, &aimx.ServerOptions{Policy: aimx.ReadWrite("config.display")})
//	h := websocket.NewHandler(srv, &websocket.HandlerOptions{
//		Auth: websocket.TokenAuth(token, websocket.Permissions{
//			Subscribe: []string{"station.#"},
//			Write:     []string{"config.#"},
//		}),
//	})
//	err := h.ListenAndServe(ctx, ":8080")
//
// The dialect differs from AimX on sockets: the version is checked at
// the upgrade ("ws://host/ws?v=3.0", HTTP 426 otherwise), hello is not
// served, a sub is acknowledged with a "subscribed" frame, and only
// record.list, record.get, record.set and record.query are served (other
// methods are answered "not_found"; record.query needs
// aimx.ServerOptions.Query). Every record opened with RemoteAccess can
// be subscribed to by key or by pattern ("station.#"); a pattern first
// gets one "snap" per matching record that holds a value, the last one
// flagged "last":true, then live "event"s.
//
// # Permissions
//
// An AuthFunc decides at the upgrade what a client may subscribe to and
// write (Permissions); the default lets everyone subscribe to anything
// and write nothing. What a client may not subscribe to it may not read
// either: record.get and record.query are answered "denied" and
// record.list leaves those records out. A write (a write frame or record.set) must be
// allowed by both the client's Permissions and the server's aimx.Policy,
// and records written by a source or a transform are never writable.
// record.set is answered "denied" when refused; a write frame is never
// answered, as in AimX. Unlike AimDB's WebSocket server, whose default
// allows any write, the default here is read-only, and Origin is checked
// (HandlerOptions.OriginPatterns).
//
// The dialect has no hello, so aimx.ServerOptions.Token cannot be
// presented in it: the upgrade is where a client authenticates, and a
// connection the AuthFunc let through is authenticated
// (aimx.Server.ServeAuthenticatedConn). The default AuthFunc asks for the
// server's Token, as TokenAuth reads it ("Authorization: Bearer" or
// "?token="), and grants ReadOnly(); an AuthFunc of your own replaces
// that check, so it must authenticate the client itself.
//
// On a loopback address, every request must name localhost, an IP
// address or one of HandlerOptions.AllowedHosts as its Host (CheckHost:
// the defence against DNS rebinding).
//
// # Slow clients
//
// Producers never wait for a client. Each connection has a bounded event
// queue (aimx.ServerOptions.EventQueue); when a client reads too slowly,
// events are dropped and the client sees gaps in seq. A client that takes
// longer than HandlerOptions.WriteTimeout to take one frame is
// disconnected.
//
// # ws:// links
//
// A Bus lets records send values to, and take writes from, WebSocket
// clients under topics of their own ("ws://" links), as AimDB's
// WebSocket connector does.
//
// # Clients
//
// Dial returns an aimx.Client over WebSocket, which reconnects with
// backoff, subscribes again and pings to keep the connection alive. A
// Dialer is the "ws-client" connector: it mirrors records of a remote
// server into a DB (LinkFrom) and writes local values to it (LinkTo).
// Both build for GOOS=js and use the browser's WebSocket there; see
// examples/browser.
package websocket
