package engine

import (
	"encoding/binary"
	"math/bits"
	"unsafe"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/pmd"
)

// Context-takeover windows. A connection that negotiated context takeover
// keeps, from its first compressed message in either direction, its
// sliding dictionaries: the inbound window (2^pmdIn bytes, what the client
// may refer back to) and the outbound one (2^pmdOut bytes, what primes the
// pooled compressor). Both live in one block of exactly their sizes:
//
//	[inbound window][outbound history][inbound fill][outbound fill]
//
// The two fill counts (uint16 each) take the last 4 bytes of the outbound
// window, so the outbound history holds up to 2^pmdOut − 4 bytes (a server
// may refer back less far than it announced; the client cannot tell). When
// only the inbound direction keeps context the block is the inbound window
// plus the 4 bytes.
//
// Blocks are cut from slabs of pmdArena, one arena per block size per loop,
// and a block never moves: its number (1 + slab × blocks per slab + place)
// is kept in the upper 24 bits of Conn.closed (which needs one bit). So a
// connection's windows cost their own size, a 1/64 bit of a slab's bitmap,
// an 8-byte slab pointer shared by the slab's blocks and a share of the
// slab's span, and nothing when context takeover was not agreed.

// pmdFill is the size of the two fill counts at the end of a block.
const pmdFill = 4

// pmdBlockLimit is the highest block number an arena hands out: Conn.closed
// holds it in 24 bits. A variable so that a test can lower it.
var pmdBlockLimit uint32 = 1<<24 - 1

// pmdSlabBytes is the size a slab aims at: blocks per slab is
// pmdSlabBytes / block size, between 1 and 64 (one bitmap word). Go gives
// an 8 KiB object a span of its own, and a span costs a descriptor outside
// the heap (~160 bytes of RSS); a 256 KiB slab of 32 blocks spreads it.
const pmdSlabBytes = 256 << 10

// pmdWindows is one connection's windows: its block and the inbound
// window's size. Valid until the block is released (the connection closed).
type pmdWindows struct {
	b  []byte // the whole block
	in int    // inbound window size (0: no context takeover that way)
}

// pmdArena hands out the blocks of one size (loop only). Slabs are cut on
// demand and kept while any of their blocks is in use; of the slabs whose
// blocks are all free, one is kept for the next connection and the others
// go back to the garbage collector, so an arena holds its live blocks, the
// slabs they sit in and at most one empty slab (the lowest). A new block is taken from
// the lowest slab with room, which keeps the live blocks packed low and
// lets high slabs empty out.
type pmdArena struct {
	size  int
	per   int      // blocks per slab
	full  uint64   // used[k] of a full slab
	slabs []*byte  // nil: not cut, or given back
	used  []uint64 // per slab: bit i set while block i is in use
	low   int      // no slab below low has a free block
	spare int      // 1 + the slab kept although empty; 0: none
	live  int      // blocks in use
}

// pmdBlocks is a loop's arenas by block size.
type pmdBlocks struct {
	arenas map[int]*pmdArena
}

// pmdBlockNum is c's block number (1 + its index in its arena), kept in the
// upper 24 bits of Conn.closed; 0: none. Loop only.
func (c *Conn) pmdBlockNum() uint32 { return c.closed.Load() >> 8 }

// setPMDBlockNum sets it, leaving closedBit alone. Loop only (the only
// writer of Conn.closed), so the two steps need no lock.
func (c *Conn) setPMDBlockNum(i uint32) {
	c.closed.And(0xff)
	c.closed.Or(i << 8)
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

// blockSize is the size of the block holding windows of in and out bytes.
func blockSize(in, out int) int { return in + max(out, pmdFill) }

// arena returns the arena of c's block size.
func (t *pmdBlocks) arena(c *Conn) *pmdArena {
	size := blockSize(c.windowSizes())
	a := t.arenas[size]
	if a == nil {
		if t.arenas == nil {
			t.arenas = map[int]*pmdArena{}
		}
		per := min(max(pmdSlabBytes/size, 1), 64)
		a = &pmdArena{size: size, per: per, full: ^uint64(0) >> (64 - per)}
		t.arenas[size] = a
	}
	return a
}

// windows returns c's windows, taking a block on first use; ok is false
// when the arena has no block number left (the caller fails the
// connection) or c is closed (its windows were released for good). Loop
// only.
func (l *loop) windows(c *Conn) (w pmdWindows, ok bool) {
	in, _ := c.windowSizes()
	a := l.pmdw.arena(c)
	if n := c.pmdBlockNum(); n != 0 {
		return pmdWindows{b: a.block(n), in: in}, true
	}
	if c.isClosed() {
		return w, false
	}
	n := a.get()
	if n == 0 {
		return w, false
	}
	c.setPMDBlockNum(n)
	w = pmdWindows{b: a.block(n), in: in}
	clear(w.b[len(w.b)-pmdFill:]) // no history yet either way
	return w, true
}

// block is the bytes of block n (1-based).
func (a *pmdArena) block(n uint32) []byte {
	i := int(n - 1)
	k, j := i/a.per, i%a.per
	return unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(a.slabs[k]), j*a.size)), a.size)
}

