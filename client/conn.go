package client

import (
	"net"
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/internal/timerwheel"
)

// MessageType is the type of a data message (the engine's).
type MessageType = engine.MessageType

const (
	Text   = engine.Text
	Binary = engine.Binary
)

// Handler receives a connection's events, with the server side's shape.
// Every method runs on the connection's event loop, one event at a time
// per connection: it must not block (hand slow work to another goroutine;
// Conn methods are safe there, Dial is not).
type Handler interface {
	// OnOpen runs once, when the first handshake has completed. After a
	// reconnect, Reconnect.OnReconnect runs instead.
	OnOpen(c *Conn)
	// OnMessage runs for each complete data message. data is valid only
	// during the call: copy it to keep it.
	OnMessage(c *Conn, typ MessageType, data []byte)
	// OnClose runs once, when the connection has closed for good (no
	// reconnect follows). err is a *CloseError.
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

type connState uint8

const (
	stateDialing connState = iota // a handshake is under way (first or redial)
	stateOpen                     // a session is open
	stateClosing                  // we sent a close frame and wait for the server's
	stateWaiting                  // between sessions: a reconnect is scheduled
	stateClosed                   // closed for good
)

// info is what one session agreed; replaced (never changed) per session.
type info struct {
	url      string
	protocol string
	deflate  bool
	pmd      codec.DeflateParams
	remote   net.Addr
}

// Conn is one client WebSocket connection; with Reconnect, the same Conn
// lives across sessions. Every method is safe from any goroutine and after
// the connection has closed (it then returns ErrClosed). Writes made on
// the connection's loop (inside Handler callbacks) go straight to the
// socket; writes from other goroutines are handed to the loop.
type Conn struct {
	cfg  *dialConfig
	h    Handler
	loop *loop     // set when the first session opens; fixed after
	gc   gnet.Conn // loop only; nil between sessions
	sec  *secure   // TLS layer of the session, nil for ws://
	pmd  *pmdState // permessage-deflate of the session, nil if none
	rc   *redial   // reconnect state, nil without Reconnect

	carry []byte // bytes of a frame header that straddled two reads (rare)

	info   atomic.Pointer[info]
	value  atomic.Value
	report *CloseError // what the end of this session will say (loop only)

	prev, next *Conn
	dec        codec.Decoder
	timer      timerwheel.Timer[*Conn]

	queued   atomic.Int32 // bytes handed to the loop, not yet sent
	closed   atomic.Bool  // closed for good
	up       atomic.Bool  // a session is open
	final    atomic.Bool  // Close was called (or the Client closes): no reconnect
	lastRecv uint32       // loop tick of the last frame (or of the ping sent)

	state     connState
	awaitPong bool
	opened    bool // OnOpen ran
}

type valueBox struct{ v any }

// Value returns the application's per-connection value (nil if unset).
func (c *Conn) Value() any {
	if b, ok := c.value.Load().(valueBox); ok {
		return b.v
	}
	return nil
}

// SetValue sets the application's per-connection value.
func (c *Conn) SetValue(v any) { c.value.Store(valueBox{v}) }

// URL is the URL of the current (or last) session; with Reconnect.URL it
// may change between sessions.
func (c *Conn) URL() string { return c.info.Load().url }

// Protocol is the subprotocol the server chose for the current session.
func (c *Conn) Protocol() string { return c.info.Load().protocol }

// Deflate reports whether the current session negotiated
// permessage-deflate.
func (c *Conn) Deflate() bool { return c.info.Load().deflate }

// DeflateParams is what the current session agreed for
// permessage-deflate, as the server answered it (ServerNoContextTakeover
// false: the server keeps context); the zero value when Deflate is false.
func (c *Conn) DeflateParams() codec.DeflateParams { return c.info.Load().pmd }

// RemoteAddr is the server's (or the proxy's) address in the current
// session.
func (c *Conn) RemoteAddr() net.Addr { return c.info.Load().remote }

// Closed reports whether the connection has closed for good.
func (c *Conn) Closed() bool { return c.closed.Load() }

// Connected reports whether a session is open now (false while a
// reconnect is pending).
func (c *Conn) Connected() bool { return c.up.Load() }

func (c *Conn) onLoop() bool { return c.loop != nil && c.loop.onLoop() }

// WriteText sends a text message (not checked for UTF-8; see
// WriteTextChecked). p may be reused once the call returns.
func (c *Conn) WriteText(p []byte) error { return c.write(codec.OpText, p, true) }

// WriteTextChecked sends a text message after checking it is UTF-8.
func (c *Conn) WriteTextChecked(p []byte) error {
	if !codec.ValidUTF8(p) {
		return ErrInvalidUTF8
	}
	return c.write(codec.OpText, p, true)
}

// WriteBinary sends a binary message.
func (c *Conn) WriteBinary(p []byte) error { return c.write(codec.OpBinary, p, true) }

// WriteMessage sends a message of the given type.
func (c *Conn) WriteMessage(typ MessageType, p []byte) error {
	return c.write(opOf(typ), p, true)
}

// WriteUncompressed sends a message without permessage-deflate, whatever
// its size (for data that is already compressed).
func (c *Conn) WriteUncompressed(typ MessageType, p []byte) error {
	return c.write(opOf(typ), p, false)
}

func opOf(typ MessageType) codec.OpCode {
	if typ == Text {
		return codec.OpText
	}
	return codec.OpBinary
}

// Ping sends a ping with a payload of at most 125 bytes. Heartbeats need
// no call: see Dialer.PingInterval.
func (c *Conn) Ping(payload []byte) error {
	if len(payload) > codec.MaxControlPayload {
		return ErrControlTooLong
	}
	if c.onLoop() {
		if c.state != stateOpen {
			return c.downErr()
		}
		return c.loop.writeControl(c, codec.OpPing, payload)
	}
	if c.closed.Load() {
		return ErrClosed
	}
	if !c.up.Load() {
		return c.downErr()
	}
	buf := framePool.Get()
	buf.B = append(buf.B[:0], payload...)
	return c.loop.post(task{conn: c, kind: taskPing, buf: buf}, len(payload))
}

// Close starts the close handshake with code and reason (cut to fit 123
// bytes) and ends the connection for good: no reconnect follows. OnClose
// runs when the server answers, or after Dialer.CloseTimeout. Between
// sessions it closes at once.
func (c *Conn) Close(code codec.CloseCode, reason string) error {
	if !codec.ValidCloseCode(code) {
		return ErrInvalidCloseCode
	}
	if c.onLoop() {
		if c.state == stateClosed || c.final.Load() {
			return ErrClosed
		}
		c.loop.closeFinal(c, code, reason, nil)
		return nil
	}
	if c.closed.Load() {
		return ErrClosed
	}
	return c.loop.post(task{conn: c, kind: taskClose, code: code, reason: reason}, 0)
}

// Abort closes TCP at once, without a close handshake; like Close, it is
// final.
func (c *Conn) Abort() error {
	fn := func() {
		if c.state == stateClosed {
			return
		}
		c.final.Store(true)
		if c.gc != nil {
			c.loop.abort(c, &CloseError{Code: codec.CloseAbnormal, Err: ErrClosed}, nil)
		} else if c.state == stateWaiting {
			c.loop.finish(c, &CloseError{Code: codec.CloseAbnormal, Err: ErrClosed})
		}
	}
	if c.onLoop() {
		fn()
		return nil
	}
	if c.closed.Load() {
		return ErrClosed
	}
	return c.loop.post(task{kind: taskFunc, fn: fn}, 0)
}

func (c *Conn) downErr() error {
	if c.closed.Load() || c.rc == nil || c.final.Load() {
		return ErrClosed
	}
	return ErrReconnecting
}

func (c *Conn) write(op codec.OpCode, p []byte, compress bool) error {
	if c.onLoop() {
		if c.state != stateOpen {
			return c.loop.writeDown(c, op, p)
		}
		return c.loop.writeMessage(c, op, p, compress)
	}
	if c.closed.Load() {
		return ErrClosed
	}
	queued := false
	if !c.up.Load() {
		if c.rc == nil || c.rc.r.QueueBytes <= 0 || c.final.Load() {
			return c.downErr()
		}
		if c.rc.qbytes.Add(int64(len(p))) > int64(c.rc.r.QueueBytes) {
			c.rc.qbytes.Add(-int64(len(p)))
			return ErrQueueFull
		}
		queued = true
	}
	buf := framePool.Get()
	buf.B = append(buf.B[:0], p...)
	err := c.loop.post(task{conn: c, kind: taskWrite, op: op, raw: !compress, queued: queued, buf: buf}, len(p))
	if err != nil && queued {
		c.rc.qbytes.Add(-int64(len(p)))
	}
	return err
}
