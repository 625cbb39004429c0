package engine

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/pmd"
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

func TestPMDWindows(t *testing.T) {
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
			outRoom := max(outSize-pmdFill, 0)
			w, ok := l.windows(c)
			if !ok || c.pmdBlockNum() != 1 {
				t.Fatalf("ok %v, block %d", ok, c.pmdBlockNum())
			}
			// One block of exactly both windows (the inbound one plus 4
			// bytes when only it keeps context), inbound first.
			if want := inSize + max(outSize, pmdFill); len(w.b) != want {
				t.Fatalf("block of %d bytes, want %d", len(w.b), want)
			}
			if in, out := w.inbound(), w.outbound(); len(in) != 0 || cap(in) != inSize || len(out) != 0 || cap(out) != outRoom {
				t.Fatalf("windows len %d/%d cap %d/%d, want 0/0 %d/%d", len(in), len(out), cap(in), cap(out), inSize, outRoom)
			}
			if outSize > 0 && unsafe.SliceData(w.outbound()[:1]) != &w.b[inSize] {
				t.Fatal("outbound window does not follow the inbound one")
			}
			msgIn, msgOut := payloadOf(inSize+100, 1, true), payloadOf(outSize+300, 2, true)
			for _, step := range []int{1, 7, 50, len(msgIn)} {
				w.slideIn(msgIn[:min(step, len(msgIn))])
			}
			w.slideIn(msgIn)
			w.slideOut(msgOut[:10])
			w.slideOut(msgOut)
			// The fill counts live in the block: a second lookup sees them.
			w2, _ := l.windows(c)
			if got := w2.inbound(); inSize > 0 && !bytes.Equal(got, msgIn[len(msgIn)-inSize:]) {
				t.Fatalf("inbound history %d bytes, not the last %d of the message", len(got), inSize)
			}
			if got := w2.outbound(); outSize > 0 && !bytes.Equal(got, msgOut[len(msgOut)-outRoom:]) {
				t.Fatalf("outbound history %d bytes, not the last %d of the message", len(got), outRoom)
			}
			if n := testing.AllocsPerRun(50, func() {
				w, _ := l.windows(c)
				w.slideIn(msgIn[:100])
				w.slideOut(msgOut[:100])
			}); n != 0 {
				t.Fatalf("%.1f allocations per message with the windows in place", n)
			}
		})
	}
}

// Neighbouring blocks do not overlap: each connection's history survives
// the others' traffic.
func TestPMDWindowsApart(t *testing.T) {
	l := &loop{}
	conns := make([]*Conn, 70) // more than two slabs of 32
	for i := range conns {
		conns[i] = takeoverConn(12, 12)
		w, ok := l.windows(conns[i])
		if !ok {
			t.Fatal("no block")
		}
		w.slideIn(payloadOf(5000, int64(i), true))
		w.slideOut(payloadOf(5000, int64(i+1000), true))
	}
	for i, c := range conns {
		w, _ := l.windows(c)
		in, out := payloadOf(5000, int64(i), true), payloadOf(5000, int64(i+1000), true)
		if !bytes.Equal(w.inbound(), in[5000-4096:]) || !bytes.Equal(w.outbound(), out[5000-4092:]) {
			t.Fatalf("conn %d: history overwritten", i)
		}
	}
}

