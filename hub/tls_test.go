package hub

import (
	"net/url"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/internal/tlsrec/tlstest"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// TestPublishOverTLS: one publish reaches subscribers over ws:// and
// wss:// alike (the prepared frame is sealed per TLS connection).
func TestPublishOverTLS(t *testing.T) {
	cert, err := tlstest.New("localhost")
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, Config{}, func(c *engine.Config) {
		c.TLS = cert.ServerConfig()
		c.TLSAddr = "127.0.0.1:0"
	})
	plain, _ := n.join(t, "room")
	q := url.Values{"room": {"room"}}
	secure, err := wstest.Dial(n.srv.TLSAddr(), &wstest.DialOptions{Path: "/?" + q.Encode(), TLS: cert.ClientConfig("localhost")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = secure.Close() })
	select {
	case <-n.opens:
	case <-time.After(5 * time.Second):
		t.Fatal("OnOpen not called")
	}
	for _, msg := range []string{"one", "two"} {
		if err := n.hub.Publish("room", engine.Text, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		expectMessage(t, plain, ws.OpText, msg)
		expectMessage(t, secure, ws.OpText, msg)
	}
}