// get takes a free block and returns its number; 0 past pmdBlockLimit.
func (a *pmdArena) get() uint32 {
	k := a.low
	for k < len(a.slabs) && a.slabs[k] != nil && a.used[k] == a.full {
		k++
	}
	a.low = k
	// The lowest slab with room: prefer one already cut to cutting another.
	cut := -1
	for ; k < len(a.slabs); k++ {
		if a.slabs[k] == nil {
			if cut < 0 {
				cut = k
			}
			continue
		}
		if a.used[k] != a.full {
			break
		}
	}
	if k == len(a.slabs) {
		k = cut
		if k < 0 {
			k = len(a.slabs)
			a.slabs = append(a.slabs, nil)
			a.used = append(a.used, 0)
		}
	}
	j := bits.TrailingZeros64(^a.used[k])
	n := uint64(k)*uint64(a.per) + uint64(j) + 1
	if n > uint64(pmdBlockLimit) {
		a.trim()
		return 0
	}
	if a.slabs[k] == nil {
		a.slabs[k] = unsafe.SliceData(make([]byte, a.per*a.size))
	}
	if a.spare == k+1 {
		a.spare = 0
	}
	a.used[k] |= 1 << j
	a.live++
	return uint32(n)
}

// put gives block n back.
func (a *pmdArena) put(n uint32) {
	i := int(n - 1)
	k, j := i/a.per, i%a.per
	a.used[k] &^= 1 << j
	a.live--
	a.low = min(a.low, k)
	if a.used[k] != 0 {
		return
	}
	// Keep the lower of two empty slabs: new blocks are taken lowest first.
	if s := a.spare - 1; s >= 0 && s != k {
		if s < k {
			a.slabs[k] = nil
			a.trim()
			return
		}
		a.slabs[s] = nil
	}
	a.spare = k + 1
	a.trim()
}

// trim drops trailing slab entries that hold no slab.
func (a *pmdArena) trim() {
	n := len(a.slabs)
	for n > 0 && a.slabs[n-1] == nil {
		n--
	}
	clear(a.slabs[n:])
	a.slabs, a.used = a.slabs[:n], a.used[:n]
	a.low = min(a.low, n)
}

// windowsRefused fails c, still open, whose windows its loop had no block
// number left for: 1013 (try again later), as for a full inbound budget.
func (l *loop) windowsRefused(c *Conn) {
	if !c.isClosed() {
		l.stats.budgetRefused.Add(1)
		l.failProtocol(c, codec.ErrOverBudget)
	}
}

// fills are the block's two fill counts.
func (w pmdWindows) fills() []byte { return w.b[len(w.b)-pmdFill:] }

// inbound and outbound are the windows' histories, with the room each has
// as capacity. Valid until the block is released.
func (w pmdWindows) inbound() []byte {
	return w.b[:binary.LittleEndian.Uint16(w.fills()):w.in]
}

func (w pmdWindows) outbound() []byte {
	end := len(w.b) - pmdFill
	return w.b[w.in:end:end][:binary.LittleEndian.Uint16(w.fills()[2:])]
}

// slideIn and slideOut slide a message's plaintext into a window.
func (w pmdWindows) slideIn(msg []byte) {
	binary.LittleEndian.PutUint16(w.fills(), uint16(len(pmd.Slide(w.inbound(), msg))))
}

// resetOut empties the outbound history.
func (w pmdWindows) resetOut() { binary.LittleEndian.PutUint16(w.fills()[2:], 0) }

func (w pmdWindows) slideOut(msg []byte) {
	binary.LittleEndian.PutUint16(w.fills()[2:], uint16(len(pmd.Slide(w.outbound(), msg))))
}

// releaseWindows gives c's windows back (the connection closed). Loop
// only.
func (l *loop) releaseWindows(c *Conn) {
	n := c.pmdBlockNum()
	if n == 0 {
		return
	}
	l.pmdw.arena(c).put(n)
	c.setPMDBlockNum(0)
}
