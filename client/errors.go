package client

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/switchboard-ws/switchboard/codec"
)

// Errors returned by Conn methods and reported in CloseError.Err.
var (
	// ErrClosed: the connection has closed for good (no reconnect follows).
	ErrClosed = errors.New("client: connection closed")
	// ErrReconnecting: the connection is down and a reconnect is pending;
	// the message was not sent (Reconnect.QueueBytes queues instead).
	ErrReconnecting = errors.New("client: connection is reconnecting; message not sent")
	// ErrQueueFull: Reconnect.QueueBytes would be passed; not queued.
	ErrQueueFull = errors.New("client: reconnect queue full; message not sent")
	// ErrOutboundFull: MaxOutbound bytes are already waiting for the socket.
	ErrOutboundFull     = errors.New("client: outbound buffer limit reached")
	ErrPongTimeout      = errors.New("client: no frame from the server before the pong timeout")
	ErrCloseTimeout     = errors.New("client: server did not answer close in time")
	ErrControlTooLong   = errors.New("client: control frame payload over 125 bytes")
	ErrInvalidCloseCode = errors.New("client: close code may not be sent")
	ErrInvalidUTF8      = errors.New("client: text message is not valid UTF-8")
	ErrConnectionLost   = errors.New("client: connection lost without a close frame")
	ErrHandlerPanic     = errors.New("client: handler panicked")
	ErrClientClosed     = errors.New("client: Client closed")
	// ErrDialOnLoop: Dial was called from a handler callback, where it
	// would block the event loop it needs.
	ErrDialOnLoop = errors.New("client: Dial called on an event loop (from a handler); call it from another goroutine")
)

// HandshakeError is a handshake the server (or the proxy) did not accept:
// it carries the HTTP status, headers and (the first 64 KiB of) the body
// of the response, or, for a 101 that broke the protocol, what was wrong.
type HandshakeError struct {
	// Status is the HTTP status of the response (101 when the server
	// switched protocols but the response was invalid).
	Status int
	Header http.Header
	Body   []byte
	// Proxy is true when the response came from the HTTP proxy (CONNECT).
	Proxy bool
	// Reason says what was wrong with a 101 ("bad Sec-WebSocket-Accept",
	// ...) or is "unexpected status".
	Reason string
}

func (e *HandshakeError) Error() string {
	s := "client: websocket handshake failed: "
	if e.Proxy {
		s = "client: proxy CONNECT failed: "
	}
	s += "HTTP " + strconv.Itoa(e.Status)
	if e.Reason != "" && e.Reason != "unexpected status" {
		s += ": " + e.Reason
	}
	if len(e.Body) > 0 {
		b := e.Body
		if len(b) > 200 {
			b = b[:200]
		}
		s += ": " + string(b)
	}
	return s
}

// CloseError says why a connection (or one session of a reconnecting one)
// closed.
type CloseError struct {
	// Code is the server's close code when it closed first (1005 when its
	// close frame had none), ours when we did, 1006 when TCP went away
	// without a close handshake.
	Code   codec.CloseCode
	Reason string
	// Remote is true when the server started the close (or TCP dropped).
	Remote bool
	// Err is the underlying cause, when there is one: a protocol error
	// (*codec.Error), ErrPongTimeout, a socket or TLS error, and for a
	// reconnect that gave up, the last dial's error (*HandshakeError, a
	// net.Error).
	Err error
}

func (e *CloseError) Error() string {
	who := "client"
	if e.Remote {
		who = "server"
	}
	s := "websocket closed by " + who + ": " + strconv.Itoa(int(e.Code))
	if e.Reason != "" {
		s += " " + e.Reason
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *CloseError) Unwrap() error { return e.Err }
