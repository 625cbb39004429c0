package engine

import (
	"errors"
	"syscall"

	"github.com/switchboard-ws/switchboard/codec"
)

// directReadMax bounds the bytes read straight into a message buffer per
// event, so one large message does not starve the loop's other
// connections (the level-triggered poller comes back for the rest).
const directReadMax = 1 << 20

// readFrames decodes every frame, or part of one, gnet holds for c and acts
// on it; then, while a large frame's payload is still arriving, reads more
// of it from the socket straight into its message buffer. It runs inside
// OnTraffic; the caller turns l.closeBusy into gnet.Close.
func (l *loop) readFrames(c *Conn) {
	buf := l.inPeek(c)
	off := 0
	now, nowMs := l.clock() // one clock read per batch of frames
	for off < len(buf) && (c.state == stateOpen || c.state == stateClosing) {
		msg, n, err := c.dec.Decode(buf[off:])
		if err != nil {
			l.failDecode(c, err)
			break
		}
		if n == 0 {
			break // need more bytes
		}
		off += n
		l.handle(c, msg, now, nowMs)
	}
	if c.state == stateClosed {
		return // gnet drops the rest of the input when it closes the socket
	}
	if c.state == stateFailing {
		off = len(buf) // the rest cannot be parsed; drain it
	}
	l.inDiscard(c, off)
	if off == len(buf) && c.flags&flagTLS == 0 { // TLS bytes must be opened first
		l.readDirect(c, now, nowMs)
	}
	c.dec.Recycle()
}

// readDirect reads the rest of a large frame in progress from the socket
// into its message buffer: the kernel copies the bytes where they will be
// delivered from, with no stop in gnet's buffer. It stops when the socket
// is empty, the frame is complete (what follows it stays in the socket for
// gnet to read), or directReadMax bytes were read.
func (l *loop) readDirect(c *Conn, now uint32, nowMs uint32) {
	for total := 0; total < directReadMax && (c.state == stateOpen || c.state == stateClosing); {
		room := c.dec.Room(directReadMax - total)
		if len(room) == 0 {
			return
		}
		n, err := readSocket(c.gc.Fd(), room)
		if n <= 0 {
			switch {
			case err == errAgain:
			case err == nil: // EOF inside a frame
				l.abort(c, &CloseError{Code: codec.CloseAbnormal, Remote: true, Err: ErrConnectionLost})
			default:
				l.abort(c, &CloseError{Code: codec.CloseAbnormal, Remote: true, Err: err})
			}
			return
		}
		total += n
		msg, err := c.dec.Wrote(n)
		if err != nil {
			l.failDecode(c, err)
			return
		}
		l.handle(c, msg, now, nowMs)
		if msg.Kind != codec.KindNone {
			return // the frame is complete
		}
	}
}

// failDecode fails c on an error from its decoder.
func (l *loop) failDecode(c *Conn, err error) {
	if err == codec.ErrOverBudget {
		l.stats.budgetRefused.Add(1)
	}
	l.failProtocol(c, err)
}

// handle acts on what one Decode call consumed: a message, a control
// frame, or (KindNone) part of one.
func (l *loop) handle(c *Conn, msg codec.Message, now, nowMs uint32) {
	c.lastRecv = now
	if c.awaitPong {
		// The peer answered: re-arm for the next ping interval rather
		// than waiting out the pong deadline.
		c.awaitPong = false
		l.armHeartbeat(c)
	}
	switch msg.Kind {
	case codec.KindText, codec.KindBinary:
		if c.state != stateOpen {
			l.stats.messagesIn.Add(1)
			l.stats.bytesIn.Add(uint64(len(msg.Payload)))
			return // after our close frame, data is discarded (RFC 6455 §5.5.1)
		}
		if msg.Rsv != 0 { // RSV1: permessage-deflate (the only extension)
			p, ok := l.inflate(c, msg)
			if !ok {
				return
			}
			msg.Payload = p // stats, rate limits and OnMessage see the inflated bytes
			defer l.inflateDone()
		}
		l.stats.messagesIn.Add(1)
		l.stats.bytesIn.Add(uint64(len(msg.Payload)))
		if l.srv.cfg.IdleTimeout > 0 {
			c.extension().lastMessage = now
		}
		if !l.admitMessage(c, len(msg.Payload), nowMs) {
			l.overRate(c)
			return
		}
		typ := Binary
		if msg.Kind == codec.KindText {
			typ = Text
		}
		l.dispatchMessage(c, typ, msg.Payload)
	case codec.KindPing:
		if c.state == stateOpen {
			l.writeControl(c, codec.OpPong, msg.Payload)
		}
	case codec.KindPong:
		// Liveness only (recorded above).
	case codec.KindClose:
		l.onPeerClose(c, msg)
	}
}

