package engine

import (
	"errors"
	"net"
	"strconv"

	"github.com/switchboard-ws/switchboard/codec"
)

// MessageType is the type of a data message.
type MessageType uint8

const (
	Text   MessageType = 1 // UTF-8 text (validated before delivery)
	Binary MessageType = 2
)

func (t MessageType) String() string {
	switch t {
	case Text:
		return "text"
	case Binary:
		return "binary"
	}
	return "MessageType(" + strconv.Itoa(int(t)) + ")"
}

// Handler receives a connection's events. Every method runs on the
// connection's event loop, one event at a time per connection: it must not
// block (hand slow work to another goroutine; Conn methods are safe there).
type Handler interface {
	// OnOpen runs once the handshake has completed (after the 101).
	OnOpen(c *Conn)
	// OnMessage runs for each complete data message. data is valid only
	// during the call (it points into the read buffer): copy it to keep it.
	OnMessage(c *Conn, typ MessageType, data []byte)
	// OnClose runs once when an opened connection has closed. err is a
	// *CloseError saying who closed it and with which code.
	OnClose(c *Conn, err error)
}

// Handlers adapts plain functions to Handler; nil fields do nothing.
type Handlers struct {
	Open    func(c *Conn)
	Message func(c *Conn, typ MessageType, data []byte)
	Close   func(c *Conn, err error)
}

func (h Handlers) OnOpen(c *Conn) {
	if h.Open != nil {
		h.Open(c)
	}
}

func (h Handlers) OnMessage(c *Conn, typ MessageType, data []byte) {
	if h.Message != nil {
		h.Message(c, typ, data)
	}
}

func (h Handlers) OnClose(c *Conn, err error) {
	if h.Close != nil {
		h.Close(c, err)
	}
}

// CloseError says why a connection closed.
type CloseError struct {
	// Code is the close code: the peer's when it closed first (1005 when its
	// close frame had none), ours when we did, 1006 when TCP went away
	// without a close handshake.
	Code codec.CloseCode
	// Reason is the close reason sent or received.
	Reason string
	// Remote is true when the peer started the close (or dropped TCP).
	Remote bool
	// Err is the underlying cause when there is one: a protocol error
	// (*codec.Error), ErrPongTimeout, ErrOutboundFull, a socket error.
	Err error
}

