// Package engine serves WebSocket connections on gnet event loops: no
// goroutine, timer or standing buffer per connection.
//
// A Server owns the connections. Each connection lives on one event loop;
// its Handler callbacks run there, one at a time, and must not block. Conn
// methods are safe from any goroutine: on the connection's loop they write
// straight to the socket, elsewhere they hand the write to the loop (one
// wake-up per loop for a whole batch).
//
// Everything is bounded: request head (431), message size (1009), bytes
// held in incomplete messages server-wide (InboundBudget, 1013), outbound
// bytes per connection (OutboundPolicy), connections (503 above a ceiling
// derived from the open-file limit). Heartbeats and timeouts run on one
// timer wheel per loop.
//
// Large messages stream: a frame's payload leaves the socket buffers as it
// arrives, into one buffer that holds the message once (memory committed as
// bytes arrive), and a large reply the socket cannot take at once is held by
// the engine, not copied, and written as the socket drains.
//
// wss:// runs on the same loops (Config.TLS, a standard *tls.Config;
// TLSAddr to serve ws:// and wss:// side by side): crypto/tls runs each
// handshake on a goroutine that lives only as long as the handshake, and
// the TLS 1.3 record layer then runs on the loop, keeping only secrets and
// sequence numbers per idle connection (see docs/architecture.md).
//
//	cfg := engine.DefaultConfig("127.0.0.1:8080")
//	srv, _ := engine.New(cfg, engine.Handlers{
//		Message: func(c *engine.Conn, typ engine.MessageType, data []byte) {
//			_ = c.WriteMessage(typ, data) // echo
//		},
//	})
//	_ = srv.Run(ctx)
package engine
