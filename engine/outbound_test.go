package engine

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/internal/region"
)

// TestLargeWriteQueueKeepsOrder: a large reply the socket cannot take
// whole is held by the engine; frames written after it (from the loop and
// from other goroutines, small and large, prepared, a ping) queue behind it
// and arrive in order, and the queue counts as outbound bytes meanwhile.
func TestLargeWriteQueueKeepsOrder(t *testing.T) {
	rec := newRecorder()
	rec.noEcho = true
	srv, addr := startServer(t, rec, func(c *Config) {
		c.SocketSendBuffer = 64 << 10
		c.MaxOutbound = 64 << 20
	})
	c := dial(t, addr, nil)
	sc := rec.nextOpen(t)
	big := pattern(8<<20, 1)
	other := pattern(300<<10, 2)
	queued := make(chan int, 1)
	if err := sc.Loop().Execute(func() {
		_ = sc.WriteBinary(big)
		_ = sc.WriteText([]byte("after big"))
		_ = sc.WriteBinary(other)
		queued <- sc.loop.outboundBuffered(sc)
	}); err != nil {
		t.Fatal(err)
	}
	if n := <-queued; n < 4<<20 {
		t.Fatalf("outbound bytes while the client reads nothing: %d", n)
	}
	for i := range 5 {
		if err := sc.WriteText(fmt.Appendf(nil, "from elsewhere %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := sc.Ping([]byte("behind")); err != nil {
		t.Fatal(err)
	}
	want := [][]byte{big, []byte("after big"), other}
	for i := range 5 {
		want = append(want, fmt.Appendf(nil, "from elsewhere %d", i))
	}
	for i, w := range want {
		_, p, err := c.ReadMessage(10 * time.Second)
		if err != nil || !bytes.Equal(p, w) {
			t.Fatalf("message %d: %d bytes, %v (want %d bytes)", i, len(p), err, len(w))
		}
	}
	f, err := c.ReadFrame(5 * time.Second)
	if err != nil || f.Op != ws.OpPing || string(f.Payload) != "behind" {
		t.Fatalf("ping after the queue: %+v %v", f, err)
	}
	waitFor(t, "queue drained", func() bool {
		done := make(chan int, 1)
		_ = sc.Loop().Execute(func() { done <- sc.loop.outboundBuffered(sc) })
		return <-done == 0
	})
	if st := srv.Stats(); st.BytesOut < uint64(len(big)+len(other)) {
		t.Fatalf("BytesOut %d", st.BytesOut)
	}
}

// TestLargeEchoZeroCopyAndClose: echoing 16 MiB messages to a client that
// reads slowly, and closing connections while replies are still queued,
// gives back every region.
func TestLargeEchoQueuedThenClosed(t *testing.T) {
	rec := newRecorder()
	srv, addr := startServer(t, rec, func(c *Config) {
		largeConfig(c)
		c.SocketSendBuffer = 64 << 10
	})
	before := region.ReadStats()
	for i := range 3 {
		c := dial(t, addr, nil)
		payload := pattern(4<<20, uint64(i))
		if err := c.WriteRaw(maskedFrames(ws.OpBinary, payload, 0)); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			// Read it all, slowly at first.
			time.Sleep(50 * time.Millisecond)
			_, p, err := c.ReadMessage(10 * time.Second)
			if err != nil || !bytes.Equal(p, payload) {
				t.Fatalf("slow read: %d bytes %v", len(p), err)
			}
			continue
		}
		// Close with most of the reply unread.
		buf := make([]byte, 1000)
		if _, err := io.ReadFull(c.Conn, buf); err != nil {
			t.Fatal(err)
		}
		_ = c.Close()
		if ce := rec.nextClose(t); ce == nil {
			t.Fatal("no close report")
		}
	}
	waitFor(t, "budget and queues given back", func() bool {
		st := srv.Stats()
		return st.InboundBuffered == 0 && st.Open == 1
	})
	waitFor(t, "regions given back", func() bool { return region.ReadStats().InUse == before.InUse })
}

// TestWriteStallWithQueuedLargeWrite: a peer that reads nothing while a
// large reply is queued by the engine is cut by the write-stall timeout.
func TestWriteStallWithQueuedLargeWrite(t *testing.T) {
	rec := newRecorder()
	rec.noEcho = true
	_, addr := startServer(t, rec, func(c *Config) {
		c.SocketSendBuffer = 64 << 10
		c.MaxOutbound = 64 << 20
		c.WriteStallTimeout = 300 * time.Millisecond
		c.PingInterval, c.PongTimeout = 0, 0
	})
	c := dial(t, addr, nil)
	_ = c.Conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	sc := rec.nextOpen(t)
	if err := sc.WriteBinary(make([]byte, 8<<20)); err != nil {
		t.Fatal(err)
	}
	ce := rec.nextClose(t)
	if ce.Err != ErrWriteStall {
		t.Fatalf("close: %v, want ErrWriteStall", ce)
	}
}
