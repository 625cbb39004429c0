// Package engine serves WebSocket connections on gnet event loops: no
// goroutine, timer or standing buffer per connection.
//
// A Server owns the connections. Each connection lives on one event loop;
// its Handler callbacks run there, one at a time, and must not block. Conn
// methods are safe from any goroutine: on the connection's loop they write
// straight to the socket, elsewhere they hand the write to the loop (one
// wake-up per loop for a whole batch).
//
// Everything is bounded: request head (431), message size (1009), outbound
// bytes per connection (OutboundPolicy), connections (503 above a ceiling
// derived from the open-file limit). Heartbeats and timeouts run on one
// timer wheel per loop.
//
//	cfg := engine.DefaultConfig("127.0.0.1:8080")
//	srv, _ := engine.New(cfg, engine.Handlers{
//		Message: func(c *engine.Conn, typ engine.MessageType, data []byte) {
//			_ = c.WriteMessage(typ, data) // echo
//		},
//	})
//	_ = srv.Run(ctx)
package engine
