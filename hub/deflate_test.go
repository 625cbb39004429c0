package hub

import (
	"bytes"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/internal/pmd"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// joinOffer dials a client into rooms with a Sec-WebSocket-Extensions offer
// ("" for none) and waits for its server-side Conn.
func (n *node) joinOffer(t testing.TB, offer string, rooms ...string) (*wstest.Client, *engine.Conn) {
	t.Helper()
	var h http.Header
	if offer != "" {
		h = http.Header{"Sec-WebSocket-Extensions": {offer}}
	}
	q := url.Values{"room": rooms}
	c, err := wstest.Dial(n.addr, &wstest.DialOptions{Path: "/?" + q.Encode(), Header: h})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	select {
	case sc := <-n.opens:
		return c, sc
	case <-time.After(5 * time.Second):
		t.Fatal("OnOpen not called within 5s")
		return nil, nil
	}
}

// recvDeflate reads one single-frame message, inflating it (without a
// dictionary: the server compresses broadcasts alone) when RSV1 is set.
func recvDeflate(t testing.TB, c *wstest.Client) (op ws.OpCode, msg []byte, compressed bool) {
	t.Helper()
	f, err := c.ReadFrame(5 * time.Second)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !f.Fin || f.Rsv&^4 != 0 {
		t.Fatalf("frame fin=%v rsv=%03b", f.Fin, f.Rsv)
	}
	if f.Rsv == 4 {
		out, err := pmd.Inflate(nil, f.Payload, nil, 64<<20)
		if err != nil {
			t.Fatalf("inflate: %v", err)
		}
		return f.Op, out, true
	}
	return f.Op, f.Payload, false
}

// ctReader reads a client's messages as an RFC 7692 client does under
// context takeover: every compressed message is inflated with the history
// of the compressed messages before it (the last 32 KiB of their
// plaintext).
type ctReader struct {
	c    *wstest.Client
	hist []byte
}

func (r *ctReader) recv(t testing.TB) (op ws.OpCode, msg []byte, compressed bool) {
	t.Helper()
	f, err := r.c.ReadFrame(5 * time.Second)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !f.Fin || f.Rsv&^4 != 0 {
		t.Fatalf("frame fin=%v rsv=%03b", f.Fin, f.Rsv)
	}
	if f.Rsv != 4 {
		return f.Op, f.Payload, false // plain messages stay out of the history
	}
	if msg, err = pmd.Inflate(nil, f.Payload, r.hist, 64<<20); err != nil {
		t.Fatalf("inflate with the history: %v", err)
	}
	r.hist = append(r.hist, msg...)
	r.hist = r.hist[max(0, len(r.hist)-32<<10):]
	return f.Op, msg, true
}

// A publish reaches subscribers with and without deflate: compressed once,
// within the server's 4 KiB window, as one shared frame for those with
// server_no_context_takeover and those with context takeover; plain to
// those without deflate or whose client asked for a smaller window, and
// plain to everyone below the threshold.
func TestPublishDeflate(t *testing.T) {
	n := startNode(t, Config{}, func(c *engine.Config) {
		c.Deflate = codec.DeflatePolicy{Mode: codec.DeflateContextTakeover}
		c.DeflateThreshold = 64
	})
	offers := []string{
		"",
		"permessage-deflate; server_no_context_takeover",
		"permessage-deflate; server_no_context_takeover; client_no_context_takeover",
		"permessage-deflate; client_max_window_bits",
		"permessage-deflate; client_max_window_bits; server_max_window_bits=10",
	}
	shared := []bool{false, true, true, true, false}
	readers := make([]*ctReader, len(offers))
	conns := make([]*engine.Conn, len(offers))
	for i, o := range offers {
		c, sc := n.joinOffer(t, o, "room")
		readers[i], conns[i] = &ctReader{c: c}, sc
		if sc.Deflate() != (o != "") || sc.SharedDeflate() != shared[i] {
			t.Fatalf("offer %q: deflate %v, shared %v", o, sc.Deflate(), sc.SharedDeflate())
		}
	}
	if bits := conns[0].Loop().SharedDeflateBits(); bits != 12 {
		t.Fatalf("SharedDeflateBits %d, want 12", bits)
	}
	big := []byte(strings.Repeat(`{"user":"ann","text":"hello, room"} `, 400)) // 14 KiB
	for i, c := range []struct {
		typ     engine.MessageType
		payload []byte
	}{
		{engine.Text, big},
		{engine.Binary, big[:2000]},
		{engine.Text, []byte("short")},
	} {
		if _, err := n.hub.Publish("room", c.typ, c.payload); err != nil {
			t.Fatal(err)
		}
		wantOp := ws.OpText
		if c.typ == engine.Binary {
			wantOp = ws.OpBinary
		}
		long := len(c.payload) >= 64
		for j, r := range readers {
			op, msg, z := r.recv(t)
			// The narrow-window client gets direct messages compressed
			// within its window but broadcasts plain.
			wantZ := long && shared[j]
			if op != wantOp || !bytes.Equal(msg, c.payload) || z != wantZ {
				t.Fatalf("publish %d, client %d: op %v, %d bytes (want %d), compressed %v (want %v)",
					i, j, op, len(msg), len(c.payload), z, wantZ)
			}
		}
	}
	// Two long publishes compressed once each, to three subscribers each;
	// the short one not compressed.
	// (The loops count a delivery after their writes: wait for them.)
	waitFor(t, "delivery counts", func() bool { return n.hub.Stats().Delivered == 3*5 })
	st := n.hub.Stats()
	if st.Compressed != 2 || st.CompressedBytesIn != uint64(len(big)+2000) || st.CompressedBytesOut == 0 ||
		st.CompressedBytesOut >= st.CompressedBytesIn || st.DeliveredCompressed != 2*3 {
		t.Fatalf("stats %+v", st)
	}
	// Under context takeover, direct messages and shared broadcasts mix:
	// each direct message after a broadcast is compressed without the
	// history the broadcast bypassed, and still reads with the client's.
	tc, tr := conns[3], readers[3]
	for i := range 3 {
		direct := []byte(strings.Repeat(`{"user":"bob","text":"direct `+strconv.Itoa(i)+`"} `, 30))
		if err := tc.WriteText(direct); err != nil {
			t.Fatal(err)
		}
		if _, msg, z := tr.recv(t); !z || !bytes.Equal(msg, direct) {
			t.Fatalf("direct %d: compressed %v, %d bytes", i, z, len(msg))
		}
		if err := tc.WriteText(direct); err != nil { // with the history now
			t.Fatal(err)
		}
		if _, msg, z := tr.recv(t); !z || !bytes.Equal(msg, direct) {
			t.Fatalf("direct %d again: compressed %v, %d bytes", i, z, len(msg))
		}
		if _, err := n.hub.Publish("room", engine.Text, big); err != nil {
			t.Fatal(err)
		}
		for j, r := range readers {
			if _, msg, z := r.recv(t); !bytes.Equal(msg, big) || z != shared[j] {
				t.Fatalf("round %d, client %d: compressed %v, %d bytes", i, j, z, len(msg))
			}
		}
	}
	// A compressed prepared frame is refused where it cannot be shared:
	// without deflate, and on a window smaller than the frame's.
	wide := codec.NewPreparedFrameRSV(codec.OpText, 0b100, pmd.Deflate(nil, big, nil))
	narrow := codec.NewPreparedFrameDeflate(codec.OpText, pmd.DeflateWithin(nil, big, nil, 12, 1), 12)
	for _, tc := range []struct {
		c *engine.Conn
		f *codec.PreparedFrame
	}{{conns[0], narrow}, {conns[3], wide}, {conns[4], narrow}} {
		if err := tc.c.WritePrepared(tc.f); err != engine.ErrNoSharedDeflate {
			t.Fatalf("WritePrepared(window %d): %v", tc.f.WindowBits(), err)
		}
	}
	if err := conns[1].WritePrepared(wide); err != nil {
		t.Fatalf("WritePrepared(15 bits) without server context: %v", err)
	}
	if _, msg, z := readers[1].recv(t); !z || !bytes.Equal(msg, big) {
		t.Fatal("wide frame not received")
	}
	for _, j := range []int{0, 2, 3, 4} {
		expectSilence(t, readers[j].c)
	}
}

// byteReaders counts the bytes clients read and signals each time all of
// them have per more bytes each.
type byteReaders struct {
	want  int64
	total atomic.Int64
	done  chan struct{}
	wg    sync.WaitGroup
}

func (r *byteReaders) read(c net.Conn) {
	var buf [16 << 10]byte
	for {
		n, err := c.Read(buf[:])
		if err != nil {
			return
		}
		v := r.total.Add(int64(n))
		if v/r.want > (v-int64(n))/r.want {
			r.done <- struct{}{}
		}
	}
}

// TestPublishDeflateAllocs checks that a compressed publish allocates the
// same for one subscriber as for many: the message is compressed once.
func TestPublishDeflateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not stable under -race")
	}
	payload := []byte(strings.Repeat(`{"price":101.25,"qty":3,"side":"buy"} `, 30))
	// Without server context (a 15-bit shared window) and with it (the
	// server's 12-bit window; writing the frame empties each subscriber's
	// outbound history).
	for _, mode := range []struct {
		name   string
		policy codec.DeflateMode
		offer  string
		bits   int
	}{
		{"no context takeover", codec.DeflateNoContextTakeover, "permessage-deflate", 15},
		{"context takeover", codec.DeflateContextTakeover, "permessage-deflate; client_max_window_bits", 12},
	} {
		t.Run(mode.name, func(t *testing.T) {
			publishDeflateAllocs(t, payload, mode.policy, mode.offer, mode.bits)
		})
	}
}

