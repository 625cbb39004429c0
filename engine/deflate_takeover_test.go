package engine

import (
	"bytes"
	"runtime"
	"testing"
	"unsafe"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/codec"
)

// takeoverConn is a Conn that negotiated context takeover with the given
// window bits (0: none that way), as setDeflate leaves it.
func takeoverConn(in, out uint8) *Conn {
	c := &Conn{}
	if in == 0 {
		in = pmdNoInbound
	}
	c.pmd = in | out<<4
	return c
}

func TestPMDTableWindows(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in, out uint8
	}{
		{"both 12", 12, 12},
		{"both 15", 15, 15},
		{"in 9, out 15", 9, 15},
		{"out only", 0, 12},
		{"in only", 10, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &loop{}
			c := takeoverConn(tc.in, tc.out)
			inSize, outSize := c.windowSizes()
			w := l.windows(c)
			if w == nil || c.pmdSlotIndex() != 1 || l.windows(c) != w {
				t.Fatalf("slot %p index %d", w, c.pmdSlotIndex())
			}
			if in, out := w.inbound(c), w.outbound(c); len(in) != 0 || cap(in) != inSize || len(out) != 0 || cap(out) != outSize {
				t.Fatalf("windows len %d/%d cap %d/%d, want 0/0 %d/%d", len(in), len(out), cap(in), cap(out), inSize, outSize)
			}
			// One allocation of exactly both windows, inbound first.
			if outSize > 0 && unsafe.SliceData(w.outbound(c)[:1]) != (*byte)(unsafe.Add(unsafe.Pointer(w.buf), inSize)) {
				t.Fatal("outbound window does not follow the inbound one")
			}
			msgIn, msgOut := payloadOf(inSize+100, 1, true), payloadOf(outSize+300, 2, true)
			for _, step := range []int{1, 7, 50, len(msgIn)} {
				w.slideIn(c, msgIn[:min(step, len(msgIn))])
			}
			w.slideIn(c, msgIn)
			w.slideOut(c, msgOut[:10])
			w.slideOut(c, msgOut)
			if got := w.inbound(c); inSize > 0 && !bytes.Equal(got, msgIn[len(msgIn)-inSize:]) {
				t.Fatalf("inbound history %d bytes, not the last %d of the message", len(got), inSize)
			}
			if got := w.outbound(c); outSize > 0 && !bytes.Equal(got, msgOut[len(msgOut)-outSize:]) {
				t.Fatalf("outbound history %d bytes, not the last %d of the message", len(got), outSize)
			}
			if n := testing.AllocsPerRun(50, func() {
				w := l.windows(c)
				w.slideIn(c, msgIn[:100])
				w.slideOut(c, msgOut[:100])
			}); n != 0 {
				t.Fatalf("%.1f allocations per message with the windows in place", n)
			}
		})
	}
}

func TestPMDTableReuse(t *testing.T) {
	l := &loop{}
	conns := make([]*Conn, pmdChunkLen+10)
	for i := range conns {
		conns[i] = takeoverConn(12, 12)
		if l.windows(conns[i]) == nil {
			t.Fatal("no slot")
		}
		if got := conns[i].pmdSlotIndex(); got != uint32(i+1) {
			t.Fatalf("conn %d: slot %d", i, got)
		}
	}
	if len(l.pmdw.chunks) != 2 || l.pmdw.used != uint32(len(conns)) {
		t.Fatalf("%d chunks, %d used", len(l.pmdw.chunks), l.pmdw.used)
	}
	// Closing keeps the slot index (it shares Conn.closed) until the
	// windows are released, and a closed connection gets no new windows.
	c := conns[3]
	c.markClosed()
	if !c.isClosed() || c.pmdSlotIndex() != 4 {
		t.Fatalf("closed %v, slot %d", c.isClosed(), c.pmdSlotIndex())
	}
	l.releaseWindows(c)
	if !c.isClosed() || c.pmdSlotIndex() != 0 {
		t.Fatalf("after release: closed %v, slot %d", c.isClosed(), c.pmdSlotIndex())
	}
	if l.windows(c) != nil || c.pmdSlotIndex() != 0 {
		t.Fatal("a closed connection got windows again")
	}
	l.releaseWindows(c) // twice: nothing
	l.releaseWindows(conns[7])
	// Freed slots are reused, last freed first, with fresh windows.
	for _, want := range []uint32{8, 4, uint32(len(conns) + 1)} {
		n := takeoverConn(12, 12)
		w := l.windows(n)
		if got := n.pmdSlotIndex(); got != want {
			t.Fatalf("new conn got slot %d, want %d", got, want)
		}
		if len(w.inbound(n)) != 0 || len(w.outbound(n)) != 0 {
			t.Fatal("reused slot kept history")
		}
		if n.isClosed() {
			t.Fatal("slot index set the closed bit")
		}
	}
}

func TestPMDTableFull(t *testing.T) {
	defer func(v uint32) { pmdSlotLimit = v }(pmdSlotLimit)
	pmdSlotLimit = 2
	l := &loop{}
	a, b, c := takeoverConn(12, 12), takeoverConn(12, 12), takeoverConn(12, 12)
	if l.windows(a) == nil || l.windows(b) == nil {
		t.Fatal("no slot under the limit")
	}
	if l.windows(c) != nil || c.pmdSlotIndex() != 0 {
		t.Fatal("a slot past the limit")
	}
	l.releaseWindows(a)
	if l.windows(c) == nil {
		t.Fatal("no slot after one was freed")
	}
}

