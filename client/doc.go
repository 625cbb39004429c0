// Package client is switchboard's WebSocket client. It runs on event loops
// (gnet's client side), like the server, so one process can hold tens of
// thousands of connections at about a kilobyte each: no goroutine, timer or
// buffer per idle connection. It shares the server's codec (frames,
// permessage-deflate negotiation, UTF-8 checks) and its handler shape.
//
//	d := &client.Dialer{
//		Header:       http.Header{"Authorization": {"Bearer " + token}},
//		Subprotocols: []string{"chat.v1"},
//		Compression:  client.CompressionNoContextTakeover,
//		Reconnect:    &client.Reconnect{OnReconnect: resubscribe},
//	}
//	c, err := d.Dial(ctx, "wss://example.com/ws", client.Handlers{
//		Message: func(c *client.Conn, typ client.MessageType, data []byte) { ... },
//	})
//	c.WriteText([]byte("hello"))       // from any goroutine
//	c.Close(1000, "bye")
//
// Pass the same Handler to every Dial, as a pointer when it is a Handlers
// struct: a struct value is copied into the interface at each call (32 bytes
// per connection).
//
// # What runs where
//
// Dial blocks its caller through the TCP dial, the proxy's CONNECT, the TLS
// handshake and the upgrade, bounded by Dialer.HandshakeTimeout; the socket
// then moves to an event loop. Handler callbacks, Reconnect hooks and
// RoomTracker bookkeeping run on that loop and must not block. Conn methods
// are safe from any goroutine; a write made on the loop goes straight to
// the socket, one made elsewhere is copied and handed to the loop. A
// Client runs one more goroutine, a ticker that drives the timer wheels
// (heartbeats, close timeouts, reconnect delays). A reconnect attempt
// dials on a goroutine that lives only while the attempt does.
//
// # Bounds
//
// Inbound messages are bounded by Dialer.MaxMessageSize (1 MiB; after
// inflation), the response head by DefaultMaxResponseHead, the body kept in
// a HandshakeError by 64 KiB, outbound bytes by Dialer.MaxOutbound (4 MiB,
// then ErrOutboundFull), bytes carried between reads by one frame header
// and control payload, and writes while reconnecting by
// Reconnect.QueueBytes (0: none are queued).
//
// # wss://
//
// TLS is crypto/tls: the handshake runs on the dialling goroutine, then
// the same tls.Conn is driven by the event loop through an in-memory pipe
// (no goroutine per connection). Its record buffers are the cost: a few
// kilobytes more per idle connection than ws://, see the README for the
// measured figure. The layer sits behind a small type (secure) so that the
// engine's own event-loop TLS record layer can replace it.
//
// # Reconnect
//
// With Dialer.Reconnect set, a connection the server or the network closed
// reconnects with the same *Conn: exponential backoff with full jitter (1 s
// initial, ×2, 30 s cap by default), reset after a session stayed up for
// the cap, a Retry hook (DefaultRetry gives up after 1000, 1002, 1003,
// 1007-1010, a 4xx handshake other than 408/429, or an untrusted
// certificate), OnReconnect to resubscribe, and writes that fail fast with
// ErrReconnecting while down (or queue within Reconnect.QueueBytes).
// RoomTracker resumes the broadcast example's rooms (since/epoch).
package client
