// The tests start HTTP servers (httptest), which js/wasm cannot.
//go:build !js

package websocket_test

import (
	"net/http"
	"testing"

	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/connector/websocket"
	cws "github.com/coder/websocket"
)

// TestServerToken: the WebSocket dialect has no hello, so a server with
// a Token relies on the handler's Auth. A connection that passed it is
// authenticated; with the default Auth, it must present the server's
// Token itself, and one that does not is refused at the upgrade.
func TestServerToken(t *testing.T) {
	const token = "s3cret"
	t.Run("TokenAuth", func(t *testing.T) {
		h := startHub(t, &aimx.ServerOptions{Token: token}, &websocket.HandlerOptions{Auth: websocket.TokenAuth("other", websocket.ReadOnly())})
		c := dialRaw(t, h.url+"?v=3.0&token=other", nil)
		c.send(`{"t":"sub","id":1,"topic":"station.1.temperature"}`)
		c.expect(`{"t":"subscribed","sub":"1"}`)
		c.send(`{"t":"req","id":2,"method":"record.get","params":{"name":"station.9"}}`)
		c.expect(`{"t":"reply","id":2,"err":"not_found"}`)
	})
	t.Run("default", func(t *testing.T) {
		h := startHub(t, &aimx.ServerOptions{Token: token}, nil)
		for _, q := range []string{"", "&token=nope"} {
			_, resp, err := cws.Dial(testCtx(t), h.url+"?v=3.0"+q, nil)
			if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("token %q: err %v, response %v; want HTTP 401", q, err, resp)
			}
		}
		c := dialRaw(t, h.url+"?v=3.0&token="+token, nil)
		c.send(`{"t":"sub","id":1,"topic":"station.1.temperature"}`)
		c.expect(`{"t":"subscribed","sub":"1"}`)
		cl, err := websocket.Dial(testCtx(t), h.url, &aimx.ClientOptions{Token: token})
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		if _, err := cl.Records(testCtx(t)); err != nil {
			t.Errorf("record.list: %v", err)
		}
	})
}
