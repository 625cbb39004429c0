package engine

import (
	"github.com/switchboard-ws/switchboard/codec"
)

// Loop-side write path. Everything here runs on c's loop.

// copyFrameMax is the largest payload copied next to its header for one
// write(2); larger ones go out as two iovecs with writev(2). On loopback a
// two-iovec writev costs ~0.5µs more than a write of the same bytes, far
// more than copying a few KiB.
const copyFrameMax = 4 << 10

// writeFrame encodes and writes one final frame in one system call: small
// frames are assembled in the loop's scratch buffer, large ones are written
// as header and payload iovecs without copying (gnet copies only what the
// socket does not take).
//
// On a connection that negotiated permessage-deflate, a data message of
// at least Config.DeflateThreshold bytes is compressed (writeDeflated).
func (l *loop) writeFrame(c *Conn, op codec.OpCode, p []byte) error {
	if c.state != stateOpen {
		return ErrClosed
	}
	if c.pmd != 0 && len(p) >= l.srv.cfg.DeflateThreshold && !op.IsControl() {
		return l.writeDeflated(c, op, p)
	}
	return l.writePlain(c, op, p)
}

// writeUncompressed is writeFrame without compression (WriteUncompressed).
func (l *loop) writeUncompressed(c *Conn, op codec.OpCode, p []byte) error {
	if c.state != stateOpen {
		return ErrClosed
	}
	return l.writePlain(c, op, p)
}

// writePlain is writeFrame without compression.
func (l *loop) writePlain(c *Conn, op codec.OpCode, p []byte) error {
	if len(p) <= copyFrameMax {
		b := codec.AppendFrame(l.out[:0], op, p)
		l.out = b[:0]
		if err := l.admit(c, len(b)); err != nil {
			return err
		}
		return l.wrote(c, len(b), l.put(c, b, nil))
	}
	n := codec.PutHeader(l.hdr[:], true, 0, op, int64(len(p)), nil)
	if err := l.admit(c, n+len(p)); err != nil {
		return err
	}
	return l.wrote(c, n+len(p), l.put(c, l.hdr[:n], p))
}

// writePrepared writes a shared, already encoded frame; one with reserved
// bits set only to a connection that can take it (a compressed one within
// its window). A compressed one bypasses the outbound window of a
// context-takeover connection, which is therefore emptied.
func (l *loop) writePrepared(c *Conn, f *codec.PreparedFrame) error {
	if c.state != stateOpen {
		return ErrClosed
	}
	if f.RSV() == 0 {
		return l.writeRaw(c, f.Bytes())
	}
	if !c.takesDeflated(f) {
		return ErrNoSharedDeflate
	}
	l.forgetOutbound(c)
	return l.writeRaw(c, f.Bytes())
}

// writeRaw writes an encoded frame, subject to the outbound limit.
func (l *loop) writeRaw(c *Conn, b []byte) error {
	if err := l.admit(c, len(b)); err != nil {
		return err
	}
	return l.wrote(c, len(b), l.put(c, b, nil))
}

// writeControl writes a control frame past the outbound limit: pongs and
// close frames are small and the protocol needs them through.
func (l *loop) writeControl(c *Conn, op codec.OpCode, p []byte) {
	b := codec.AppendFrame(l.out[:0], op, p) // at most 127 bytes
	l.out = b[:0]
	_ = l.wrote(c, len(b), l.put(c, b, nil))
}

// admit applies the outbound limit and policy before n more bytes are
// written. A connection with nothing pending always takes one message, so
// a single message larger than the limit is not refused outright.
func (l *loop) admit(c *Conn, n int) error {
	pending := l.outboundBuffered(c)
	if pending == 0 || pending+n <= l.srv.cfg.MaxOutbound {
		return nil
	}
	if l.srv.cfg.OutboundPolicy == PolicyDrop {
		l.stats.dropped.Add(1)
		return ErrOutboundFull
	}
	l.closeOverLimit(c)
	return ErrOutboundFull
}

// closeOverLimit applies PolicyClose: the close frame (1008) queues behind
// the backlog, no more data is accepted, and the connection gets
// CloseTimeout to drain and answer before TCP is closed. A reader that is
// merely slow still sees why it was closed; a stalled one is cut.
func (l *loop) closeOverLimit(c *Conn) {
	_ = l.startClose(c, codec.ClosePolicyViolation, "outbound limit", ErrOutboundFull)
}

// wrote accounts for a write; a failed write has already closed the
// connection inside gnet (and run OnClose).
func (l *loop) wrote(c *Conn, n int, err error) error {
	if err != nil || c.state == stateClosed {
		return ErrClosed
	}
	l.stats.messagesOut.Add(1)
	l.stats.bytesOut.Add(uint64(n))
	if l.srv.cfg.WriteStallTimeout > 0 {
		if e := c.ext.Load(); e != nil && e.stallWatch {
			e.written += uint32(n)
		} else {
			l.watchStall(c)
		}
	}
	return nil
}

// startClose sends a close frame and waits (up to CloseTimeout) for the
// peer's. cause, when set, is reported in CloseError.Err.
func (l *loop) startClose(c *Conn, code codec.CloseCode, reason string, cause error) error {
	switch c.state {
	case stateHandshake:
		l.abort(c, &CloseError{Code: code, Reason: reason, Err: cause})
		return nil
	case stateClosing, stateClosed:
		return ErrClosed
	}
	e := c.extension()
	e.closeReport = &CloseError{Code: code, Reason: reason, Err: cause}
	l.sendClose(c, code, reason)
	if c.state == stateClosed {
		return nil // the write failed and gnet closed it
	}
	c.state = stateClosing
	if d := l.srv.cfg.CloseTimeout; d > 0 {
		l.schedule(c, d)
	} else {
		l.abort(c, e.closeReport)
	}
	return nil
}

func (l *loop) sendClose(c *Conn, code codec.CloseCode, reason string) {
	b := codec.AppendCloseFrame(l.resp[:0], code, reason)
	l.resp = b[:0]
	_ = l.wrote(c, len(b), l.put(c, b, nil))
}

// abort closes TCP now (after flushing what gnet holds). Inside OnTraffic
// for c the close is left to gnet's Close action, so gnet never touches a
// released connection; elsewhere it is done at once.
func (l *loop) abort(c *Conn, report *CloseError) {
	if c.state == stateClosed {
		return
	}
	if e := c.extension(); e.closeReport == nil {
		e.closeReport = report
	}
	if t := c.tlsState(); t != nil {
		l.tlsCloseNotify(c, t)
		if c.state == stateClosed {
			return // the write failed and gnet closed it
		}
	}
	if l.busy == c {
		l.closeBusy = true
		c.state = stateClosed
		return
	}
	c.state = stateClosed
	_ = l.el.Close(c.gc)
}
