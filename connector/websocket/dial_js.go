//go:build js

package websocket

import (
	"context"
	"net/http"
	"net/url"

	"github.com/coder/websocket"
)

// dialWS opens the WebSocket with the browser's (or Node's) WebSocket
// object, which cannot set headers: the token travels as the query
// parameter "token", and the HTTP client is not used. The browser does
// not say why an upgrade failed.
func dialWS(ctx context.Context, u *url.URL, token string, _ *http.Client) (*websocket.Conn, error) {
	if token != "" {
		q := u.Query()
		q.Set("token", token)
		u.RawQuery = q.Encode()
	}
	ws, _, err := websocket.Dial(ctx, u.String(), nil)
	return ws, err
}