func publishDeflateAllocs(t *testing.T, payload []byte, policy codec.DeflateMode, offer string, bits int) {
	frame := len(codec.NewPreparedFrameDeflate(codec.OpBinary, pmd.DeflateWithin(nil, payload, nil, bits, 1), bits).Bytes())
	measure := func(subs int) float64 {
		n := startNode(t, Config{}, func(c *engine.Config) {
			c.EventLoops = 1
			c.TickInterval = time.Hour
			c.HandshakeTimeout, c.CloseTimeout, c.WriteStallTimeout = 0, 0, 0
			c.Deflate = codec.DeflatePolicy{Mode: policy}
		})
		conns := make([]net.Conn, 0, subs)
		for i := range subs {
			c, err := wstest.Dial(n.addr, &wstest.DialOptions{
				LocalAddr: "127.0.0." + strconv.Itoa(2+i%8),
				Header:    http.Header{"Sec-WebSocket-Extensions": {offer}},
			})
			if err != nil {
				t.Fatalf("dial %d: %v", i, err)
			}
			conns = append(conns, c.Conn)
		}
		subscribeAll(t, n.hub, collectOpens(t, n, subs), "z")
		r := &byteReaders{want: int64(subs * frame), done: make(chan struct{}, 16)}
		for _, c := range conns {
			r.wg.Go(func() { r.read(c) })
		}
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
			r.wg.Wait()
		}()
		timer := time.NewTimer(time.Hour)
		publish := func() {
			if _, err := n.hub.Publish("z", engine.Binary, payload); err != nil {
				t.Fatal(err)
			}
			timer.Reset(10 * time.Second)
			select {
			case <-r.done:
			case <-timer.C:
				t.Fatalf("publish not received: %d of %d bytes", r.total.Load()%r.want, r.want)
			}
		}
		publish() // warm the pools
		// The least of three runs, as checkPublishAllocs: on a busy machine
		// the loop is now and then woken twice for one publish.
		least := math.Inf(1)
		for range 3 {
			least = min(least, testing.AllocsPerRun(100, publish))
		}
		return least
	}
	one, many := measure(1), measure(50)
	t.Logf("allocations per compressed publish: %.1f (1 subscriber), %.1f (50 subscribers)", one, many)
	// The plain frame, the compressed frame, and one loop's wake-up (two
	// allocations in gnet); never one per subscriber.
	if limit := float64(2 + 2); one > limit || many > limit {
		t.Fatalf("allocations per publish: %.1f and %.1f, want at most %.0f", one, many, limit)
	}
}
