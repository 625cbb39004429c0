package client

import (
	"errors"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/tlsrec"
)

// The loop's side of TLS 1.3 on the record layer (see tls.go): ciphertext
// stays in gnet's inbound buffer until a record is complete; complete
// records open into the loop's plaintext scratch, which the frame decoder
// reads as for ws://.

// tlsCacheSize is the number of sessions per loop whose expanded ciphers
// are kept between events (direct-mapped by session id).
const tlsCacheSize = 64

type tlsCacheEntry struct {
	id      uint64
	in, out tlsrec.Cipher
}

// tlsCiphers returns s's cache entry, emptied if it held another
// session's ciphers.
func (l *loop) tlsCiphers(s *secure) *tlsCacheEntry {
	if l.tlsCache == nil {
		l.tlsCache = new([tlsCacheSize]tlsCacheEntry)
	}
	e := &l.tlsCache[s.id%tlsCacheSize]
	if e.id != s.id {
		e.in.Reset()
		e.out.Reset()
		e.id = s.id
	}
	return e
}

// tlsForget drops a finished session's ciphers and secrets.
func (l *loop) tlsForget(s *secure) {
	if s.tc != nil {
		return
	}
	if l.tlsCache != nil {
		if e := &l.tlsCache[s.id%tlsCacheSize]; e.id == s.id {
			e.in.Reset()
			e.out.Reset()
			e.id = 0
		}
	}
	s.rec = tlsrec.Conn{}
}

// readTLS13 opens the complete records at the start of ct, decodes the
// plaintext and returns the bytes of ct used (a partial record stays in
// gnet's buffer).
func (l *loop) readTLS13(c *Conn, ct []byte) int {
	sec := c.sec
	e := l.tlsCiphers(sec)
	data := append(l.plain[:0], c.carry...)
	c.carry = nil
	used := 0
	var err error
	peerClosed := false
	for len(ct)-used >= tlsrec.HeaderLen {
		n := tlsrec.RecordLen(ct[used:])
		if n > tlsrec.MaxRecord {
			err = tlsrec.AlertRecordOverflow
			break
		}
		if used+n > len(ct) {
			break
		}
		var ev tlsrec.Event
		data, ev, err = sec.rec.Read(&e.in, ct[used:used+n], data)
		used += n
		if err != nil {
			break
		}
		if sec.rec.UpdatePending() {
			// Answer before any application data (RFC 8446 §4.6.3).
			out, werr := sec.rec.WriteKeyUpdate(&e.out, l.tlsOut[:0], false)
			l.tlsOut = out[:0]
			if werr != nil {
				err = werr
				break
			}
			_ = l.putRaw(c, out)
		}
		if ev == tlsrec.EventCloseNotify {
			peerClosed = true
			break
		}
	}
	n := l.process(c, data)
	l.keepCarry(c, data[n:])
	l.keepPlain(data)
	if c.gc == nil {
		return used
	}
	switch {
	case err != nil:
		var a tlsrec.Alert
		if errors.As(err, &a) {
			out, _ := sec.rec.WriteAlert(&e.out, l.tlsOut[:0], a)
			l.tlsOut = out[:0]
			if len(out) > 0 {
				_ = l.putRaw(c, out)
			}
		}
		sec.notified = true
		l.abort(c, &CloseError{Code: codec.CloseAbnormal, Remote: true, Err: err}, nil)
	case peerClosed:
		l.abort(c, &CloseError{Code: codec.CloseAbnormal, Remote: true, Err: ErrConnectionLost}, nil)
	}
	return used
}

// putTLS seals b into records and writes them.
func (l *loop) putTLS(c *Conn, b []byte) error {
	sec := c.sec
	var err error
	l.tlsOut = l.tlsOut[:0]
	if sec.tc != nil {
		err = sec.write(b, &l.tlsOut)
	} else {
		e := l.tlsCiphers(sec)
		l.tlsOut, err = sec.rec.Write(&e.out, l.tlsOut, b, nil)
	}
	if err != nil {
		l.abort(c, &CloseError{Code: codec.CloseAbnormal, Err: err}, nil)
		return ErrClosed
	}
	err = l.putRaw(c, l.tlsOut)
	if cap(l.tlsOut) > keepScratch {
		l.tlsOut = nil
	}
	return err
}

// tlsCloseNotify sends close_notify before the session's TCP closes, once.
func (l *loop) tlsCloseNotify(c *Conn) {
	sec := c.sec
	if sec == nil || sec.notified || c.gc == nil {
		return
	}
	sec.notified = true
	l.tlsOut = l.tlsOut[:0]
	if sec.tc != nil {
		sec.closeNotify(&l.tlsOut)
	} else {
		e := l.tlsCiphers(sec)
		l.tlsOut, _ = sec.rec.WriteAlert(&e.out, l.tlsOut, tlsrec.AlertCloseNotify)
	}
	if len(l.tlsOut) > 0 {
		_ = l.putRaw(c, l.tlsOut)
	}
	l.tlsOut = l.tlsOut[:0]
}
