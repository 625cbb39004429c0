// Package codec is switchboard's pure, streaming RFC 6455 codec: it turns
// bytes into handshake requests, frames and whole messages, and messages
// into bytes. It does no I/O and starts no goroutines.
//
// Every decoder works on whatever bytes have arrived so far and answers one
// of three things: need more (nothing consumed, input untouched), a result
// plus the number of bytes it used, or a *Error naming the close code or HTTP
// status to send.
package codec
