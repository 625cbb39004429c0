package client

import (
	"errors"
	"io"
	"net"

	"github.com/panjf2000/gnet/v2"

	"github.com/switchboard-ws/switchboard/codec"
)

// events is the gnet.EventHandler behind a Client.
type events struct {
	gnet.BuiltinEventEngine
	cl *Client
}

// enrolling travels with a socket handed to the loops, to OnOpen.
type enrolling struct {
	c      *Conn
	s      *session
	opened bool // OnOpen opened the session (read by Dial after Enroll returns)
}

func (e *events) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	en, ok := gc.Context().(*enrolling)
	if !ok {
		return nil, gnet.Close
	}
	c, s := en.c, en.s
	l := e.cl.loopOf(gc.EventLoop())
	l.enter()
	first := c.loop == nil
	if first {
		c.loop = l
		c.timer.Value = c
		l.link(c)
	}
	gc.SetContext(c)
	gc.SetSafeContext(nil) // gnet set it to the enrolling too: let the session (and its net.Conn) go
	l.busy, l.closeBusy = c, false
	defer func() { l.busy, l.closeBusy = nil, false }()
	if c.final.Load() || c.state == stateClosed || e.cl.closing.Load() {
		// Closed while the handshake was under way.
		l.finish(c, c.finalReport())
		return nil, gnet.Close
	}
	en.opened = true
	c.gc = gc
	c.sec = s.sec
	if c.sec != nil {
		c.sec.detach()
	}
	c.dec.Init(&c.cfg.decCfg)
	c.pmd = nil
	if s.pmdOK {
		c.setDeflate(&s.pmd)
	}
	c.info.Store(&info{url: s.url, protocol: s.protocol, deflate: s.pmdOK, pmd: s.pmd, remote: gc.RemoteAddr()})
	c.state = stateOpen
	c.report = nil
	c.awaitPong = false
	c.lastRecv = l.tick()
	c.up.Store(true)
	if c.rc != nil {
		c.rc.opened(l)
	}
	l.armHeartbeat(c)
	if first {
		c.opened = true
		l.dispatch(c, func() { c.h.OnOpen(c) })
	} else {
		if fn := c.rc.r.OnReconnect; fn != nil {
			l.dispatch(c, func() { fn(c) })
		}
		l.flushQueue(c)
	}
	// Bytes that followed the 101 are the first frames (for crypto/tls,
	// more may wait in the tls.Conn).
	if c.state == stateOpen || c.state == stateClosing {
		if len(s.rest) > 0 {
			c.carry = s.rest
		}
		if c.sec != nil {
			l.readTLS(c, nil)
		} else if c.carry != nil {
			l.readPlain(c, nil)
		}
	}
	if l.closeBusy {
		return nil, gnet.Close
	}
	return nil, gnet.None
}

func (e *events) OnTraffic(gc gnet.Conn) gnet.Action {
	c, _ := gc.Context().(*Conn)
	if c == nil || c.gc != gc {
		return gnet.Close
	}
	l := c.loop
	l.enter()
	l.busy, l.closeBusy = c, false
	buf, _ := gc.Peek(-1)
	if len(buf) > 0 {
		c.lastRecv = l.tick()
		c.awaitPong = false // anything from the server proves it is alive
	}
	if c.state == stateOpen || c.state == stateClosing {
		if c.sec != nil {
			n := l.readTLS(c, buf)
			if c.gc == gc && n > 0 {
				_, _ = gc.Discard(n)
				l.rx.Add(int64(n)) // counted when consumed: a partial frame stays in gnet's buffer
			}
		} else {
			n := l.readPlain(c, buf)
			if c.gc == gc && n > 0 {
				_, _ = gc.Discard(n)
				l.rx.Add(int64(n)) // counted when consumed: a partial frame stays in gnet's buffer
			}
		}
	} else if len(buf) > 0 {
		_, _ = gc.Discard(len(buf))
		l.rx.Add(int64(len(buf)))
	}

	closing := l.closeBusy
	l.busy, l.closeBusy = nil, false
	if closing {
		return gnet.Close
	}
	return gnet.None
}