// A context-takeover connection whose loop has no slot left is closed 1013
// at its first compressed message; the next one, after it, gets a slot.
func TestDeflateWindowsRefused(t *testing.T) {
	old := pmdSlotLimit
	t.Cleanup(func() { pmdSlotLimit = old }) // after the server stopped
	pmdSlotLimit = 1
	h := newRecorder()
	_, addr := deflateServer(t, codec.DeflateContextTakeover, h, func(c *Config) { c.EventLoops = 1 })
	const offer = "permessage-deflate; client_max_window_bits"
	first := dialDeflate(t, addr, offer)
	msg := payloadOf(1000, 1, false)
	if err := first.send(ws.OpText, msg, 1); err != nil {
		t.Fatal(err)
	}
	if _, got, _, err := first.recv(); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("first connection: %v", err)
	}
	second := dialDeflate(t, addr, offer)
	if err := second.send(ws.OpText, msg, 1); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := second.recv(); err == nil {
		t.Fatal("second connection echoed without a slot")
	}
	_ = second.Close()
	if ce := h.nextClose(t); ce == nil || ce.Code != codec.CloseTryAgainLater {
		t.Fatalf("close %v, want 1013", ce)
	}
	_ = first.Close()
	h.nextClose(t)
	third := dialDeflate(t, addr, offer)
	if err := third.send(ws.OpText, msg, 1); err != nil {
		t.Fatal(err)
	}
	if _, got, _, err := third.recv(); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("third connection, after the first closed: %v", err)
	}
}

func TestDeflateLevelConfig(t *testing.T) {
	for _, tc := range []struct {
		level, want int
		ok          bool
	}{
		{0, DefaultDeflateLevel, true}, {1, 1, true}, {5, 5, true}, {9, 9, true}, {-1, 0, false}, {10, 0, false},
	} {
		cfg := DefaultConfig("127.0.0.1:0")
		cfg.DeflateLevel = tc.level
		got, err := cfg.normalize()
		if (err == nil) != tc.ok || (tc.ok && got.DeflateLevel != tc.want) {
			t.Errorf("level %d: %d, %v", tc.level, got.DeflateLevel, err)
		}
	}
}

// The same context-takeover echo sequence at levels 1, 5 and 9: every
// message comes back intact, and a stronger level sends fewer compressed
// bytes (Stats.Deflate.DeflatedBytesOut) for the same plaintext.
func TestDeflateLevelEcho(t *testing.T) {
	out := map[int]uint64{}
	for _, level := range []int{1, 5, 9} {
		h := newRecorder()
		srv, addr := deflateServer(t, codec.DeflateContextTakeover, h, func(c *Config) { c.DeflateLevel = level })
		c := dialDeflate(t, addr, "permessage-deflate; client_max_window_bits")
		for i := 0; i < 20; i++ {
			msg := payloadOf(300+i*797%6000, int64(i), false)
			if err := c.send(ws.OpText, msg, 1); err != nil {
				t.Fatal(err)
			}
			if _, got, z, err := c.recv(); err != nil || !bytes.Equal(got, msg) || !z {
				t.Fatalf("level %d message %d: compressed %v, %v", level, i, z, err)
			}
		}
		waitFor(t, "deflate stats", func() bool { return srv.Stats().Deflate.Deflated == 20 })
		st := srv.Stats().Deflate
		out[level] = st.DeflatedBytesOut
		t.Logf("level %d: %d plain bytes sent as %d", level, st.DeflatedBytesIn, st.DeflatedBytesOut)
	}
	if out[5] >= out[1] || out[9] > out[5] {
		t.Fatalf("compressed bytes by level: %v", out)
	}
}

// Blocks are cut from growing slabs without overlapping, reused last in
// first out, and the free ones dropped once they outnumber the live ones.
func TestPMDPool(t *testing.T) {
	const size = 8192
	p := &pmdPool{size: size}
	var blocks []*byte
	seen := map[uintptr]bool{}
	for i := 0; i < 100; i++ {
		b := p.get()
		a := uintptr(unsafe.Pointer(b))
		for _, o := range blocks {
			if d := int(a) - int(uintptr(unsafe.Pointer(o))); d > -size && d < size {
				t.Fatalf("block %d overlaps another (%d bytes apart)", i, d)
			}
		}
		seen[a] = true
		blocks = append(blocks, b)
		unsafe.Slice(b, size)[size-1] = byte(i) // the whole block is writable
	}
	if p.live != 100 || p.next != pmdSlabMax/size {
		t.Fatalf("live %d, next slab %d blocks", p.live, p.next)
	}
	// Give back a few: reused last first.
	p.put(blocks[10])
	p.put(blocks[20])
	if p.get() != blocks[20] || p.get() != blocks[10] {
		t.Fatal("freed blocks not reused last in first out")
	}
	// Give back most: once free ones outnumber live ones they are dropped.
	for _, b := range blocks[:60] {
		p.put(b)
	}
	if p.live != 40 || len(p.free) > p.live {
		t.Fatalf("after freeing 60 of 100: live %d, %d free kept", p.live, len(p.free))
	}
	for _, b := range blocks[60:] {
		p.put(b)
	}
	if p.live != 0 || len(p.free) >= pmdSlabFirst || p.rest != nil {
		t.Fatalf("after freeing all: %d free kept, rest %d", len(p.free), len(p.rest))
	}
	for len(p.free) > 0 {
		p.get()
	}
	if b := p.get(); seen[uintptr(unsafe.Pointer(b))] || p.next != 2*pmdSlabFirst {
		t.Fatal("a dropped block was handed out again, or no fresh slab was cut")
	}
	if n := testing.AllocsPerRun(100, func() { p.put(p.get()) }); n != 0 {
		t.Fatalf("%.1f allocations per reused block", n)
	}
	runtime.KeepAlive(blocks) // so that no address in seen is reused
}