func (e *CloseError) Error() string {
	who := "server"
	if e.Remote {
		who = "peer"
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

// Errors returned by Conn methods and reported in CloseError.Err.
var (
	ErrClosed            = errors.New("engine: connection closed")
	ErrOutboundFull      = errors.New("engine: outbound buffer limit reached")
	ErrPongTimeout       = errors.New("engine: no pong before the pong timeout")
	ErrIdleTimeout       = errors.New("engine: idle timeout")
	ErrCloseTimeout      = errors.New("engine: peer did not answer close in time")
	ErrWriteStall        = errors.New("engine: outbound bytes stalled")
	ErrHandshakeTimeout  = errors.New("engine: handshake timeout")
	ErrControlTooLong    = errors.New("engine: control frame payload over 125 bytes")
	ErrInvalidCloseCode  = errors.New("engine: close code may not be sent")
	ErrServerClosed      = errors.New("engine: server closed")
	ErrConnectionLost    = errors.New("engine: connection lost without a close frame")
	ErrHandlerPanic      = errors.New("engine: handler panicked")
	ErrRateLimited       = errors.New("engine: inbound rate limit exceeded")
	ErrInvalidUTF8String = errors.New("engine: text message is not valid UTF-8")
	// ErrNoSharedDeflate: a prepared frame with reserved bits set (a
	// compressed message) was written to a connection that cannot take
	// it (see Conn.SharedDeflate). Nothing was sent.
	ErrNoSharedDeflate = errors.New("engine: compressed prepared frame needs permessage-deflate with a window at least the frame's")
	// ErrNotTLS: a connection on a TLS address did not start with a TLS
	// handshake (plain HTTP is answered 400 first, as net/http does).
	ErrNotTLS = errors.New("engine: not a TLS handshake on a TLS address")
	// ErrTooManyTLSHandshakes: Config.MaxTLSHandshakes were in progress.
	ErrTooManyTLSHandshakes = errors.New("engine: too many TLS handshakes in progress")
)

// UpgradeRequest is what the upgrade hook sees of a handshake. It is valid
// only during the call: copy what you keep.
type UpgradeRequest struct {
	*codec.Request // Path, RawQuery, Host, Origin, Header(), Cookie(), Protocols(), ...
	// RemoteAddr is the peer's address.
	RemoteAddr net.Addr

	srv      *Server
	conn     *Conn     // nil on the net/http path
	end      int       // length of the request head (engine's listener)
	decision *Decision // set by Defer
	overCap  bool      // Defer found MaxPendingUpgrades reached

	deflate   codec.DeflateParams // what permessage-deflate negotiation agreed
	deflateOK bool                // it agreed on something
}

// Deflate returns the permessage-deflate parameters the server agreed to
// under Config.Deflate (ok is false when the client offered none the
// policy accepts, or the policy is off). The hook may decline them with
// UpgradeResponse.NoDeflate.
func (r *UpgradeRequest) Deflate() (p codec.DeflateParams, ok bool) {
	return r.deflate, r.deflateOK
}

// UpgradeResponse is what the upgrade hook answers for an accepted handshake.
type UpgradeResponse struct {
	// Protocol is the chosen subprotocol; it must be one the client offered.
	Protocol string
	// Header holds extra response headers. Sec-WebSocket-Extensions is the
	// engine's: a response that sets it is refused (500).
	Header []codec.HeaderField
	// Value becomes the connection's initial Conn.Value.
	Value any
	// NoDeflate declines permessage-deflate for this connection even when
	// negotiation agreed (UpgradeRequest.Deflate): the 101 then carries no
	// extension.
	NoDeflate bool
}

// UpgradeFunc decides a handshake before the 101 is sent; auth belongs here.
// Return nil to accept (filling resp as needed). Return an *HTTPError to
// reject with its status, headers and body; any other error rejects with
// 403 Forbidden. It runs on the event loop and must not block: a decision
// that needs I/O (a session store, an auth service) calls r.Defer, returns
// nil, and answers later from another goroutine (see Decision).
type UpgradeFunc func(r *UpgradeRequest, resp *UpgradeResponse) error

// HTTPError rejects a handshake or answers a plain HTTP request.
type HTTPError struct {
	Status int
	Header []codec.HeaderField
	Body   string
}

func (e *HTTPError) Error() string {
	return "engine: HTTP " + strconv.Itoa(e.Status) + " " + e.Body
}

// HTTPResponse answers a plain (non-upgrade) HTTP request.
type HTTPResponse struct {
	Status      int // 0: 200
	Header      []codec.HeaderField
	ContentType string // "": text/plain; charset=utf-8
	Body        []byte
}

// HTTPFunc answers a plain HTTP request that is not a WebSocket upgrade, on
// the event loop (it must not block). Returning nil answers 426 Upgrade
// Required. The connection closes after the response.
type HTTPFunc func(r *UpgradeRequest) *HTTPResponse

// StaticHTTP returns an HTTPFunc serving fixed bodies by exact path (GET or
// HEAD), 404 for other paths. Handy for a health check and one embedded page.
func StaticHTTP(routes map[string]HTTPResponse) HTTPFunc {
	return func(r *UpgradeRequest) *HTTPResponse {
		m := string(r.Method)
		if m != "GET" && m != "HEAD" {
			return &HTTPResponse{Status: 405, Header: []codec.HeaderField{{Name: "Allow", Value: "GET, HEAD"}}, Body: []byte("method not allowed\n")}
		}
		if resp, ok := routes[string(r.Path)]; ok {
			if m == "HEAD" {
				resp.Body = nil
			}
			return &resp
		}
		return &HTTPResponse{Status: 404, Body: []byte("not found\n")}
	}
}