func TestPMDArenaReuse(t *testing.T) {
	l := &loop{}
	conns := make([]*Conn, 70)
	for i := range conns {
		conns[i] = takeoverConn(12, 12)
		if _, ok := l.windows(conns[i]); !ok {
			t.Fatal("no block")
		}
		if got := conns[i].pmdBlockNum(); got != uint32(i+1) {
			t.Fatalf("conn %d: block %d", i, got)
		}
	}
	a := l.pmdw.arena(conns[0])
	if a.per != 32 || len(a.slabs) != 3 || a.live != len(conns) {
		t.Fatalf("%d per slab, %d slabs, %d live", a.per, len(a.slabs), a.live)
	}
	// Closing keeps the block number (it shares Conn.closed) until the
	// windows are released, and a closed connection gets no new windows.
	c := conns[40]
	c.markClosed()
	if !c.isClosed() || c.pmdBlockNum() != 41 {
		t.Fatalf("closed %v, block %d", c.isClosed(), c.pmdBlockNum())
	}
	l.releaseWindows(c)
	if !c.isClosed() || c.pmdBlockNum() != 0 {
		t.Fatalf("after release: closed %v, block %d", c.isClosed(), c.pmdBlockNum())
	}
	if _, ok := l.windows(c); ok || c.pmdBlockNum() != 0 {
		t.Fatal("a closed connection got windows again")
	}
	l.releaseWindows(c) // twice: nothing
	l.releaseWindows(conns[7])
	// Freed blocks are reused lowest first, with empty histories.
	for _, want := range []uint32{8, 41, uint32(len(conns) + 1)} {
		n := takeoverConn(12, 12)
		w, _ := l.windows(n)
		if got := n.pmdBlockNum(); got != want {
			t.Fatalf("new conn got block %d, want %d", got, want)
		}
		if len(w.inbound()) != 0 || len(w.outbound()) != 0 {
			t.Fatal("reused block kept history")
		}
		if n.isClosed() {
			t.Fatal("block number set the closed bit")
		}
	}
	// Other window sizes have arenas of their own, numbered from 1.
	o := takeoverConn(15, 15)
	if _, ok := l.windows(o); !ok || o.pmdBlockNum() != 1 {
		t.Fatalf("32 KiB windows: block %d", o.pmdBlockNum())
	}
}

// Slabs whose blocks are all free go back to the garbage collector but for
// one kept for the next connection; blocks never move.
func TestPMDArenaSlabs(t *testing.T) {
	a := &pmdArena{size: 8192, per: 32, full: 1<<32 - 1}
	var nums []uint32
	for range 100 { // slabs 0..3, the last one a quarter used
		nums = append(nums, a.get())
	}
	if len(a.slabs) != 4 || a.live != 100 {
		t.Fatalf("%d slabs, %d live", len(a.slabs), a.live)
	}
	first := &a.block(33)[0]
	for _, n := range nums[64:] { // empty slabs 2 and 3
		a.put(n)
	}
	if len(a.slabs) != 3 || a.spare != 3 || a.slabs[2] == nil {
		t.Fatalf("after emptying the top two slabs: %d slabs, spare %d", len(a.slabs), a.spare)
	}
	for _, n := range nums[32:64] { // empty slab 1: slab 2 goes, 1 is kept
		a.put(n)
	}
	if len(a.slabs) != 2 || a.spare != 2 || a.slabs[1] == nil || &a.block(33)[0] != first {
		t.Fatalf("after emptying slab 1: %d slabs, spare %d", len(a.slabs), a.spare)
	}
	for _, n := range nums[:32] { // empty slab 0: slab 1 goes too
		a.put(n)
	}
	if len(a.slabs) != 1 || a.spare != 1 || a.live != 0 {
		t.Fatalf("all free: %d slabs, spare %d, live %d", len(a.slabs), a.spare, a.live)
	}
	if n := a.get(); n != 1 || a.spare != 0 {
		t.Fatalf("next block %d, spare %d", n, a.spare)
	}
	// A slab given back in the middle is cut again only when the slabs
	// still cut are full.
	a = &pmdArena{size: 8192, per: 32, full: 1<<32 - 1}
	nums = nums[:0]
	for range 96 {
		nums = append(nums, a.get())
	}
	for _, n := range nums[:64] { // slabs 0 and 1 emptied: the lower is kept
		a.put(n)
	}
	if a.slabs[0] == nil || a.slabs[1] != nil || a.spare != 1 {
		t.Fatalf("slab 0 cut %v, slab 1 cut %v, spare %d", a.slabs[0] != nil, a.slabs[1] != nil, a.spare)
	}
	for i := range 32 {
		if n := a.get(); n != uint32(i+1) {
			t.Fatalf("took block %d, want %d in the slab still cut", n, i+1)
		}
	}
	if n := a.get(); n != 33 || a.slabs[1] == nil {
		t.Fatalf("took block %d, want 33 in slab 1 cut again", n)
	}
	if n := testing.AllocsPerRun(100, func() { a.put(a.get()) }); n != 0 {
		t.Fatalf("%.1f allocations per reused block", n)
	}
}

