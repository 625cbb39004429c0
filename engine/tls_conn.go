package engine

import (
	"crypto/tls"
	"errors"
	"net"
	"unsafe"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/tlsrec"
)

// The TLS layer on the path of a byte (see docs/architecture.md):
//
//	socket → gnet's inbound buffer → complete TLS records → plaintext (the
//	loop's scratch) → the request head / frame decoder, as for ws://
//	frames → TLS records (the loop's scratch) → loop.put → socket
//
// A TLS connection's Conn lives in a tlsBox with its tlsConn. While idle,
// a TLS 1.3 connection keeps only the record layer's secrets, keys, IVs
// and sequence numbers (tlsrec.Conn): no record buffer, no handshake
// state, no expanded cipher (AEADs live in a per-loop cache of the
// connections with recent traffic, tls_cache.go). Plaintext not consumed by the decoder (at most part of a
// frame header, or a request head in progress) is kept in tlsConn.in
// only while pending. TLS 1.2 keeps crypto/tls's Conn (tls_std.go).

// tlsMode is where a TLS connection is.
type tlsMode uint8

const (
	tlsHandshaking tlsMode = iota // crypto/tls runs the handshake (tls_handshake.go)
	tls13                         // tlsrec runs the record layer on the loop
	tlsStd                        // crypto/tls's Conn runs it on the loop (TLS 1.2)
)

// tlsConn is the TLS state of a connection served over TLS.
type tlsConn struct {
	rec tlsrec.Conn // tls13
	// ce is the connection's entry in the loop's cipher cache, nil
	// without one (tls_cache.go).
	ce *tlsCacheEntry
	// pipe is crypto/tls's in-memory connection: the handshake's once the
	// ClientHello arrived (tlsHandshaking), the connection's (tlsStd).
	pipe *tlsPipe
	cs   *tls.ConnectionState // from the handshake's end until the upgrade
	in   []byte               // plaintext not consumed yet
	mode tlsMode
	// inScratch: in is (part of) the loop's scratch, valid during the
	// current event only.
	inScratch bool
	// held is the bytes of a partial record charged to the inbound
	// budget (they wait in gnet's buffer for the rest of the record).
	// (The small fields are laid out to share one word: size_test.go.)
	held int32
}

// tlsBox lays a TLS connection's Conn and tlsConn out in one allocation.
type tlsBox struct {
	c Conn
	t tlsConn
}

// tlsState returns c's TLS state, or nil for a plain connection.
func (c *Conn) tlsState() *tlsConn {
	if c.flags&flagTLS == 0 {
		return nil
	}
	return &(*tlsBox)(unsafe.Pointer(c)).t
}

// tlsMaxPlain bounds the plaintext decrypted per round before it is
// handed to the decoder.
func (l *loop) tlsMaxPlain() int { return l.srv.cfg.ReadBufferSize }

// Plaintext input seam: readHandshake and readFrames read through these,
// which see gnet's buffer for a plain connection and the decrypted bytes
// for a TLS one.

func (l *loop) inPeek(c *Conn) []byte {
	if t := c.tlsState(); t != nil {
		return t.in
	}
	buf, _ := c.gc.Peek(-1)
	return buf
}

func (l *loop) inDiscard(c *Conn, n int) {
	if n <= 0 {
		return // gnet treats Discard(n <= 0) as "everything"
	}
	if t := c.tlsState(); t != nil {
		t.in = t.in[n:]
		if len(t.in) == 0 {
			t.in, t.inScratch = nil, false
		}
		return
	}
	_, _ = c.gc.Discard(n)
}

func (l *loop) inBuffered(c *Conn) int {
	if t := c.tlsState(); t != nil {
		return len(t.in)
	}
	return c.gc.InboundBuffered()
}

// tlsTraffic is OnTraffic for a TLS connection.
func (l *loop) tlsTraffic(c *Conn) {
	l.tlsTrafficRound(c)
	if c.state == stateOpen || c.state == stateClosing {
		l.tlsCharge(c, c.tlsState())
	}
}

// tlsCharge charges the bytes of a partial record waiting in gnet's
// buffer to the inbound budget (Config.InboundBudget), as the decoder
// charges those of a partial message: past the budget the connection is
// closed with 1013.
func (l *loop) tlsCharge(c *Conn, t *tlsConn) {
	b := l.srv.decCfg.Budget
	now := int32(min(c.gc.InboundBuffered(), 1<<30))
	switch {
	case now > t.held:
		if !b.Reserve(int(now - t.held)) {
			l.failDecode(c, codec.ErrOverBudget)
			return
		}
	case now < t.held:
		b.Unreserve(int(t.held - now))
	}
	t.held = now
}

