//go:build !js

package websocket

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/aimdb-go/aimdb/aimx"
	"github.com/coder/websocket"
)

// dialWS opens the WebSocket with hc (nil: http.DefaultClient). The
// token travels in the Authorization header; a refused upgrade is
// reported by its HTTP status.
func dialWS(ctx context.Context, u *url.URL, token string, hc *http.Client) (*websocket.Conn, error) {
	var h http.Header
	if token != "" {
		h = http.Header{"Authorization": {"Bearer " + token}}
	}
	ws, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{HTTPHeader: h, HTTPClient: hc})
	if err != nil {
		if resp != nil {
			switch resp.StatusCode {
			case http.StatusUpgradeRequired:
				return nil, fmt.Errorf("HTTP 426: %w", aimx.ErrVersionMismatch)
			case http.StatusUnauthorized:
				return nil, fmt.Errorf("HTTP 401: %w", ErrUnauthorized)
			case http.StatusForbidden:
				return nil, fmt.Errorf("HTTP 403: %w", ErrForbidden)
			}
		}
		return nil, err
	}
	return ws, nil
}