// onPeerClose answers the peer's close frame and closes TCP (the server
// closes TCP first, RFC 6455 §7.1.1).
func (l *loop) onPeerClose(c *Conn, msg codec.Message) {
	if c.state == stateOpen {
		reply := msg.Code
		if reply == codec.CloseNoStatus {
			l.writeControl(c, codec.OpClose, nil)
		} else {
			var body [2]byte
			body[0], body[1] = byte(reply>>8), byte(reply)
			l.writeControl(c, codec.OpClose, body[:])
		}
		l.abort(c, &CloseError{Code: msg.Code, Reason: string(msg.Reason), Remote: true})
		return
	}
	// We started the close: the handshake is complete.
	l.abort(c, c.closeReport())
}

// failProtocol fails the connection on a protocol error: send the close
// code the codec chose, half-close (FIN after the close frame), then discard
// input until the peer closes TCP or CloseTimeout passes. Closing at once,
// with the peer's bytes unread, would make the kernel send a reset that can
// destroy the close frame in flight (a lingering close).
func (l *loop) failProtocol(c *Conn, err error) {
	var ce *codec.Error
	code, reason := codec.CloseProtocolError, "protocol error"
	if errors.As(err, &ce) {
		code, reason = ce.Code, ce.Reason
	}
	report := &CloseError{Code: code, Reason: reason, Err: err}
	if c.state != stateOpen || l.srv.cfg.CloseTimeout == 0 {
		l.abort(c, report) // already closing: the peer had its close frame
		return
	}
	c.extension().closeReport = report
	l.sendClose(c, code, reason)
	if c.state == stateClosed {
		return
	}
	c.state = stateFailing
	if l.outboundBuffered(c) == 0 {
		l.shutdownWrite(c)
	}
	l.schedule(c, l.srv.cfg.CloseTimeout)
}

// shutdownWrite half-closes c's socket: the peer reads EOF after our
// close frame.
func (l *loop) shutdownWrite(c *Conn) {
	if t := c.tlsState(); t != nil {
		// TLS: close_notify goes before the FIN (RFC 8446 §6.1).
		l.tlsCloseNotify(c, t)
		if c.state == stateClosed || l.outboundBuffered(c) > 0 {
			return // closed, or the FIN would cut the alert: TCP closes later
		}
	}
	_ = syscall.Shutdown(c.gc.Fd(), syscall.SHUT_WR)
}

// dispatchMessage runs OnMessage, turning a panic into close 1011.
func (l *loop) dispatchMessage(c *Conn, typ MessageType, data []byte) {
	defer l.recoverHandler(c)
	l.srv.handler.OnMessage(c, typ, data)
}

func (l *loop) dispatchOpen(c *Conn) {
	defer l.recoverHandler(c)
	l.srv.handler.OnOpen(c)
}

func (l *loop) dispatchClose(c *Conn, err error) {
	defer func() {
		if r := recover(); r != nil {
			l.srv.logPanic(c, r)
		}
	}()
	l.srv.handler.OnClose(c, err)
}

func (l *loop) recoverHandler(c *Conn) {
	r := recover()
	if r == nil {
		return
	}
	l.srv.logPanic(c, r)
	if c.state == stateOpen {
		l.sendClose(c, codec.CloseInternalError, "internal error")
	}
	l.abort(c, &CloseError{Code: codec.CloseInternalError, Reason: "internal error", Err: ErrHandlerPanic})
}