func TestPMDBlockLimit(t *testing.T) {
	defer func(v uint32) { pmdBlockLimit = v }(pmdBlockLimit)
	pmdBlockLimit = 2
	l := &loop{}
	a, b, c := takeoverConn(12, 12), takeoverConn(12, 12), takeoverConn(12, 12)
	if _, ok := l.windows(a); !ok {
		t.Fatal("no block under the limit")
	}
	if _, ok := l.windows(b); !ok {
		t.Fatal("no block under the limit")
	}
	if _, ok := l.windows(c); ok || c.pmdBlockNum() != 0 {
		t.Fatal("a block past the limit")
	}
	l.releaseWindows(a)
	if _, ok := l.windows(c); !ok || c.pmdBlockNum() != 1 {
		t.Fatal("no block after one was freed")
	}
}

// A context-takeover connection whose loop has no block number left is closed 1013
// at its first compressed message; the next one, after it, gets a block.
func TestDeflateWindowsRefused(t *testing.T) {
	old := pmdBlockLimit
	t.Cleanup(func() { pmdBlockLimit = old }) // after the server stopped
	pmdBlockLimit = 1
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
		t.Fatal("second connection echoed without a block")
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

// Random takes and gives against a model: numbers are unique, blocks never
// overlap or move, and at most one slab with no block in use is kept.
func TestPMDArenaRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a := &pmdArena{size: 1024, per: 64, full: ^uint64(0)}
	live := map[uint32]*byte{}
	for step := range 20000 {
		if len(live) == 0 || rng.IntN(100) < 52-len(live)/100 {
			n := a.get()
			if _, dup := live[n]; dup || n == 0 {
				t.Fatalf("step %d: block %d handed out twice", step, n)
			}
			b := a.block(n)
			b[0], b[len(b)-1] = byte(n), byte(n>>8)
			live[n] = &b[0]
		} else {
			for n := range live {
				a.put(n)
				delete(live, n)
				break
			}
		}
		if a.live != len(live) {
			t.Fatalf("step %d: live %d, model %d", step, a.live, len(live))
		}
		empty := 0
		for k, s := range a.slabs {
			if s != nil && a.used[k] == 0 {
				empty++
			}
		}
		if empty > 1 {
			t.Fatalf("step %d: %d empty slabs kept", step, empty)
		}
	}
	for n, p := range live {
		b := a.block(n)
		if &b[0] != p || b[0] != byte(n) || b[len(b)-1] != byte(n>>8) {
			t.Fatalf("block %d moved or was overwritten", n)
		}
	}
}

// A shared compressed frame (compressed alone within the server's window)
// written to a context-takeover connection, from its loop or another
// goroutine, bypasses the outbound window: the next message is compressed
// without history and the client reads every one with its own.
func TestDeflateSharedFrameTakeover(t *testing.T) {
	h := newRecorder()
	_, addr := deflateServer(t, codec.DeflateContextTakeover, h, nil)
	c := dialDeflate(t, addr, "permessage-deflate; client_max_window_bits")
	sc := h.nextOpen(t)
	if !sc.SharedDeflate() || sc.Loop().SharedDeflateBits() != 12 {
		t.Fatalf("SharedDeflate %v, bits %d", sc.SharedDeflate(), sc.Loop().SharedDeflateBits())
	}
	direct := payloadOf(3000, 1, true)
	shared := payloadOf(6000, 2, true)
	f := codec.NewPreparedFrameDeflate(codec.OpText, pmd.DeflateWithin(nil, shared, nil, 12, 1), 12)
	for i := range 4 {
		want := [][]byte{direct, direct, shared, direct}
		_ = sc.WriteText(direct)
		_ = sc.WriteText(direct) // refers to the first
		if i%2 == 0 {
			_ = sc.WritePrepared(f) // from this goroutine: through the loop's queue
		} else {
			sc.Loop().Execute(func() { _ = sc.WritePrepared(f) }) // on the loop
		}
		_ = sc.WriteText(direct)
		for j, w := range want {
			if _, got, z, err := c.recv(); err != nil || !z || !bytes.Equal(got, w) {
				t.Fatalf("round %d message %d: compressed %v, %d bytes, %v", i, j, z, len(got), err)
			}
		}
	}
	wide := codec.NewPreparedFrameRSV(codec.OpText, 0b100, pmd.Deflate(nil, shared, nil))
	if err := sc.WritePrepared(wide); err != ErrNoSharedDeflate {
		t.Fatalf("15-bit frame on a 12-bit window: %v", err)
	}
}
