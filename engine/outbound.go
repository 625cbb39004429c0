package engine

import (
	"math/bits"

	"github.com/valyala/bytebufferpool"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/region"
)

// The outbound seam. Every frame a connection sends after its upgrade goes
// through loop.put, on the connection's loop, in order. Three paths:
//
//   - Small writes, and any write while gnet still holds bytes for the
//     connection: gnet's Write/Writev, which writes what the socket takes
//     and copies the rest into gnet's outbound buffer.
//   - A large write (largeWrite bytes or more) with nothing queued: the
//     engine writes it to the socket itself, and what the socket does not
//     take stays with the engine (a pending queue) instead of being copied
//     into a fresh gnet buffer as large as the rest of the message. The
//     connection's fd is armed once in the server's write poller; when the
//     socket drains, the loop writes more. A 16 MiB reply thus costs one
//     copy into a reused region (or none, when it is the inbound message
//     being echoed: see Conn.WriteMessage) instead of a freshly allocated
//     16 MiB buffer, page faults and the garbage collector's work.
//   - Any write while the connection has a pending queue: appended to it
//     (copied), so frames keep their order.
//
// The bytes queued here count as outbound bytes for MaxOutbound, the write
// stall clock and Stats, as gnet's do.

// largeWrite is the size from which a write goes out by the engine's own
// path when the socket cannot take it whole.
const largeWrite = 64 << 10

// pending is what a connection's socket has not taken yet of large writes
// and the frames queued behind them.
type pending struct {
	chunks []chunk
	n      int      // bytes left in chunks
	armed  bool     // the fd is registered in the write poller
	iov    [][]byte // scratch for writev
}

// chunk is a run of bytes to write, and what to give back once written.
type chunk struct {
	buf  []byte                     // the bytes; buf[off:] are left
	off  int                        //
	bb   *bytebufferpool.ByteBuffer // owner of small queued frames (buf is bb.B)
	pool *region.Pool               // owner of buf when it is a region
	own  []byte                     // a buffer handed over by the decoder (Detach)
	back func([]byte)               // where own goes back
}

func (k *chunk) left() []byte {
	if k.bb != nil {
		return k.bb.B[k.off:]
	}
	return k.buf[k.off:]
}

func (k *chunk) release() {
	switch {
	case k.bb != nil:
		framePool.Put(k.bb)
	case k.pool != nil:
		k.pool.Put(k.buf)
	case k.back != nil:
		k.back(k.own)
	}
	*k = chunk{}
}

// outboundBuffered is the bytes written by the application but not yet
// taken by c's socket: gnet's buffer and the engine's pending queue.
func (l *loop) outboundBuffered(c *Conn) int {
	n := c.gc.OutboundBuffered()
	if e := c.ext.Load(); e != nil && e.pend != nil {
		n += e.pend.n
	}
	return n
}

// put writes a then b (b may be nil) to c's socket, in order after
// everything written before. A failed write has closed the connection
// (gnet ran OnClose) and returns the error.
func (l *loop) put(c *Conn, a, b []byte) error {
	if c.flags&flagTLS != 0 {
		return l.tlsPut(c, a, b) // sealed into records, then putRaw
	}
	return l.putRaw(c, a, b)
}

// putRaw is put for bytes as they go on the wire.
func (l *loop) putRaw(c *Conn, a, b []byte) error {
	if e := c.ext.Load(); e != nil && e.pend != nil {
		l.enqueue(e.pend, a, b)
		return nil
	}
	if len(a)+len(b) >= largeWrite && l.srv.pump != nil && c.gc.OutboundBuffered() == 0 {
		return l.putDirect(c, a, b)
	}
	if b == nil {
		_, err := c.gc.Write(a)
		return err
	}
	l.iov[0], l.iov[1] = a, b
	_, err := c.gc.Writev(l.iov)
	l.iov[0], l.iov[1] = nil, nil
	return err
}

