package engine

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/region"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// largeConfig admits 16 MiB messages with the rate limits off.
func largeConfig(c *Config) {
	c.MaxMessageSize = 32 << 20
	c.MaxOutbound = 64 << 20
	c.MaxMessagesPerSecond = 0
	c.MaxBytesPerSecond = 0
}

// pattern is n bytes of printable ASCII that differ along the message, so a
// byte out of place shows.
func pattern(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(r.IntN(26))
	}
	return b
}

// maskedFrames encodes payload as masked client frames of at most frag
// bytes each (one frame when frag <= 0).
func maskedFrames(op ws.OpCode, payload []byte, frag int) []byte {
	if frag <= 0 || frag >= len(payload) {
		return wstest.EncodeFrame(op, true, 0, true, payload)
	}
	var out []byte
	for i := 0; i < len(payload); i += frag {
		end := min(i+frag, len(payload))
		o := ws.OpContinuation
		if i == 0 {
			o = op
		}
		out = append(out, wstest.EncodeFrame(o, end == len(payload), 0, true, payload[i:end])...)
	}
	return out
}

// writeChunks writes p in random chunk sizes from 1 byte to max bytes.
func writeChunks(t *testing.T, c *wstest.Client, p []byte, maxChunk int, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 2))
	for len(p) > 0 {
		n := min(1+r.IntN(maxChunk), len(p))
		if err := c.WriteRaw(p[:n]); err != nil {
			t.Fatalf("write: %v", err)
		}
		p = p[n:]
	}
}

func TestLargeMessageEcho(t *testing.T) {
	const size = 16 << 20
	_, addr := startServer(t, newRecorder(), largeConfig)
	tests := []struct {
		name  string
		op    ws.OpCode
		frag  int // fragment size; 0: one frame
		chunk int // write in random chunks up to this size; 0: one write
	}{
		{"text, one frame", ws.OpText, 0, 0},
		{"binary, one frame", ws.OpBinary, 0, 0},
		{"text, 1000 fragments", ws.OpText, size/1000 + 1, 0},
		{"binary, 1000 fragments", ws.OpBinary, size/1000 + 1, 0},
		{"text, one frame dribbled", ws.OpText, 0, 100 << 10},
		{"binary, 1000 fragments dribbled", ws.OpBinary, size/1000 + 1, 50 << 10},
		{"binary, one frame in tiny chunks", ws.OpBinary, 0, 7},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := size
			if tc.chunk > 0 && tc.chunk < 100 {
				n = 256 << 10 // tiny chunks: a smaller message keeps the test quick
			}
			payload := pattern(n, uint64(i))
			c := dial(t, addr, nil)
			wire := maskedFrames(tc.op, payload, tc.frag)
			done := make(chan struct{})
			go func() {
				defer close(done)
				if tc.chunk > 0 {
					writeChunks(t, c, wire, tc.chunk, uint64(i))
				} else if err := c.WriteRaw(wire); err != nil {
					t.Errorf("write: %v", err)
				}
			}()
			op, got, err := c.ReadMessage(30 * time.Second)
			<-done
			if err != nil {
				t.Fatalf("read echo: %v", err)
			}
			if op != tc.op || !bytes.Equal(got, payload) {
				t.Fatalf("echo differs: op %v, %d bytes (want %v, %d)", op, len(got), tc.op, len(payload))
			}
		})
	}
}

// TestInvalidUTF8MidFrame: a 4 MiB text frame with an invalid byte after
// its first MiB is closed with 1007 as soon as that byte arrives, before
// the rest is sent.
func TestInvalidUTF8MidFrame(t *testing.T) {
	rec := newRecorder()
	_, addr := startServer(t, rec, largeConfig)
	for _, at := range []int{1, 1 << 20, 3<<20 + 12345} {
		payload := pattern(4<<20, 7)
		payload[at] = 0xff
		wire := maskedFrames(ws.OpText, payload, 0)
		c := dial(t, addr, nil)
		sent := at + 64<<10 + codec.MaxHeaderSize // well short of the 4 MiB
		if err := c.WriteRaw(wire[:sent]); err != nil {
			t.Fatalf("write: %v", err)
		}
		code, _, err := c.ExpectClose(5 * time.Second)
		if err != nil || code != 1007 {
			t.Fatalf("invalid byte at %d: close %d, %v; want 1007", at, code, err)
		}
		_ = c.Close()
		if ce := rec.nextClose(t); ce.Code != codec.CloseInvalidPayload {
			t.Fatalf("OnClose: %v", ce)
		}
	}
}

// stall opens a connection that sends the first size-1 bytes of a size
// byte binary frame (or, with frag > 0, fragments of frag bytes of a
// message that never ends) and returns it.
func stall(t *testing.T, addr string, size, frag int) *wstest.Client {
	t.Helper()
	c := dial(t, addr, nil)
	wire := maskedFrames(ws.OpBinary, make([]byte, size), frag)
	if err := c.WriteRaw(wire[:len(wire)-1]); err != nil {
		var ne net.Error
		if !errors.As(err, &ne) {
			t.Logf("stall write: %v", err) // closed by the server meanwhile
		}
	}
	return c
}

