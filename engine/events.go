package engine

import (
	"context"
	"net"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/region"
)

// events is the gnet.EventHandler behind a Server.
type events struct {
	gnet.BuiltinEventEngine
	s *Server
}

var (
	serviceUnavailable = codec.AppendResponse(nil, 503, []codec.HeaderField{{Name: "Retry-After", Value: "1"}}, "", []byte("server at connection capacity\n"))
	tooManyHandshakes  = codec.AppendResponse(nil, 503, []codec.HeaderField{{Name: "Retry-After", Value: "1"}}, "", []byte("too many new connections\n"))
	tooManyFromIP      = codec.AppendResponse(nil, 429, nil, "", []byte("too many connections from this address\n"))
)

func refusal(status int) []byte {
	if status == 429 {
		return tooManyFromIP
	}
	return tooManyHandshakes
}

func (e *events) OnBoot(eng gnet.Engine) gnet.Action {
	e.s.eng = eng
	close(e.s.booted)
	return gnet.None
}

func (e *events) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	s := e.s
	if a, ok := gc.Context().(*adoption); ok {
		return s.adopt(gc, a) // upgraded by net/http (nethttp_loop.go)
	}
	l := s.loopOf(gc.EventLoop())
	l.enter()
	if s.live.Add(1) > int64(s.ceiling) || s.shuttingDown.Load() {
		// Refused before reading a byte: the fd is released at once, so the
		// process never reaches its open-file limit (where gnet's acceptor
		// would stop the whole engine).
		s.live.Add(-1)
		if s.shuttingDown.Load() {
			l.stats.reject(rejectShutdown)
		} else {
			l.stats.reject(rejectCapacity)
		}
		if s.isTLSConn(gc.LocalAddr()) {
			return nil, gnet.Close // no plaintext answer on a TLS port
		}
		return serviceUnavailable, gnet.Close
	}
	if status, reason, ok := s.admit(gc.RemoteAddr()); !ok {
		s.live.Add(-1)
		l.stats.reject(reason)
		if s.isTLSConn(gc.LocalAddr()) {
			return nil, gnet.Close
		}
		return refusal(status), gnet.Close
	}
	remote, _ := gc.RemoteAddr().(*net.TCPAddr)
	var c *Conn
	if s.isTLSConn(gc.LocalAddr()) {
		c = &(&tlsBox{}).c
		c.flags = flagTLS
	} else {
		c = &Conn{}
	}
	c.gc, c.loop, c.id, c.remote, c.state = gc, l, s.nextID.Add(1), remote, stateHandshake
	c.dec.Init(&s.decCfg)
	gc.SetContext(c)
	l.link(c)
	if d := s.cfg.HandshakeTimeout; d > 0 {
		l.schedule(c, d)
	}
	return nil, gnet.None
}

func (e *events) OnTraffic(gc gnet.Conn) gnet.Action {
	c, _ := gc.Context().(*Conn)
	if c == nil {
		return gnet.Close
	}
	l := c.loop
	l.enter()
	l.busy, l.closeBusy = c, false
	switch {
	case c.flags&flagTLS != 0:
		if c.state == stateClosed {
			l.closeBusy = true
		} else {
			l.tlsTraffic(c)
		}
	default:
		l.plainTraffic(c, gc)
	}
	closing := l.closeBusy
	l.busy, l.closeBusy = nil, false
	if c.isClosed() {
		c.dec.Release()
	}
	if closing {
		return gnet.Close
	}
	return gnet.None
}

// plainTraffic is OnTraffic for a ws:// connection.
func (l *loop) plainTraffic(c *Conn, gc gnet.Conn) {
	switch c.state {
	case stateHandshake:
		l.readHandshake(c)
	case stateOpen, stateClosing:
		l.readFrames(c)
	case stateFailing:
		// After a protocol error the stream cannot be parsed: drain it so
		// the kernel does not reset the connection (which could destroy our
		// close frame in flight) and wait for the peer to close.
		if n := gc.InboundBuffered(); n > 0 {
			_, _ = gc.Discard(n)
		}
	default:
		l.closeBusy = true
	}
}

func (e *events) OnClose(gc gnet.Conn, err error) gnet.Action {
	c, _ := gc.Context().(*Conn)
	if c == nil {
		return gnet.None
	}
	gc.SetContext(nil)
	l := c.loop
	l.enter()
	wasOpen := c.flags&flagUpgraded != 0
	c.state = stateClosed
	c.markClosed()
	l.wheel.Cancel(&c.timer)
	cancelDeferred(c) // a pending upgrade decision: Accept now returns ErrClosed
	l.dropPending(c)
	l.releaseWindows(c)
	if c.flags&flagTLS != 0 {
		l.tlsClosed(c)
	}
	l.unlink(c)
	e.s.live.Add(-1)
	e.s.release(c.RemoteAddr())
	report := c.closeReport()
	if report == nil {
		report = &CloseError{Code: codec.CloseAbnormal, Remote: true, Err: ErrConnectionLost}
		if err != nil {
			report.Err = err
		}
	}
	if !wasOpen {
		c.dec.Release()
		return gnet.None // never upgraded: no OnClose for the application
	}
	l.stats.close(report.Code)
	l.stats.causes[causeOf(report)].Add(1)
	if report.Err != nil && report.Err != ErrConnectionLost && report.Err != ErrServerClosed {
		e.s.logOnce(c, "websocket closed", "code", int(report.Code), "reason", report.Reason, "err", report.Err.Error())
	}
	l.dispatchClose(c, report)
	if l.busy != c {
		// Inside OnTraffic for c (a write failed there), the decoder's
		// buffers may still be in use: OnTraffic releases them.
		c.dec.Release()
	}
	return gnet.None
}

// OnTick runs on gnet's ticker goroutine: it only hands each loop a task
// that advances that loop's wheel.
func (e *events) OnTick() (time.Duration, gnet.Action) {
	e.s.mount.markReady() // the first tick runs once every loop is registered
	for _, l := range e.s.loopList() {
		_ = l.el.Execute(context.Background(), (*tickRunner)(l))
	}
	// Pages kept for reuse by large messages go back to the kernel once
	// no large message has needed them for a while.
	region.Trim(region.DefaultIdle)
	if ts := e.s.tls; ts != nil {
		ts.pool.sweep()
	}
	return e.s.cfg.TickInterval, gnet.None
}

// OnShutdown sends the waiting handshake goroutines away.
func (e *events) OnShutdown(gnet.Engine) {
	if ts := e.s.tls; ts != nil {
		ts.pool.close()
	}
}
