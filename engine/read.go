package engine

import (
	"errors"
	"syscall"

	"github.com/switchboard-ws/switchboard/codec"
)

// readFrames decodes every complete frame gnet holds for c and acts on it.
// It runs inside OnTraffic; the caller turns l.closeBusy into gnet.Close.
func (l *loop) readFrames(c *Conn) {
	buf, _ := c.gc.Peek(-1)
	off := 0
	now, nowMs := l.clock() // one clock read per batch of frames
	for off < len(buf) && (c.state == stateOpen || c.state == stateClosing) {
		msg, n, err := c.dec.Decode(buf[off:])
		if err != nil {
			if err == codec.ErrOverBudget {
				l.stats.budgetRefused.Add(1)
			}
			l.failProtocol(c, err)
			break
		}
		if n == 0 {
			break // need more bytes
		}
		off += n
		c.lastRecv = now
		if c.awaitPong {
			// The peer answered: re-arm for the next ping interval rather
			// than waiting out the pong deadline.
			c.awaitPong = false
			l.armHeartbeat(c)
		}
		switch msg.Kind {
		case codec.KindText, codec.KindBinary:
			l.stats.messagesIn.Add(1)
			l.stats.bytesIn.Add(uint64(len(msg.Payload)))
			if c.state != stateOpen {
				continue // after our close frame, data is discarded (RFC 6455 §5.5.1)
			}
			if l.srv.cfg.IdleTimeout > 0 {
				c.extension().lastMessage = now
			}
			if !l.admitMessage(c, len(msg.Payload), nowMs) {
				l.overRate(c)
				continue
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
	if c.state == stateClosed {
		return // gnet drops the rest of the input when it closes the socket
	}
	if c.state == stateFailing {
		off = len(buf) // the rest cannot be parsed; drain it
	}
	if off > 0 {
		_, _ = c.gc.Discard(off) // never Discard(0): gnet treats n <= 0 as "everything"
	}
	c.dec.Recycle()
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