// putDirect writes a and b to the socket itself and keeps what it does not
// take. When b is the inbound message being handled (an echo, a relay of
// what just arrived), its buffer is taken over from the decoder instead of
// copied; it is given back once written, which is never before the
// handler returns (only the loop writes more, after it).
func (l *loop) putDirect(c *Conn, a, b []byte) error {
	l.iov[0], l.iov[1] = a, b
	w, err := writeSocketv(c.gc.Fd(), l.iov)
	l.iov[0], l.iov[1] = nil, nil
	if err != nil && err != errAgain {
		l.abort(c, &CloseError{Code: codec.CloseAbnormal, Err: err})
		return ErrClosed
	}
	if w == len(a)+len(b) {
		return nil
	}
	var own *chunk
	if buf, ok := c.dec.Detach(b); ok {
		own = &chunk{buf: b, own: buf, back: l.srv.decCfg.Large.Put}
	}
	p := &pending{}
	c.extension().pend = p
	if w < len(a) {
		l.enqueue(p, a[w:], nil)
		w = 0
	} else {
		w -= len(a)
	}
	if own != nil {
		own.off = w
		p.chunks = append(p.chunks, *own)
		p.n += len(b) - w
	} else {
		l.enqueue(p, b[w:], nil)
	}
	l.armPending(c, p)
	return nil
}

// enqueue copies a and b to the end of p.
func (l *loop) enqueue(p *pending, a, b []byte) {
	for _, x := range [2][]byte{a, b} {
		if len(x) == 0 {
			continue
		}
		p.n += len(x)
		if len(x) < largeWrite {
			if k := len(p.chunks); k > 0 && p.chunks[k-1].bb != nil && len(p.chunks[k-1].bb.B) < largeWrite {
				p.chunks[k-1].bb.B = append(p.chunks[k-1].bb.B, x...)
				continue
			}
			bb := framePool.Get()
			bb.B = append(bb.B[:0], x...)
			p.chunks = append(p.chunks, chunk{bb: bb})
			continue
		}
		pool := region.For(1 << bits.Len(uint(len(x)-1)))
		if pool != nil {
			if r := pool.Get(len(x)); r != nil {
				p.chunks = append(p.chunks, chunk{buf: append(r, x...), pool: pool})
				continue
			}
		}
		p.chunks = append(p.chunks, chunk{buf: append([]byte(nil), x...)})
	}
}

// flushPending writes what c's socket takes of its pending queue; run on
// the loop when the write poller saw the socket writable.
func (l *loop) flushPending(c *Conn) {
	e := c.ext.Load()
	if e == nil || e.pend == nil || c.state == stateClosed {
		return
	}
	p := e.pend
	for p.n > 0 {
		iov := p.iov[:0]
		for i := range p.chunks {
			if len(iov) == 64 {
				break
			}
			iov = append(iov, p.chunks[i].left())
		}
		p.iov = iov
		w, err := writeSocketv(c.gc.Fd(), iov)
		clear(iov)
		if w > 0 {
			p.advance(w)
		}
		if err == errAgain {
			break
		}
		if err != nil {
			l.abort(c, &CloseError{Code: codec.CloseAbnormal, Remote: true, Err: err})
			return
		}
	}
	if p.n > 0 {
		l.armPending(c, p)
		return
	}
	l.dropPending(c)
	if c.state == stateFailing {
		l.shutdownWrite(c)
	}
}

// advance drops the first w bytes of p.
func (p *pending) advance(w int) {
	p.n -= w
	i := 0
	for ; i < len(p.chunks) && w > 0; i++ {
		k := &p.chunks[i]
		left := len(k.left())
		if w < left {
			k.off += w
			break
		}
		w -= left
		k.release()
	}
	if i > 0 {
		n := copy(p.chunks, p.chunks[i:])
		clear(p.chunks[n:])
		p.chunks = p.chunks[:n]
	}
}

// armPending asks the write poller to wake c's loop when its socket can
// take more. If the poller fails, the queue moves into gnet's buffer.
func (l *loop) armPending(c *Conn, p *pending) {
	if err := l.srv.pump.arm(c, p.armed); err == nil {
		p.armed = true
		return
	}
	e := c.ext.Load()
	e.pend = nil
	for i := range p.chunks {
		_, _ = c.gc.Write(p.chunks[i].left())
		p.chunks[i].release()
	}
	if p.armed {
		l.srv.pump.disarm(c)
	}
}

// dropPending gives back c's pending queue (written, or the connection
// closed).
func (l *loop) dropPending(c *Conn) {
	e := c.ext.Load()
	if e == nil || e.pend == nil {
		return
	}
	p := e.pend
	e.pend = nil
	for i := range p.chunks {
		p.chunks[i].release()
	}
	if p.armed {
		l.srv.pump.disarm(c)
	}
}
