package engine

import (
	"net"
	"sync"
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"

	"github.com/switchboard-ws/switchboard/codec"
)

// mountState is the server's state for connections upgraded by net/http.
type mountState struct {
	initOnce  sync.Once
	ready     chan struct{} // closed once every event loop is registered
	readyOnce sync.Once
	isReady   atomic.Bool
	tlsWarned atomic.Bool
	// stats counts handshakes refused in UpgradeHTTP; accepted ones are
	// counted on their loop like any other.
	stats loopStats
}

func (m *mountState) readyCh() chan struct{} {
	m.initOnce.Do(func() { m.ready = make(chan struct{}) })
	return m.ready
}

// markReady runs on gnet's ticker goroutine, which gnet starts only after
// registering every event loop: from then on Engine.Register may be called.
func (m *mountState) markReady() {
	if m.isReady.Load() {
		return
	}
	m.readyOnce.Do(func() {
		close(m.readyCh())
		m.isReady.Store(true)
	})
}

// adoption travels with a hijacked connection to its loop (as the gnet
// connection's context until OnOpen replaces it with the Conn).
type adoption struct {
	info  *connInfo // what the request carried that the connection keeps
	value any       // the initial Conn.Value
	carry []byte    // bytes the client sent behind its request

	deflate   codec.DeflateParams // permessage-deflate, when deflateOK
	deflateOK bool
	opened    atomic.Bool
}

// adopt is OnOpen for a connection upgraded by net/http: the 101 has gone
// out, so the connection starts open, exactly as readHandshake leaves an
// accepted one after its 101: request info and value kept, counted as
// accepted, heartbeat armed, OnOpen called, then the bytes that came behind
// the request decoded before any read from the socket. It was admitted
// (s.live, per-IP) in UpgradeHTTP; OnClose undoes that as for any other.
func (s *Server) adopt(gc gnet.Conn, a *adoption) ([]byte, gnet.Action) {
	l := s.loopOf(gc.EventLoop())
	l.enter()
	a.opened.Store(true)
	// gnet also keeps the context it registered with as the conn's
	// SafeContext; drop it so the adoption (and its carry) can go.
	gc.SetSafeContext(nil)
	remote, _ := gc.RemoteAddr().(*net.TCPAddr)
	c := &Conn{
		gc:     gc,
		loop:   l,
		id:     s.nextID.Add(1),
		remote: remote,
		state:  stateOpen,
		flags:  flagUpgraded,
	}
	c.dec.Init(&s.decCfg)
	if a.deflateOK {
		c.setDeflate(&a.deflate)
	}
	gc.SetContext(c)
	l.link(c)
	if a.info != nil && a.info != rootInfo {
		c.extension().info = a.info
	}
	if a.value != nil {
		c.SetValue(a.value)
	}
	now := l.tick()
	c.lastRecv = now
	if s.cfg.IdleTimeout > 0 {
		c.extension().lastMessage = now
	}
	l.stats.accepted.Add(1)
	l.armHeartbeat(c)

	// As inside OnTraffic: a close asked for now is left to gnet's Close
	// action, returned below.
	l.busy, l.closeBusy = c, false
	l.dispatchOpen(c)
	if c.state == stateOpen && len(a.carry) > 0 {
		l.decodeCarried(c, a.carry)
	}
	if c.state == stateOpen && s.shuttingDown.Load() {
		// Shutdown went through this loop's connections before this one
		// arrived.
		_ = l.startClose(c, codec.CloseGoingAway, "server shutting down", ErrServerClosed)
	}
	closing := l.closeBusy
	l.busy, l.closeBusy = nil, false
	a.carry, a.info, a.value = nil, nil, nil
	if closing {
		return nil, gnet.Close
	}
	return nil, gnet.None
}

// decodeCarried decodes the bytes the client sent behind its request,
// which net/http had already read from the socket, as readFrames decodes
// what gnet holds. UpgradeHTTP completed them so that the decoder consumes
// all of them (see tailNeed).
func (l *loop) decodeCarried(c *Conn, p []byte) {
	now, nowMs := l.clock()
	for off := 0; off < len(p) && (c.state == stateOpen || c.state == stateClosing); {
		msg, n, err := c.dec.Decode(p[off:])
		if err != nil {
			l.failDecode(c, err)
			break
		}
		if n == 0 { // cannot happen after tailNeed; never drop bytes silently
			l.sendClose(c, codec.CloseInternalError, "internal error")
			l.abort(c, &CloseError{Code: codec.CloseInternalError, Reason: "internal error"})
			break
		}
		off += n
		l.handle(c, msg, now, nowMs)
	}
	c.dec.Recycle()
}

// tailNeed reports how many more bytes p, a run of frames, needs before a
// decoder can consume all of it: the rest of a frame header, or of a
// control frame, which the decoder waits for whole. A data frame whose
// payload is still arriving needs nothing (the decoder consumes it as it
// comes), nor does a header the decoder will refuse.
func tailNeed(p []byte) int {
	for len(p) > 0 {
		h, n, err := codec.ParseHeader(p)
		if err != nil {
			return 0
		}
		if n == 0 {
			return headerSize(p) - len(p)
		}
		if rest := int64(len(p) - n); rest < h.Length {
			if h.OpCode.IsControl() {
				return int(h.Length - rest)
			}
			return 0
		}
		p = p[n+int(h.Length):]
	}
	return 0
}

// headerSize is the size of the frame header p starts with, as far as its
// first two bytes tell (2 when p has fewer).
func headerSize(p []byte) int {
	if len(p) < 2 {
		return 2
	}
	n := 2
	switch p[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if p[1]&0x80 != 0 {
		n += 4
	}
	return n
}