// TestInboundBudget: stalled partial messages fill the server-wide budget;
// the connections past it are closed with 1013, a healthy connection keeps
// echoing, the budget is never passed, and it is all given back when the
// stalled connections go.
func TestInboundBudget(t *testing.T) {
	const (
		msg    = 1 << 20
		budget = 5*msg + msg/2
		n      = 12
	)
	for _, frag := range []int{0, 64 << 10} {
		rec := newRecorder()
		srv, addr := startServer(t, rec, func(c *Config) {
			c.MaxMessageSize = msg
			c.InboundBudget = budget
			c.MaxMessagesPerSecond = 0
			c.MaxBytesPerSecond = 0
		})
		healthy := dial(t, addr, nil)
		var stalled []*wstest.Client
		for range n {
			stalled = append(stalled, stall(t, addr, msg, frag))
			// The healthy connection echoes while the budget fills.
			if err := healthy.WriteText("ping"); err != nil {
				t.Fatal(err)
			}
			if _, p, err := healthy.ReadMessage(5 * time.Second); err != nil || string(p) != "ping" {
				t.Fatalf("healthy echo: %q %v", p, err)
			}
		}
		// Five fit whole (5 MiB less 5 bytes); the sixth is refused when its
		// bytes pass 5.5 MiB, and so is every later one.
		refused := 0
		for _, c := range stalled {
			code, _, err := c.ExpectClose(300 * time.Millisecond)
			if err == nil && code == 1013 {
				refused++
			}
		}
		if refused != n-5 {
			t.Fatalf("frag %d: %d connections closed with 1013, want %d", frag, refused, n-5)
		}
		st := srv.Stats()
		if st.BudgetRefused != uint64(n-5) || st.InboundBufferedPeak > budget || st.InboundBuffered != 5*(msg-1) {
			t.Fatalf("frag %d: stats refused=%d peak=%d buffered=%d", frag, st.BudgetRefused, st.InboundBufferedPeak, st.InboundBuffered)
		}
		for _, c := range stalled {
			_ = c.Close()
		}
		waitFor(t, "budget given back", func() bool { return srv.Stats().InboundBuffered == 0 })
		if err := healthy.WriteText("after"); err != nil {
			t.Fatal(err)
		}
		if _, p, err := healthy.ReadMessage(5 * time.Second); err != nil || string(p) != "after" {
			t.Fatalf("healthy echo after: %q %v", p, err)
		}
	}
}

// TestLargeReplyBoundedByMaxOutbound: one reply larger than MaxOutbound
// goes out (a connection with nothing pending takes one message), a second
// while it is pending is refused under PolicyDrop.
func TestLargeReplyBoundedByMaxOutbound(t *testing.T) {
	results := make(chan error, 2)
	_, addr := startServer(t, Handlers{Message: func(c *Conn, _ MessageType, _ []byte) {
		big := make([]byte, 16<<20)
		results <- c.WriteBinary(big)
		results <- c.WriteBinary(big)
	}}, func(c *Config) {
		c.MaxOutbound = 4 << 20
		c.OutboundPolicy = PolicyDrop
		c.SocketSendBuffer = 64 << 10
	})
	c := dial(t, addr, nil)
	if err := c.WriteText("go"); err != nil {
		t.Fatal(err)
	}
	if err := <-results; err != nil {
		t.Fatalf("first 16 MiB reply: %v", err)
	}
	if err := <-results; !errors.Is(err, ErrOutboundFull) {
		t.Fatalf("second 16 MiB reply while the first is pending: %v, want ErrOutboundFull", err)
	}
	_, p, err := c.ReadMessage(10 * time.Second)
	if err != nil || len(p) != 16<<20 {
		t.Fatalf("read reply: %d bytes, %v", len(p), err)
	}
}

// TestPeerGoneMidFrame: a peer that closes TCP in the middle of a large
// frame (read straight into its message buffer) is reported as lost, and
// its bytes and buffer are given back.
func TestPeerGoneMidFrame(t *testing.T) {
	rec := newRecorder()
	srv, addr := startServer(t, rec, largeConfig)
	before := region.ReadStats().InUse
	for _, part := range []int{100 << 10, 2 << 20} {
		c := dial(t, addr, nil)
		wire := maskedFrames(ws.OpBinary, make([]byte, 4<<20), 0)
		if err := c.WriteRaw(wire[:part]); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "bytes buffered", func() bool { return srv.Stats().InboundBuffered >= int64(part-codec.MaxHeaderSize) })
		_ = c.Close()
		ce := rec.nextClose(t)
		if ce.Code != codec.CloseAbnormal || !ce.Remote {
			t.Fatalf("after %d bytes: %v", part, ce)
		}
		waitFor(t, "budget given back", func() bool { return srv.Stats().InboundBuffered == 0 })
		waitFor(t, "region given back", func() bool { return region.ReadStats().InUse == before })
	}
}
