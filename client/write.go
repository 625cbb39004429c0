package client

import (
	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/pmd"
)

// Loop-side write path. A client masks every frame (RFC 6455 §5.3) with a
// fresh key from the loop's ChaCha8 stream, so the payload is always
// copied once, into the loop's scratch frame (a piece of at most
// sendChunk bytes at a time), and masked there; gnet copies only what the
// socket does not take at once.

// keepScratch is the most capacity a loop's scratch buffers keep between
// messages.
const keepScratch = 256 << 10

// writeMessage sends a data message, compressed when the session
// negotiated permessage-deflate and p is at least the threshold.
func (l *loop) writeMessage(c *Conn, op codec.OpCode, p []byte, compress bool) error {
	if c.state != stateOpen {
		return l.writeDown(c, op, p)
	}
	var rsv uint8
	plain := p
	if c.pmd != nil && compress && len(p) >= c.cfg.threshold {
		var z []byte
		if b := c.pmd.outBits; b != 0 {
			z = pmd.DeflateLimited(l.zout[:0], p, int(b))
		} else {
			z = pmd.Deflate(l.zout[:0], p, c.pmd.out.Bytes())
		}
		l.zout = z[:0]
		if len(z) < len(p) {
			p, rsv = z, 0b100
		}
	}
	if pending := c.gc.OutboundBuffered(); pending > 0 && pending+len(p) > c.cfg.maxOutbound {
		return ErrOutboundFull
	}
	err := l.send(c, rsv, op, p)
	if err == nil && rsv != 0 && c.pmd.out.Size() > 0 {
		c.pmd.out.Append(plain)
	}
	if cap(l.zout) > keepScratch {
		l.zout = nil
	}
	return err
}

// writeControl sends a ping, pong or close frame past the outbound limit.
func (l *loop) writeControl(c *Conn, op codec.OpCode, p []byte) error {
	if c.gc == nil {
		return c.downErr()
	}
	return l.send(c, 0, op, p)
}

func (l *loop) sendClose(c *Conn, code codec.CloseCode, reason string) {
	var body [codec.MaxControlPayload]byte
	n := 0
	if code != 0 && code != codec.CloseNoStatus {
		body[0], body[1] = byte(code>>8), byte(code)
		n = 2 + copy(body[2:], truncateUTF8(reason, codec.MaxControlPayload-2))
	}
	_ = l.writeControl(c, codec.OpClose, body[:n])
}

// sendChunk is the most of a frame masked and written at once: a larger
// frame is masked into the loop's scratch and written a piece at a time,
// so a large message costs one copy of each byte and no buffer of its
// size (sealed for wss://, a piece and its record overheads still fit
// keepScratch).
const sendChunk = 192 << 10

// send masks one final frame into the loop's scratch buffer and writes it,
// in pieces of at most sendChunk bytes; nothing else is written between
// them (the loop runs one thing at a time).
func (l *loop) send(c *Conn, rsv uint8, op codec.OpCode, p []byte) error {
	m := l.mask()
	var hdr [codec.MaxHeaderSize]byte
	n := codec.PutHeader(hdr[:], true, rsv, op, int64(len(p)), &m)
	b := append(l.out[:0], hdr[:n]...)
	var err error
	for off := 0; ; {
		k := min(len(p)-off, sendChunk)
		s := len(b)
		b = append(b, p[off:off+k]...)
		ws.Cipher(b[s:], m, off)
		off += k
		if err = l.put(c, b); err != nil || off == len(p) {
			break
		}
		b = b[:0]
	}
	if cap(b) > keepScratch {
		l.out = nil
	} else {
		l.out = b[:0]
	}
	return err
}

// put writes encoded frames to the session's socket, through TLS for
// wss://. A failed write has ended the session (gnet ran OnClose).
func (l *loop) put(c *Conn, b []byte) error {
	if c.gc == nil {
		return c.downErr()
	}
	if c.sec == nil {
		return l.putRaw(c, b)
	}
	return l.putTLS(c, b)
}

// putRaw writes bytes to the session's socket as they are.
func (l *loop) putRaw(c *Conn, b []byte) error {
	gc := c.gc
	if gc == nil {
		return c.downErr()
	}
	if _, err := gc.Write(b); err != nil || c.gc != gc {
		return c.downErr()
	}
	l.tx.Add(int64(len(b)))
	return nil
}

// writeDown handles a write made on the loop while no session is open.
func (l *loop) writeDown(c *Conn, op codec.OpCode, p []byte) error {
	if c.rc == nil || c.final.Load() || c.state == stateClosed || c.state == stateClosing || c.rc.r.QueueBytes <= 0 {
		return c.downErr()
	}
	if c.rc.qbytes.Add(int64(len(p))) > int64(c.rc.r.QueueBytes) {
		c.rc.qbytes.Add(-int64(len(p)))
		return ErrQueueFull
	}
	buf := framePool.Get()
	buf.B = append(buf.B[:0], p...)
	l.enqueue(c, &task{conn: c, kind: taskWrite, op: op, queued: true, buf: buf})
	return nil
}

// truncateUTF8 cuts s to at most n bytes on a rune boundary.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}
