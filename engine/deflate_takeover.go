package engine

import (
	"unsafe"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/pmd"
)

// Context-takeover windows. A connection that negotiated context takeover
// keeps, from its first compressed message in either direction, its
// sliding dictionaries: the inbound window (2^pmdIn bytes, what the client
// may refer back to) and the outbound one (2^pmdOut bytes, what primes the
// pooled compressor). Both live in one block of exactly their sizes, cut
// from a slab the loop shares among its connections (pmdPool): no header,
// no rounding to a size class, no span per connection. The block is found
// through a slot of the loop's pmdTable whose index is kept in the upper 24
// bits of Conn.closed (which needs one bit), so the windows cost an idle
// connection their own size, a 16-byte slot and a share of a slab's span,
// and nothing when context takeover was not agreed.

// pmdChunkLen is the number of slots per table chunk: 256 × 16 bytes, one
// 4 KiB size class.
const pmdChunkLen = 256

// pmdSlotLimit is the most slots a loop's table hands out:
// Conn.closed holds index+1 in 24 bits. A variable so that a test can lower it.
var pmdSlotLimit uint32 = 1<<24 - 1

// pmdSlot is one connection's windows.
type pmdSlot struct {
	buf     *byte  // inbound window, then outbound; nil while the slot is free
	in, out uint16 // bytes of history in each (at most 32 KiB)
	next    uint32 // while free: index+1 of the next free slot, 0 at the end
}

// pmdTable is a loop's context-takeover slots (loop only). It grows one
// chunk at a time and does not shrink: a freed slot goes back to a free
// list and is reused.
type pmdTable struct {
	chunks []*[pmdChunkLen]pmdSlot
	used   uint32           // slots handed out at least once
	free   uint32           // index+1 of the first free slot; 0: none
	pools  map[int]*pmdPool // window blocks by size (in+out bytes)
}

// pmdSlotIndex is 1 + the index of c's slot in its loop's table, kept in
// the upper 24 bits of Conn.closed; 0: none. Loop only.
func (c *Conn) pmdSlotIndex() uint32 { return c.closed.Load() >> 8 }

// setPMDSlotIndex sets it, leaving closedBit alone. Loop only (the only
// writer of Conn.closed), so the two steps need no lock.
func (c *Conn) setPMDSlotIndex(i uint32) {
	c.closed.And(0xff)
	c.closed.Or(i << 8)
}

func (t *pmdTable) slot(idx1 uint32) *pmdSlot {
	i := idx1 - 1
	return &t.chunks[i/pmdChunkLen][i%pmdChunkLen]
}

// windowSizes are c's inbound and outbound window sizes in bytes (0: no
// context takeover that way).
func (c *Conn) windowSizes() (in, out int) {
	if b := c.pmdIn(); b != 0 {
		in = 1 << b
	}
	if b := c.pmdOut(); b != 0 {
		out = 1 << b
	}
	return in, out
}

// windows returns c's slot, allocating it and its windows on first use;
// nil when the loop's table is full (the caller fails the connection) or
// c is closed (its windows were released for good). Loop only.
func (l *loop) windows(c *Conn) *pmdSlot {
	t := &l.pmdw
	if i := c.pmdSlotIndex(); i != 0 {
		return t.slot(i)
	}
	if c.isClosed() {
		return nil
	}
	var i uint32
	switch {
	case t.free != 0:
		i = t.free
		t.free = t.slot(i).next
	case t.used < pmdSlotLimit:
		if t.used%pmdChunkLen == 0 {
			t.chunks = append(t.chunks, new([pmdChunkLen]pmdSlot))
		}
		t.used++
		i = t.used
	default:
		return nil
	}
	in, out := c.windowSizes()
	s := t.slot(i)
	*s = pmdSlot{buf: t.pool(in + out).get()}
	c.setPMDSlotIndex(i)
	return s
}

// pool returns the table's block pool for blocks of size bytes.
func (t *pmdTable) pool(size int) *pmdPool {
	p := t.pools[size]
	if p == nil {
		if t.pools == nil {
			t.pools = map[int]*pmdPool{}
		}
		p = &pmdPool{size: size}
		t.pools[size] = p
	}
	return p
}

// Window blocks are carved from slabs rather than allocated one by one:
// Go gives an 8 KiB object a span of its own, and every span costs a
// descriptor outside the heap (~160 bytes of RSS), which would be paid
// per connection. A slab holds pmdSlabFirst blocks, then twice as many as
// the one before, up to pmdSlabMax bytes; a block given back is reused
// before the slab is cut further.
const (
	pmdSlabFirst = 8
	pmdSlabMax   = 256 << 10
)

// pmdPool hands out the blocks of one size (loop only). A slab stays alive
// while any of its blocks is in use or free; when more blocks are free than
// in use, the free ones are dropped, so that the slabs no connection uses
// any more go back to the garbage collector: what a pool keeps is bounded
// by its live blocks, the slabs they sit in, and as many free ones.
type pmdPool struct {
	size int
	free []*byte // blocks given back, reused last in first out
	rest []byte  // the current slab's blocks not handed out yet
	next int     // blocks in the next slab
	live int     // blocks in use
}

func (p *pmdPool) get() *byte {
	p.live++
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		return b
	}
	if len(p.rest) < p.size {
		n := max(p.next, pmdSlabFirst)
		p.rest = make([]byte, n*p.size)
		p.next = min(2*n, max(pmdSlabFirst, pmdSlabMax/p.size))
	}
	b := unsafe.SliceData(p.rest)
	p.rest = p.rest[p.size:]
	return b
}

func (p *pmdPool) put(b *byte) {
	p.live--
	p.free = append(p.free, b)
	if len(p.free) >= pmdSlabFirst && len(p.free) > p.live {
		clear(p.free)
		p.free, p.rest, p.next = p.free[:0], nil, 0
	}
}

// windowsRefused fails c, still open, whose windows the loop's table had
// no room for: 1013 (try again later), as for a full inbound budget.
func (l *loop) windowsRefused(c *Conn) {
	if !c.isClosed() {
		l.stats.budgetRefused.Add(1)
		l.failProtocol(c, codec.ErrOverBudget)
	}
}

// inbound and outbound are s's windows for c: the history, with the
// window's size as capacity. Valid until the slot is released.
func (s *pmdSlot) inbound(c *Conn) []byte {
	in, _ := c.windowSizes()
	return unsafe.Slice(s.buf, in)[:s.in]
}

func (s *pmdSlot) outbound(c *Conn) []byte {
	in, out := c.windowSizes()
	return unsafe.Slice(s.buf, in+out)[in : in+int(s.out)]
}

// slideIn and slideOut slide a message's plaintext into a window.
func (s *pmdSlot) slideIn(c *Conn, msg []byte) {
	s.in = uint16(len(pmd.Slide(s.inbound(c), msg)))
}

func (s *pmdSlot) slideOut(c *Conn, msg []byte) {
	s.out = uint16(len(pmd.Slide(s.outbound(c), msg)))
}

// releaseWindows gives c's windows back (the connection closed). Loop
// only.
func (l *loop) releaseWindows(c *Conn) {
	i := c.pmdSlotIndex()
	if i == 0 {
		return
	}
	t := &l.pmdw
	s := t.slot(i)
	in, out := c.windowSizes()
	t.pool(in + out).put(s.buf)
	*s = pmdSlot{next: t.free}
	t.free = i
	c.setPMDSlotIndex(0)
}
