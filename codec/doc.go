// Package codec is switchboard's pure, streaming RFC 6455 codec: it turns
// bytes into handshake requests, frames and whole messages, and messages
// into bytes. It does no I/O and starts no goroutines, so it can be fuzzed
// and reused under any event loop.
//
// Every decoder works on whatever bytes have arrived so far and answers one
// of three things: need more (nothing consumed, input untouched), a result
// (or progress) plus the number of bytes it used, or a *Error naming the
// close code or HTTP status to send. Errors are package-level values: returning one never
// allocates, and they compare with ==.
//
// Handshake (server side):
//
//	end, scanned, err := codec.HeadEnd(buf, scanned, codec.DefaultMaxHeadSize) // 0: need more; 431 past the cap
//	err = codec.ParseRequest(buf[:end], &req)                                 // fields alias buf, no allocation
//	err = req.ValidateUpgrade()                                                // 400/405/426 per RFC 6455 §4.2.1
//	out = codec.AppendUpgradeResponse(out, req.Key, protocol, extraHeaders)    // the 101
//
// The bytes after end are the client's first frames: never part of the head.
//
// Frames and messages: a Decoder (24 bytes, one per connection) decodes at
// most one frame per call, checks every limit from the header before the
// payload arrives, delivers a frame that arrived whole without a copy
// (unmasked in place), consumes a data frame still arriving as far as it has
// (so the caller's buffer never holds more than part of a header), reassembles
// fragmented messages with control frames between fragments, validates UTF-8
// as the bytes arrive and checks close payloads. A Budget bounds the bytes
// all decoders hold in incomplete messages; LargeBuffers supplies the buffers
// of large ones; Room and Wrote let a caller read a large frame's payload
// straight into its buffer. Encoding: PutHeader, AppendFrame, AppendCloseFrame,
// and PreparedFrame for a message encoded once and written to many
// connections.
//
// permessage-deflate (RFC 7692) negotiation: DeflatePolicy.NegotiateDeflate
// picks the first acceptable offer from the request's
// Sec-WebSocket-Extensions headers (malformed offers are declined, never a
// failed handshake) and returns DeflateParams, whose AppendExtension is the
// answer for the 101 and whose InboundWindow/OutboundWindow size the
// per-connection history internal/pmd keeps. Compression is not here.
package codec
