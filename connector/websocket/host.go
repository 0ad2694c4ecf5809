package websocket

import (
	"net"
	"net/http"
	"path"
	"strings"
)

// CheckHost returns a handler that refuses with HTTP 403 a request that
// arrived on a loopback address and names a Host that is neither
// "localhost" (or a name under ".localhost"), nor an IP address, nor
// matches one of allowed (path.Match patterns on the host name without
// its port: "hub.example.com", "*.lan"), and passes every other request
// to next.
//
// It is the defence against DNS rebinding: a page on a foreign name
// that its DNS rebinds to 127.0.0.1 sends its own name as Host (and
// Origin), so it passes the WebSocket origin check but not this one.
// Requests that arrived on other addresses are not checked: a server
// reachable from a network answers every name. Handler.Serve and
// Handler.ServeHTTP apply it with HandlerOptions.AllowedHosts; wrap a
// mux of your own (the dashboard, metrics) with it when you serve one.
func CheckHost(next http.Handler, allowed []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostAllowed(r, allowed) {
			http.Error(w, "host not allowed: "+r.Host, http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hostAllowed reports whether CheckHost lets r through.
func hostAllowed(r *http.Request, allowed []string) bool {
	la, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if ta, ok := la.(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || net.ParseIP(host) != nil {
		return true
	}
	for _, p := range allowed {
		if ok, _ := path.Match(strings.ToLower(p), host); ok {
			return true
		}
	}
	return false
}
