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
// Large messages cost one copy of each byte each way and no buffer of
// their size on the heap: an inbound message past 64 KiB is read into a
// region reserved at MaxMessageSize whose pages are committed as bytes
// arrive and kept for the next large message (given back to the kernel
// after 2 s unused), as the server does; an outbound frame is masked and
// written in pieces of 192 KiB through the loop's scratch buffer.
//
// # wss://
//
// crypto/tls runs the handshake on the dialling goroutine. TLS 1.3 then
// continues on the engine's event-loop record layer: the connection keeps
// its traffic secrets and sequence numbers while idle, the expanded
// ciphers live in a small per-loop cache, the server's KeyUpdate is
// answered, its NewSessionTicket messages are ignored, and Close sends
// close_notify. TLS 1.2, and TLS 1.3 when Dialer.TLSConfig sets a
// ClientSessionCache (so that its tickets reach the cache and later
// sessions resume), keep crypto/tls's tls.Conn, driven by the event loop
// through an in-memory pipe, at the cost of its record buffers. No
// goroutine runs per connection either way; the README has the measured
// figures.
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