func (l *loop) tlsTrafficRound(c *Conn) {
	t := c.tlsState()
	switch {
	case c.state == stateFailing || c.state == stateClosed:
		// The stream is abandoned: drain it (see OnTraffic).
		if n := c.gc.InboundBuffered(); n > 0 {
			_, _ = c.gc.Discard(n)
		}
		return
	case t.mode == tlsHandshaking:
		l.tlsHandshakeTraffic(c, t)
		return
	}
	for {
		ct, _ := c.gc.Peek(-1)
		if _, more := l.tlsOpenStep(c, t, ct, true); !more {
			return
		}
	}
}

// tlsOpenStep opens what it can of the records in ct, delivers their
// plaintext to the WebSocket layer, and returns the bytes it used and
// whether to go on. inGnet says ct is gnet's inbound buffer, where the
// bytes used are discarded; otherwise the caller moves past them.
func (l *loop) tlsOpenStep(c *Conn, t *tlsConn, ct []byte, inGnet bool) (used int, more bool) {
	if t.mode == tls13 {
		used, more = l.tlsOpen13(c, t, ct)
	} else {
		used, more = l.tlsOpenStd(c, t, ct)
	}
	if used > 0 {
		l.stats.tlsIn.Add(uint64(used))
		if inGnet && c.state != stateClosed {
			_, _ = c.gc.Discard(used)
		}
	}
	if c.state == stateClosed || c.state == stateFailing {
		t.in, t.inScratch = nil, false
		return used, false
	}
	if t.inScratch {
		l.tlsDeliver(c)
		if c.state == stateClosed {
			return used, false
		}
		l.tlsKeep(t)
	}
	return used, more
}

// tlsDeliver hands the plaintext in t.in to the WebSocket layer.
func (l *loop) tlsDeliver(c *Conn) {
	switch c.state {
	case stateHandshake:
		l.readHandshake(c)
	case stateOpen, stateClosing:
		l.readFrames(c)
	}
}

// tlsKeep moves plaintext the WebSocket layer left (part of a frame
// header, a request head in progress) out of the loop's scratch into a
// buffer of the connection's own, held only while pending.
func (l *loop) tlsKeep(t *tlsConn) {
	if !t.inScratch {
		return
	}
	t.inScratch = false
	if len(t.in) == 0 {
		t.in = nil
		return
	}
	t.in = append([]byte(nil), t.in...)
}

// tlsPlainStart returns the loop's plaintext scratch holding the
// connection's pending plaintext, if any, first.
func (l *loop) tlsPlainStart(t *tlsConn) []byte {
	if l.tlsPlain == nil {
		l.tlsPlain = make([]byte, 0, 32<<10)
	}
	p := l.tlsPlain[:0]
	if len(t.in) > 0 {
		p = append(p, t.in...)
	}
	t.in, t.inScratch = nil, false
	return p
}

// tlsOpen13 opens the complete records at the start of ct (up to about
// tlsMaxPlain bytes of plaintext) into t.in. It returns the bytes used
// and whether complete records were left for another round.
func (l *loop) tlsOpen13(c *Conn, t *tlsConn, ct []byte) (used int, more bool) {
	var plain []byte // the loop's scratch once a record opened
	e := l.tlsCiphers(c)
	gen := t.rec.In.Generation()
	for len(ct)-used >= tlsrec.HeaderLen {
		n := tlsrec.RecordLen(ct[used:])
		if n-tlsrec.HeaderLen > tlsrec.MaxCiphertext {
			l.tlsFail(c, tlsrec.AlertRecordOverflow)
			return used, false
		}
		if used+n > len(ct) {
			break
		}
		if plain == nil {
			plain = l.tlsPlainStart(t)
		} else if len(plain) >= l.tlsMaxPlain() {
			more = true
			break
		}
		var ev tlsrec.Event
		var err error
		plain, ev, err = t.rec.Read(&e.in, ct[used:used+n], plain)
		used += n
		if err != nil {
			l.tlsFail(c, err)
			return used, false
		}
		if g := t.rec.In.Generation(); g != gen {
			gen = g
			l.stats.tlsKeyUpdates.Add(1)
		}
		if t.rec.UpdatePending() {
			// Answer before any application data (RFC 8446 §4.6.3).
			out, err := t.rec.WriteKeyUpdate(&e.out, l.tlsOut[:0], false)
			l.tlsOut = out[:0]
			if err != nil || l.putRaw(c, out, nil) != nil {
				l.abort(c, &CloseError{Code: codec.CloseAbnormal, Err: ErrClosed})
				return used, false
			}
		}
		if ev == tlsrec.EventCloseNotify {
			l.tlsPeerClosed(c, t, plain)
			return used, false
		}
	}
	if plain != nil {
		l.tlsPlain = plain[:0]
		t.in, t.inScratch = plain, true
	}
	return used, more
}

