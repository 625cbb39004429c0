package client

import (
	"errors"
	"io"

	"github.com/switchboard-ws/switchboard/codec"
)

// carryMax bounds the bytes carried between reads: at most a frame header
// and a control frame's payload can be left undecoded (a data frame is
// consumed as far as it has arrived).
const carryMax = codec.MaxHeaderSize + codec.MaxControlPayload

// readPlain decodes what gnet holds for a ws:// session and returns how
// many of buf's bytes were used (the rest stays in gnet's buffer).
func (l *loop) readPlain(c *Conn, buf []byte) int {
	if c.carry == nil {
		return l.process(c, buf)
	}
	// Bytes left from the handshake or a previous read come first.
	data := append(append(l.plain[:0], c.carry...), buf...)
	c.carry = nil
	n := l.process(c, data)
	l.keepCarry(c, data[n:])
	l.keepPlain(data)
	return len(buf)
}

// readTLS decrypts what gnet holds for a wss:// session and decodes it;
// it returns the bytes of in used.
func (l *loop) readTLS(c *Conn, in []byte) int {
	sec := c.sec
	if sec.tc == nil {
		return l.readTLS13(c, in)
	}
	// crypto/tls takes in whole.
	l.tlsOut = l.tlsOut[:0]
	data, err := sec.read(append(l.plain[:0], c.carry...), in, &l.tlsOut)
	c.carry = nil
	if len(l.tlsOut) > 0 && c.gc != nil { // a TLS 1.3 key update answer
		_ = l.putRaw(c, l.tlsOut)
	}
	n := l.process(c, data)
	l.keepCarry(c, data[n:])
	l.keepPlain(data)
	if err != nil && c.gc != nil {
		if errors.Is(err, io.EOF) {
			err = ErrConnectionLost
		}
		sec.notified = true
		l.abort(c, &CloseError{Code: codec.CloseAbnormal, Remote: true, Err: err}, nil)
	}
	return len(in)
}

// keepPlain keeps the loop's plaintext scratch for the next read unless a
// large burst grew it past keepScratch.
func (l *loop) keepPlain(b []byte) {
	if cap(b) > keepScratch {
		l.plain = nil
		return
	}
	l.plain = b[:0]
}

func (l *loop) keepCarry(c *Conn, rest []byte) {
	if len(rest) == 0 || c.gc == nil || (c.state != stateOpen && c.state != stateClosing) {
		return
	}
	if len(rest) > carryMax {
		// Cannot happen with a correct decoder; never hold more.
		l.failProtocol(c, codec.ErrFrameTooBig)
		return
	}
	c.carry = append([]byte(nil), rest...)
}

// process decodes frames from p and acts on them; it returns the bytes
// consumed.
func (l *loop) process(c *Conn, p []byte) int {
	off := 0
	for off < len(p) && (c.state == stateOpen || c.state == stateClosing) && c.gc != nil {
		msg, n, err := c.dec.Decode(p[off:])
		if err != nil {
			l.failProtocol(c, err)
			return len(p)
		}
		if n == 0 {
			break
		}
		off += n
		l.handle(c, msg)
	}
	if c.gc == nil || l.closeBusy && l.busy == c {
		return len(p)
	}
	c.dec.Recycle()
	return off
}

func (l *loop) handle(c *Conn, msg codec.Message) {
	switch msg.Kind {
	case codec.KindText, codec.KindBinary:
		if c.state != stateOpen {
			return // after our close frame, data is discarded
		}
		p := msg.Payload
		if msg.Rsv != 0 {
			var ok bool
			if p, ok = l.inflate(c, msg); !ok {
				return
			}
		}
		typ := Binary
		if msg.Kind == codec.KindText {
			typ = Text
		}
		l.dispatch(c, func() { c.h.OnMessage(c, typ, p) })
	case codec.KindPing:
		if c.state == stateOpen {
			_ = l.writeControl(c, codec.OpPong, msg.Payload)
		}
	case codec.KindPong:
	case codec.KindClose:
		if c.state == stateOpen {
			// The server closes: answer with its code, then let TCP go.
			if msg.Code == codec.CloseNoStatus {
				l.sendClose(c, 0, "")
			} else {
				l.sendClose(c, msg.Code, "")
			}
			l.abort(c, &CloseError{Code: msg.Code, Reason: string(msg.Reason), Remote: true}, nil)
			return
		}
		l.abort(c, nil, nil) // the answer to our close: done
	}
}

// failProtocol closes the session on a protocol error from the server with
// the close code the codec chose. A reconnect may follow (a server that
// sent one bad frame may behave after a restart); Reconnect.Retry decides.
func (l *loop) failProtocol(c *Conn, err error) {
	code, reason := codec.CloseProtocolError, "protocol error"
	var ce *codec.Error
	if errors.As(err, &ce) && ce.Code != 0 {
		code, reason = ce.Code, ce.Reason
	}
	report := &CloseError{Code: code, Reason: reason, Err: err}
	if c.state == stateOpen {
		l.sendClose(c, code, reason)
	}
	l.abort(c, report, nil)
}
