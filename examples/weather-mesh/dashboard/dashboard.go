// Package dashboard serves the live web dashboard of the weather mesh: a
// page that shows every station of a hub (see package mesh) as it
// reports, over AimX's WebSocket dialect (package connector/websocket).
//
// The page is three static files, embedded: index.html, app.js and
// style.css, plain HTML, JavaScript and CSS with no framework, no build
// step and nothing fetched from elsewhere. Serve them with [Handler] next
// to the AimX WebSocket handler on the same host:
//
//	srv := aimx.NewServer(hub, nil)
//	ws := websocket.NewHandler(srv, nil)
//	mux := ws.Mux()                     // "/ws", "/health", "/version", "/schemas"
//	mux.Handle("/", dashboard.Handler()) // the page
//	err := ws.ListenAndServe(ctx, "127.0.0.1:8080")
//
// The handler's ListenAndServe (or Serve) applies HTTP timeouts and
// websocket.CheckHost to every route: on loopback, a request for a Host
// other than localhost or an IP address is refused, so that a foreign
// page rebound to 127.0.0.1 by its DNS cannot read the dashboard. Serving
// the mux with an http.Server of your own, wrap it in websocket.CheckHost.
//
// # What the page expects
//
// The page connects to ws(s)://<its own host>/ws?v=3.0 and subscribes to
// "station.#". Query parameters of the page's URL change that:
//
//	?ws=/aimx          another path on the same host, or a full URL
//	                   (ws://host:port/path); "?v=3.0" is added when missing
//	?topic=station.#   the subscription pattern
//	?token=secret      passed on to the WebSocket URL (websocket.TokenAuth)
//
// Before it connects, the page reads the hub's data contracts from
// /schemas beside the WebSocket (websocket.Handler.Mux serves it) and
// takes each kind's value field from there: the number field of the
// current version of the contract named temperature, humidity or
// dew_point. Without it, the mesh's names (celsius, percent) are used.
//
// On every connect, the first and each reconnect, the page asks for the
// stored values of the last five minutes with record.query (the newest
// 150 per record, over the same WebSocket) and merges them into its
// sparklines, so that they start full after a page load and get what
// was missed while the connection was down. A hub whose aimx.Server has
// no ServerOptions.Query (aimx.History) answers with an error, and the
// sparklines fill from live values.
//
// A WebSocket on another host than the page's must allow the page's
// origin (websocket.HandlerOptions.OriginPatterns). The hub's records
// must be opened with RemoteAccess, as mesh.Hub does.
//
// # What the page shows
//
// One card per station that has produced a value, sorted by slot, with
// its temperature, humidity and dew point, a sparkline of each over the
// last five minutes, and its liveness: a station is stale once three of
// its intervals (the median gap between its readings) pass without one.
// The header shows the connection (connecting, live, or reconnecting
// with backoff, after which the page subscribes again); a strip counts
// stations, updates per second and values lost (gaps in the
// subscription's seq); and a panel draws one station's record graph from
// record.list: the MQTT links feeding temperature and humidity, and the
// join deriving the dew point.
package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
)

//go:embed static
var static embed.FS

// contentTypes are the types of the files served, set explicitly so that
// no system MIME table can change them.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
}

// Handler returns a handler serving the dashboard's files: GET or HEAD
// "/" is index.html ("/index.html" redirects there), "/app.js" and
// "/style.css" the script and the style sheet, each with its Content-Type
// and Cache-Control: no-cache; any other path is 404 Not Found and any
// other method 405. Mount
// it at "/" of the mux that serves the AimX WebSocket at "/ws" (see the
// package documentation). It is safe for concurrent use.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // not reached: the directory is embedded
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := r.URL.Path
		if name == "/" || name == "" {
			name = "/index.html"
		}
		ct, ok := contentTypes[path.Ext(name)]
		if _, err := fs.Stat(sub, name[1:]); !ok || err != nil || name != path.Clean(name) {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", ct)
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		files.ServeHTTP(w, r)
	})
}
