package engine

import (
	"net"
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/gid"
	"github.com/switchboard-ws/switchboard/internal/timerwheel"
)

// connState is touched only on the connection's loop.
type connState uint8

const (
	stateHandshake connState = iota // reading the upgrade request
	stateOpen                       // upgraded; OnOpen has run
	stateClosing                    // we sent a close frame and wait for the peer's
	stateFailing                    // we sent a protocol-error close; input is discarded until the peer closes
	stateClosed                     // TCP closed (or closing); nothing more happens
)

// Conn is one WebSocket connection. Every method is safe from any goroutine
// and after the connection has closed (it then returns ErrClosed). Writes
// made on the connection's own event loop (inside Handler callbacks) go
// straight to the socket; writes from other goroutines are handed to the
// loop, batched with others for the same loop.
//
// The fields are laid out for size: one Conn lives per connection.
type Conn struct {
	gc     gnet.Conn // loop only
	loop   *loop
	id     uint64
	remote net.Addr
	info   *connInfo // set at upgrade; immutable after
	value  atomic.Value

	dec   codec.Decoder
	timer timerwheel.Timer[*Conn]

	prev, next *Conn // the loop's list of live connections

	queued atomic.Int64 // bytes handed to the loop but not yet written
	closed atomic.Bool  // set once, on the loop, when the connection is done

	// Loop-only bookkeeping, in ticks of the loop's clock.
	lastRecv    uint32 // last frame from the peer
	lastMessage uint32 // last data message from the peer
	pingSent    uint32 // when the unanswered ping went out
	stallMark   uint32 // when outbound bytes were last seen to move
	stallSent   uint32 // bytes sent (written minus pending) at stallMark
	written     uint32 // bytes handed to gnet, wrapping
	// Token buckets of the inbound rate limits (ms clock, milli-messages,
	// bytes). While handshaking, rateBytes holds how much of the request
	// head was already searched for its end: the two never overlap in time.
	rateLast    uint32
	rateMsgs    int32
	rateBytes   int32
	awaitPong   bool
	stallWatch  bool // outbound bytes are pending and the stall clock runs
	upgraded    bool // the 101 went out and OnOpen ran
	state       connState
	closeReport *CloseError // what OnClose will say
}

// connInfo is what the upgrade request carried that the connection keeps.
type connInfo struct {
	path, rawQuery, protocol string
	header                   []codec.HeaderField
}

// ID is unique among the server's connections for the life of the process.
func (c *Conn) ID() uint64 { return c.id }

// RemoteAddr is the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// Path is the request path of the upgrade (raw, not unescaped).
func (c *Conn) Path() string {
	if c.info == nil {
		return ""
	}
	return c.info.path
}

// RawQuery is the upgrade request's query string, without '?'.
func (c *Conn) RawQuery() string {
	if c.info == nil {
		return ""
	}
	return c.info.rawQuery
}

// Protocol is the subprotocol chosen at the upgrade, or "".
func (c *Conn) Protocol() string {
	if c.info == nil {
		return ""
	}
	return c.info.protocol
}

// Header returns the value of a request header named in Config.KeepHeaders
// (case-insensitive), or "".
func (c *Conn) Header(name string) string {
	if c.info == nil {
		return ""
	}
	for _, f := range c.info.header {
		if equalFoldASCII(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// valueBox lets the atomic.Value hold any value, nil and mixed types
// included (atomic.Value itself panics on both).
type valueBox struct{ v any }

// Value returns the application's per-connection value (nil if unset).
func (c *Conn) Value() any {
	if b, ok := c.value.Load().(valueBox); ok {
		return b.v
	}
	return nil
}

// SetValue sets the application's per-connection value; any value, nil
// included, from any goroutine.
func (c *Conn) SetValue(v any) { c.value.Store(valueBox{v}) }

// Closed reports whether the connection has closed.
func (c *Conn) Closed() bool { return c.closed.Load() }

// onLoop reports whether the caller runs on c's event loop.
func (c *Conn) onLoop() bool {
	id := gid.ID()
	return id != 0 && id == c.loop.goroutine.Load()
}

// WriteText sends a text message. It does not check that p is UTF-8; see
// WriteTextChecked. p may be reused once the call returns.
func (c *Conn) WriteText(p []byte) error { return c.write(codec.OpText, p) }

// WriteTextChecked sends a text message after checking p is valid UTF-8.
func (c *Conn) WriteTextChecked(p []byte) error {
	if !codec.ValidUTF8(p) {
		return ErrInvalidUTF8String
	}
	return c.write(codec.OpText, p)
}

// WriteBinary sends a binary message. p may be reused once the call returns.
func (c *Conn) WriteBinary(p []byte) error { return c.write(codec.OpBinary, p) }

// WriteMessage sends a message of the given type.
func (c *Conn) WriteMessage(typ MessageType, p []byte) error {
	if typ == Text {
		return c.write(codec.OpText, p)
	}
	return c.write(codec.OpBinary, p)
}

// WritePrepared sends a frame encoded once with codec.NewPreparedFrame; many
// connections may share it (broadcast). The frame is not copied.
func (c *Conn) WritePrepared(f *codec.PreparedFrame) error {
	if c.onLoop() {
		return c.loop.writePrepared(c, f)
	}
	if c.closed.Load() {
		return ErrClosed
	}
	return c.loop.post(task{conn: c, kind: taskPrepared, frame: f}, len(f.Bytes()))
}

// Ping sends a ping with an optional payload of at most 125 bytes.
func (c *Conn) Ping(payload []byte) error {
	if len(payload) > codec.MaxControlPayload {
		return ErrControlTooLong
	}
	return c.write(codec.OpPing, payload)
}

// Close starts the close handshake with code and reason (reason is cut to
// fit 123 bytes). The connection closes when the peer answers or after
// Config.CloseTimeout. Closing a closed connection returns ErrClosed.
func (c *Conn) Close(code codec.CloseCode, reason string) error {
	if !codec.ValidCloseCode(code) {
		return ErrInvalidCloseCode
	}
	if c.onLoop() {
		return c.loop.startClose(c, code, reason, nil)
	}
	if c.closed.Load() {
		return ErrClosed
	}
	return c.loop.post(task{conn: c, kind: taskClose, code: code, reason: reason}, 0)
}

// Abort closes TCP at once, without a close handshake.
func (c *Conn) Abort() error {
	if c.onLoop() {
		c.loop.abort(c, &CloseError{Code: codec.CloseAbnormal, Err: ErrClosed})
		return nil
	}
	if c.closed.Load() {
		return ErrClosed
	}
	return c.loop.post(task{conn: c, kind: taskAbort}, 0)
}

func (c *Conn) write(op codec.OpCode, p []byte) error {
	if c.onLoop() {
		return c.loop.writeFrame(c, op, p)
	}
	if c.closed.Load() {
		return ErrClosed
	}
	buf := framePool.Get()
	buf.B = codec.AppendFrame(buf.B[:0], op, p)
	return c.loop.post(task{conn: c, kind: taskFrame, buf: buf}, len(buf.B))
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
