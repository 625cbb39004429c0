package engine

import (
	"net"
	"sync/atomic"
	"unsafe"

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
// One Conn lives per connection, so it is laid out to fit the 128-byte
// size class (a test keeps it there): what an idle connection needs is
// inline, and rarely used state is allocated on first use.
type Conn struct {
	gc     gnet.Conn // loop only
	loop   *loop
	id     uint64
	remote *net.TCPAddr
	ext    atomic.Pointer[connExt] // nil until something needs it

	dec   codec.Decoder
	timer timerwheel.Timer[struct{}] // the owning Conn is found by offset: connOfTimer

	prev, next *Conn // the loop's list of live connections

	queued atomic.Int32 // bytes handed to the loop but not yet written

	// lastRecv is the loop tick of the last frame from the peer; while a
	// ping is unanswered, of when it went out. While handshaking it holds
	// how much of the request head was already searched for its end.
	lastRecv uint32

	// closed: bit 0 (closedBit) is set once, on the loop, when the
	// connection is done; read from any goroutine. Bits 8..31 are 1 + the
	// index of the connection's context-takeover windows in its loop's
	// table (deflate_takeover.go), 0: none; loop only. Only the loop
	// writes the word.
	closed    atomic.Uint32
	state     connState
	awaitPong bool
	flags     connFlags // flagUpgraded, flagTLS

	// pmd is permessage-deflate (deflate.go), set before OnOpen and
	// constant after; 0: not negotiated. The last spare byte of Conn.
	pmd uint8
}

// closedBit is the bit of Conn.closed that says the connection is done.
const closedBit = 1

// isClosed reports whether the connection is done. Any goroutine.
func (c *Conn) isClosed() bool { return c.closed.Load()&closedBit != 0 }

// markClosed sets closedBit. Loop only.
func (c *Conn) markClosed() { c.closed.Or(closedBit) }

// connFlags are bits of Conn.flags.
type connFlags uint8

const (
	flagUpgraded connFlags = 1 << iota // the 101 went out and OnOpen ran
	flagTLS                            // served over TLS: the Conn is inside a tlsBox
)

// connExt holds what an idle connection does not need: it is allocated
// when the application sets a value, the request kept more than path "/",
// a message arrives under a rate limit, outbound bytes queue up, a close
// starts, or at the upgrade when IdleTimeout is on.
type connExt struct {
	info        *connInfo // set at upgrade; immutable after
	lastMessage uint32    // loop tick of the last data message (IdleTimeout only)
	value       atomic.Value
	closeReport *CloseError // what OnClose will say

	// Token buckets of the inbound rate limits (ms clock, milli-messages,
	// bytes); rateSet is false until the first message fills them.
	rateLast  uint32
	rateMsgs  int32
	rateBytes int32
	rateSet   bool

	stallWatch bool   // outbound bytes are pending and the stall clock runs
	stallMark  uint32 // when outbound bytes were last seen to move
	stallSent  uint32 // bytes sent (written minus pending) at stallMark
	written    uint32 // bytes handed to gnet since the stall clock started

	pend *pending // large writes the socket has not taken yet (loop only)

	decision *Decision // a deferred upgrade decision still pending (loop only)
}

// extension returns c's connExt, allocating it on first use. Safe from
// any goroutine.
func (c *Conn) extension() *connExt {
	if e := c.ext.Load(); e != nil {
		return e
	}
	e := &connExt{}
	if c.ext.CompareAndSwap(nil, e) {
		return e
	}
	return c.ext.Load()
}

// closeReport is what OnClose will say, or nil.
func (c *Conn) closeReport() *CloseError {
	if e := c.ext.Load(); e != nil {
		return e.closeReport
	}
	return nil
}

// connOfTimer recovers the Conn a timer entry is embedded in.
func connOfTimer(t *timerwheel.Timer[struct{}]) *Conn {
	return (*Conn)(unsafe.Add(unsafe.Pointer(t), -int(unsafe.Offsetof(Conn{}.timer))))
}

// connInfo is what the upgrade request carried that the connection keeps.
type connInfo struct {
	path, rawQuery, protocol string
	header                   []codec.HeaderField
}

// ID is unique among the server's connections for the life of the process.
func (c *Conn) ID() uint64 { return c.id }

// RemoteAddr is the peer's address.
func (c *Conn) RemoteAddr() net.Addr {
	if c.remote == nil {
		return nil
	}
	return c.remote
}

// info is what the upgrade request carried, or nil before the upgrade.
func (c *Conn) info() *connInfo {
	if e := c.ext.Load(); e != nil && e.info != nil {
		return e.info
	}
	if c.flags&flagUpgraded != 0 {
		return rootInfo
	}
	return nil
}

// Path is the request path of the upgrade (raw, not unescaped).
func (c *Conn) Path() string {
	if info := c.info(); info != nil {
		return info.path
	}
	return ""
}

// RawQuery is the upgrade request's query string, without '?'.
func (c *Conn) RawQuery() string {
	if info := c.info(); info != nil {
		return info.rawQuery
	}
	return ""
}

// Protocol is the subprotocol chosen at the upgrade, or "".
func (c *Conn) Protocol() string {
	if info := c.info(); info != nil {
		return info.protocol
	}
	return ""
}

// Header returns the value of a request header named in Config.KeepHeaders
// (case-insensitive), or "".
func (c *Conn) Header(name string) string {
	info := c.info()
	if info == nil {
		return ""
	}
	for _, f := range info.header {
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
	if e := c.ext.Load(); e != nil {
		if b, ok := e.value.Load().(valueBox); ok {
			return b.v
		}
	}
	return nil
}

// SetValue sets the application's per-connection value; any value, nil
// included, from any goroutine.
func (c *Conn) SetValue(v any) { c.extension().value.Store(valueBox{v}) }

// Closed reports whether the connection has closed.
func (c *Conn) Closed() bool { return c.isClosed() }

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

// WriteUncompressed sends a message of the given type without
// permessage-deflate compression, whatever its size: for data that is
// already compressed (images, archives), where deflate would cost CPU for
// nothing. On a connection without deflate it is WriteMessage. Under
// context takeover the skipped message does not enter the compression
// history. p may be reused once the call returns.
func (c *Conn) WriteUncompressed(typ MessageType, p []byte) error {
	op := codec.OpBinary
	if typ == Text {
		op = codec.OpText
	}
	if c.onLoop() {
		return c.loop.writeUncompressed(c, op, p)
	}
	if c.isClosed() {
		return ErrClosed
	}
	buf := framePool.Get()
	buf.B = codec.AppendFrame(buf.B[:0], op, p)
	return c.loop.post(task{conn: c, kind: taskFrame, buf: buf}, len(buf.B))
}

// WritePrepared sends a frame encoded once with codec.NewPreparedFrame; many
// connections may share it (broadcast). The frame is not copied. A
// compressed frame (codec.NewPreparedFrameDeflate: compressed alone within
// a window of 2^bits bytes) may be written only to a connection that
// negotiated permessage-deflate with a window at least that large (every
// SharedDeflate connection takes the frames made with
// Loop.SharedDeflateBits()); elsewhere, and for any other reserved bits,
// WritePrepared returns ErrNoSharedDeflate and sends nothing.
func (c *Conn) WritePrepared(f *codec.PreparedFrame) error {
	if f.RSV() != 0 && !c.takesDeflated(f) {
		return ErrNoSharedDeflate
	}
	if c.onLoop() {
		return c.loop.writePrepared(c, f)
	}
	if c.isClosed() {
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
	if c.isClosed() {
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
	if c.isClosed() {
		return ErrClosed
	}
	return c.loop.post(task{conn: c, kind: taskAbort}, 0)
}

func (c *Conn) write(op codec.OpCode, p []byte) error {
	if c.onLoop() {
		return c.loop.writeFrame(c, op, p)
	}
	if c.isClosed() {
		return ErrClosed
	}
	buf := framePool.Get()
	if c.pmd != 0 && !op.IsControl() && len(p) >= c.loop.srv.cfg.DeflateThreshold {
		// Compressed on the loop, which owns the connection's window.
		buf.B = append(buf.B[:0], p...)
		return c.loop.post(task{conn: c, kind: taskDeflate, op: op, buf: buf}, len(buf.B))
	}
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
