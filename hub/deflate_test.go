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

// A publish reaches subscribers with and without deflate: compressed (one
// shared frame) to those with server_no_context_takeover, plain to the
// others, and plain to everyone below the threshold.
func TestPublishDeflate(t *testing.T) {
	n := startNode(t, Config{}, func(c *engine.Config) {
		c.Deflate = codec.DeflatePolicy{Mode: codec.DeflateContextTakeover}
		c.DeflateThreshold = 64
	})
	plain, pc := n.joinOffer(t, "", "room")
	shared1, s1 := n.joinOffer(t, "permessage-deflate; server_no_context_takeover", "room")
	shared2, s2 := n.joinOffer(t, "permessage-deflate; server_no_context_takeover; client_no_context_takeover", "room")
	takeover, tc := n.joinOffer(t, "permessage-deflate; client_max_window_bits", "room")
	if pc.Deflate() || !s1.SharedDeflate() || !s2.SharedDeflate() || !tc.Deflate() || tc.SharedDeflate() {
		t.Fatalf("negotiated: plain %v, shared %v %v, takeover %v/%v",
			pc.Deflate(), s1.SharedDeflate(), s2.SharedDeflate(), tc.Deflate(), tc.SharedDeflate())
	}
	big := []byte(strings.Repeat(`{"user":"ann","text":"hello, room"} `, 40))
	for i, c := range []struct {
		typ     engine.MessageType
		payload []byte
	}{
		{engine.Text, big},
		{engine.Binary, big},
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
		for j, cl := range []*wstest.Client{plain, shared1, shared2, takeover} {
			op, msg, z := recvDeflate(t, cl)
			wantZ := long && (j == 1 || j == 2)
			if op != wantOp || !bytes.Equal(msg, c.payload) || z != wantZ {
				t.Fatalf("publish %d, client %d: op %v, %d bytes (want %d), compressed %v (want %v)",
					i, j, op, len(msg), len(c.payload), z, wantZ)
			}
		}
	}
	// A compressed prepared frame is refused where it cannot be shared.
	zf := codec.NewPreparedFrameRSV(codec.OpText, 0b100, pmd.Deflate(nil, big, nil))
	if err := pc.WritePrepared(zf); err != engine.ErrNoSharedDeflate {
		t.Fatalf("WritePrepared(compressed) without deflate: %v", err)
	}
	if err := tc.WritePrepared(zf); err != engine.ErrNoSharedDeflate {
		t.Fatalf("WritePrepared(compressed) with context takeover: %v", err)
	}
	expectSilence(t, plain)
	expectSilence(t, takeover)
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
	frame := len(codec.NewPreparedFrameRSV(codec.OpBinary, 0b100, pmd.Deflate(nil, payload, nil)).Bytes())
	measure := func(subs int) float64 {
		n := startNode(t, Config{}, func(c *engine.Config) {
			c.EventLoops = 1
			c.TickInterval = time.Hour
			c.HandshakeTimeout, c.CloseTimeout, c.WriteStallTimeout = 0, 0, 0
			c.Deflate = codec.DeflatePolicy{Mode: codec.DeflateNoContextTakeover}
		})
		conns := make([]net.Conn, 0, subs)
		for i := range subs {
			c, err := wstest.Dial(n.addr, &wstest.DialOptions{
				LocalAddr: "127.0.0." + strconv.Itoa(2+i%8),
				Header:    http.Header{"Sec-WebSocket-Extensions": {"permessage-deflate"}},
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
