// Package netref is the reference server of the TLS handshake tools
// (cmd/tlsflood, cmd/tlshs): the same echo as the benchmark servers, on
// net/http + crypto/tls and gorilla/websocket (a goroutine per
// connection), in the tool's own process.
package netref

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"

	"github.com/gorilla/websocket"
)

// Start serves the echo over TLS with cfg on a loopback port and returns
// its address and a function that stops it. net/http's own log lines (a
// client's reset during a flood) are dropped.
func Start(cfg *tls.Config) (addr string, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	srv := &http.Server{
		TLSConfig: cfg,
		ErrorLog:  log.New(io.Discard, "", 0),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer c.Close()
			for {
				typ, p, err := c.ReadMessage()
				if err != nil {
					return
				}
				if err := c.WriteMessage(typ, p); err != nil {
					return
				}
			}
		}),
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	return ln.Addr().String(), func() { _ = srv.Close() }
}