func (e *events) OnClose(gc gnet.Conn, err error) gnet.Action {
	c, _ := gc.Context().(*Conn)
	if c == nil || c.gc != gc {
		return gnet.None
	}
	gc.SetContext(nil)
	l := c.loop
	l.enter()
	report := c.report
	if report == nil {
		report = &CloseError{Code: codec.CloseAbnormal, Remote: true, Err: ErrConnectionLost}
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
			report.Err = err
		}
	}
	l.sessionEnded(c, report)
	return gnet.None
}

// dispatch runs a handler callback, turning a panic into close 1011.
func (l *loop) dispatch(c *Conn, fn func()) {
	defer func() {
		if r := recover(); r != nil {
			l.cl.cfg.Logger.Error("websocket client handler panicked", "panic", r, "url", c.URL())
			if c.state == stateOpen {
				l.closeFinal(c, codec.CloseInternalError, "internal error", ErrHandlerPanic)
			}
		}
	}()
	fn()
}

// abort closes the session's TCP now. report (when not nil and none is
// set) is what the session's end will say; cause, when set, is recorded
// in the report's Err.
func (l *loop) abort(c *Conn, report *CloseError, cause error) {
	if c.gc == nil {
		return
	}
	if c.report == nil {
		c.report = report
	}
	if c.report == nil {
		c.report = &CloseError{Code: codec.CloseAbnormal, Err: cause}
	} else if cause != nil && c.report.Err == nil {
		c.report.Err = cause
	}
	l.tlsCloseNotify(c)
	if c.gc == nil {
		return // the write failed: the session has ended
	}
	if l.busy == c {
		l.closeBusy = true
		c.up.Store(false)
		if c.state == stateOpen {
			c.state = stateClosing
		}
		return
	}
	_ = l.el.Close(c.gc) // runs OnClose now
}

// sessionEnded runs when a session's TCP connection has closed: reconnect
// or finish.
func (l *loop) sessionEnded(c *Conn, report *CloseError) {
	c.gc = nil
	if c.sec != nil {
		l.tlsForget(c.sec)
		c.sec = nil
	}
	c.carry = nil
	c.up.Store(false)
	c.dec.Release()
	c.releaseDeflate()
	l.wheel.Cancel(&c.timer)
	if c.state == stateClosed {
		return
	}
	if c.final.Load() || c.rc == nil || l.cl.closing.Load() {
		l.finish(c, report)
		return
	}
	c.rc.ended(l, c, report)
}

// finish closes c for good and runs OnClose.
func (l *loop) finish(c *Conn, report *CloseError) {
	if c.state == stateClosed {
		return
	}
	c.state = stateClosed
	c.closed.Store(true)
	c.up.Store(false)
	l.wheel.Cancel(&c.timer)
	if c.rc != nil {
		c.rc.dropQueue(c)
	}
	l.unlink(c)
	l.cl.live.Add(-1)
	if c.opened {
		defer func() {
			if r := recover(); r != nil {
				l.cl.cfg.Logger.Error("websocket client OnClose panicked", "panic", r)
			}
		}()
		c.h.OnClose(c, report)
	}
}

// finalReport is what OnClose says for a connection closed between
// sessions.
func (c *Conn) finalReport() *CloseError {
	if c.report != nil {
		return c.report
	}
	return &CloseError{Code: codec.CloseNormal, Err: ErrClosed}
}

// closeFinal starts the close handshake and rules out a reconnect.
func (l *loop) closeFinal(c *Conn, code codec.CloseCode, reason string, cause error) {
	if c.state == stateClosed {
		return
	}
	c.final.Store(true)
	switch c.state {
	case stateOpen:
		c.report = &CloseError{Code: code, Reason: reason, Err: cause}
		l.sendClose(c, code, reason)
		if c.state != stateOpen {
			return // the write failed: the session has ended
		}
		c.state = stateClosing
		c.up.Store(false)
		if d := c.cfg.closeTimeout; d > 0 {
			l.wheel.Schedule(&c.timer, d)
		} else {
			l.abort(c, nil, nil)
		}
	case stateWaiting:
		l.finish(c, &CloseError{Code: code, Reason: reason, Err: cause})
	case stateDialing:
		// The dial in flight ends it (OnOpen or the failure report).
		c.report = &CloseError{Code: code, Reason: reason, Err: cause}
	}
}
