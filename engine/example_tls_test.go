package engine_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/internal/tlsrec/tlstest"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// wss:// on the event loops: Config.TLS takes a standard tls.Config. Here
// ws:// stays on Addr and wss:// is served on TLSAddr; the upgrade hook
// sees the TLS connection state.
func ExampleConfig_tls() {
	cert, err := tlstest.New("localhost") // in production: tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		panic(err)
	}
	cfg := engine.DefaultConfig("127.0.0.1:0")
	cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
	cfg.TLSAddr = "127.0.0.1:0" // leave empty to serve TLS only, on Addr
	cfg.Upgrade = func(r *engine.UpgradeRequest, _ *engine.UpgradeResponse) error {
		if cs := r.TLS(); cs != nil {
			fmt.Println("server name:", cs.ServerName, "TLS 1.3:", cs.Version == tls.VersionTLS13)
		}
		return nil
	}
	srv, err := engine.New(cfg, engine.Handlers{
		Message: func(c *engine.Conn, typ engine.MessageType, data []byte) { _ = c.WriteMessage(typ, data) },
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = srv.Run(ctx) }()

	c, err := wstest.Dial(srv.TLSAddr(), &wstest.DialOptions{TLS: cert.ClientConfig("localhost")})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	_ = c.WriteText("hello over wss")
	_, msg, _ := c.ReadMessage(5 * time.Second)
	fmt.Println(string(msg))
	// Output:
	// server name: localhost TLS 1.3: true
	// hello over wss
}
