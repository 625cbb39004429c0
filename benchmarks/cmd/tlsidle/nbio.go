package main

import (
	"log"
	"net"
	"net/http"

	tls "github.com/lesismal/llib/std/crypto/tls"
	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"
)

// startNbio serves the same echo with lesismal/nbio (its non-blocking TLS,
// lesismal/llib's crypto/tls fork, when cfg is set), with the benchmark
// harness's nbio settings, and returns its address. certPEM and keyPEM
// are nil for ws://.
func startNbio(certPEM, keyPEM []byte) (addr string, stop func()) {
	logging.SetLevel(logging.LevelError)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	addr = ln.Addr().String()
	_ = ln.Close()
	u := websocket.NewUpgrader()
	u.CheckOrigin = func(*http.Request) bool { return true }
	u.OnMessage(func(c *websocket.Conn, typ websocket.MessageType, data []byte) {
		_ = c.WriteMessage(typ, data)
	})
	conf := nbhttp.Config{
		Network:                 "tcp",
		MaxLoad:                 1000000,
		ReleaseWebsocketPayload: true,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = u.Upgrade(w, r, nil)
		}),
	}
	if certPEM != nil {
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			log.Fatal(err)
		}
		conf.AddrsTLS = []string{addr}
		conf.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	} else {
		conf.Addrs = []string{addr}
	}
	e := nbhttp.NewEngine(conf)
	if err := e.Start(); err != nil {
		log.Fatal(err)
	}
	return addr, e.Stop
}