// tlsPeerClosed handles the peer's close_notify: what came before it is
// delivered, then our close_notify goes out and TCP closes. Over an open
// WebSocket without a close frame that is an abnormal closure (1006).
func (l *loop) tlsPeerClosed(c *Conn, t *tlsConn, plain []byte) {
	l.tlsPlain = plain[:0]
	t.in, t.inScratch = plain, len(plain) > 0
	if len(t.in) > 0 {
		l.tlsDeliver(c)
	}
	t.in, t.inScratch = nil, false
	l.abort(c, &CloseError{Code: codec.CloseAbnormal, Remote: true, Err: ErrConnectionLost})
}

// tlsFail ends c on a TLS error: err is the alert to send (tlsrec.Alert),
// an alert the peer sent (tlsrec.PeerAlert), or another failure.
func (l *loop) tlsFail(c *Conn, err error) {
	l.stats.tlsAlerts.Add(1)
	t := c.tlsState()
	var a tlsrec.Alert
	if errors.As(err, &a) && t.mode == tls13 {
		e := l.tlsCiphers(c)
		out, _ := t.rec.WriteAlert(&e.out, l.tlsOut[:0], a)
		l.tlsOut = out[:0]
		if len(out) > 0 {
			_ = l.putRaw(c, out, nil)
		}
	}
	if c.state == stateClosed {
		return
	}
	if c.flags&flagUpgraded == 0 {
		l.stats.reject(rejectTLS)
	}
	l.srv.logOnce(c, "tls error", "err", err.Error())
	l.abort(c, &CloseError{Code: codec.CloseAbnormal, Remote: true, Err: err})
}

// tlsPut seals a then b into records and writes them (loop.put for a TLS
// connection), in chunks of at most tlsChunk bytes of plaintext so the
// loop's scratch stays small.
func (l *loop) tlsPut(c *Conn, a, b []byte) error {
	t := c.tlsState()
	if t.mode == tlsHandshaking {
		return ErrClosed // nothing is written in plaintext on a TLS port
	}
	for first := true; first || len(a)+len(b) > 0; first = false {
		n := min(len(a)+len(b), tlsChunk)
		k := min(n, len(a))
		x, y := a[:k], b[:n-k]
		a, b = a[k:], b[n-k:]
		var out []byte
		var err error
		if t.mode == tls13 {
			e := l.tlsCiphers(c)
			out, err = t.rec.Write(&e.out, l.tlsOut[:0], x, y)
		} else {
			out, err = t.pipe.seal(l.tlsOut[:0], x, y)
		}
		l.tlsOut = out[:0]
		if err != nil {
			return ErrClosed
		}
		l.stats.tlsOut.Add(uint64(len(out)))
		if err := l.putRaw(c, out, nil); err != nil {
			return err
		}
	}
	return nil
}

// tlsChunk is the most plaintext sealed into the loop's scratch at once.
const tlsChunk = 64 << 10

// tlsCloseNotify sends close_notify before TCP closes (abort).
func (l *loop) tlsCloseNotify(c *Conn, t *tlsConn) {
	var out []byte
	switch t.mode {
	case tls13:
		if t.rec.CloseSent() {
			return
		}
		e := l.tlsCiphers(c)
		out, _ = t.rec.WriteAlert(&e.out, l.tlsOut[:0], tlsrec.AlertCloseNotify)
	case tlsStd:
		out = t.pipe.closeNotify(l.tlsOut[:0])
	default:
		return
	}
	l.tlsOut = out[:0]
	if len(out) > 0 {
		l.stats.tlsOut.Add(uint64(len(out)))
		_ = l.putRaw(c, out, nil)
	}
}

// tlsClosed releases c's TLS state when the connection has closed.
func (l *loop) tlsClosed(c *Conn) {
	t := c.tlsState()
	if t.pipe != nil {
		t.pipe.stop()
		t.pipe = nil
	}
	t.in, t.inScratch, t.cs = nil, false, nil
	if t.held > 0 {
		l.srv.decCfg.Budget.Unreserve(int(t.held))
		t.held = 0
	}
	l.tlsForget(c)
	t.rec = tlsrec.Conn{}
}

// httpOnTLSPort is what net/http answers a plain HTTP request on a TLS
// port.
var httpOnTLSPort = []byte("HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")

// isTLSListener reports whether gc came in on a TLS address.
func (s *Server) isTLSConn(local net.Addr) bool {
	ts := s.tls
	if ts == nil {
		return false
	}
	if ts.all {
		return true
	}
	a, ok := local.(*net.TCPAddr)
	return ok && a.Port == ts.port
}
