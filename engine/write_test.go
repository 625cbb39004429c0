package engine

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/codec"
)

// Writes from other goroutines reach the client, in order per goroutine.
func TestWritesFromOtherGoroutines(t *testing.T) {
	rec := newRecorder()
	rec.noEcho = true
	_, addr := startServer(t, rec, nil)
	c := dial(t, addr, nil)
	sc := rec.nextOpen(t)
	const writers, each = 4, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := sc.WriteText(fmt.Appendf(nil, "%d:%d", w, i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	next := make([]int, writers)
	for range writers * each {
		_, p, err := c.ReadMessage(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var w, i int
		if _, err := fmt.Sscanf(string(p), "%d:%d", &w, &i); err != nil || next[w] != i {
			t.Fatalf("message %q out of order (want %d from writer %d)", p, next[w], w)
		}
		next[w]++
	}
	wg.Wait()
	f := codec.NewPreparedFrame(codec.OpBinary, []byte("shared"))
	for range 3 {
		if err := sc.WritePrepared(f); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if op, p, err := c.ReadMessage(5 * time.Second); err != nil || op != ws.OpBinary || string(p) != "shared" {
			t.Fatalf("prepared: %v %q %v", op, p, err)
		}
	}
	if err := sc.Ping([]byte("p")); err != nil {
		t.Fatal(err)
	}
	if fr, err := c.ReadFrame(5 * time.Second); err != nil || fr.Op != ws.OpPing || string(fr.Payload) != "p" {
		t.Fatalf("ping: %+v %v", fr, err)
	}
	if err := sc.Ping(make([]byte, 126)); err != ErrControlTooLong {
		t.Fatalf("long ping: %v", err)
	}
	sc.SetValue("a")
	sc.SetValue(42) // another type, then nil: never a panic
	sc.SetValue(nil)
	if sc.Value() != nil {
		t.Fatalf("Value %v after SetValue(nil)", sc.Value())
	}
	_ = c.Close()
	rec.nextClose(t)
	for _, err := range []error{sc.WriteText([]byte("x")), sc.WritePrepared(f), sc.Close(codec.CloseNormal, ""), sc.Abort()} {
		if err != ErrClosed {
			t.Fatalf("after close: %v, want ErrClosed", err)
		}
	}
}

// A client that stops reading: its outbound bytes stop at the limit and the
// policy applies, while other connections go on.
func TestOutboundLimitPolicies(t *testing.T) {
	for _, policy := range []OutboundPolicy{PolicyDrop, PolicyClose} {
		t.Run(policy.String(), func(t *testing.T) {
			rec := newRecorder()
			rec.noEcho = true
			srv, addr := startServer(t, rec, func(c *Config) {
				c.MaxOutbound = 256 << 10
				c.OutboundPolicy = policy
				c.CloseTimeout = 3 * time.Second
			})
			slow := dial(t, addr, nil)
			sc := rec.nextOpen(t)
			chunk := bytes.Repeat([]byte{'x'}, 32<<10)
			var firstErr error
			for i := 0; i < 4000 && firstErr == nil; i++ { // bounded: 128 MiB at most
				firstErr = sc.WriteBinary(chunk)
			}
			if firstErr != ErrOutboundFull {
				t.Fatalf("writes past the limit: %v, want ErrOutboundFull", firstErr)
			}
			if policy == PolicyDrop {
				if sc.Closed() {
					t.Fatal("PolicyDrop closed the connection")
				}
				waitFor(t, "drop counted", func() bool { return srv.Stats().Dropped > 0 })
				_ = slow.Close()
				return
			}
			// The reader wakes up: behind the backlog it finds close 1008.
			code, reason, err := slow.ExpectClose(10 * time.Second)
			if err != nil || code != 1008 || reason != "outbound limit" {
				t.Fatalf("slow reader saw close %d %q %v, want 1008", code, reason, err)
			}
			ce := rec.nextClose(t)
			if ce.Code != codec.ClosePolicyViolation || ce.Err != ErrOutboundFull {
				t.Fatalf("OnClose %+v", ce)
			}
		})
	}
}

// Shutdown sends 1001 to every connection and waits for their answers.
func TestShutdownSendsGoingAway(t *testing.T) {
	rec := newRecorder()
	srv, addr := startServer(t, rec, nil)
	clients := make([]chan error, 20)
	for i := range clients {
		c := dial(t, addr, nil)
		ch := make(chan error, 1)
		clients[i] = ch
		go func() {
			code, _, err := c.ExpectClose(10 * time.Second)
			if err == nil && code != 1001 {
				err = fmt.Errorf("close code %d, want 1001", code)
			}
			ch <- err
		}()
	}
	waitFor(t, "all open", func() bool { return srv.Stats().Accepted == uint64(len(clients)) })
	ctx, cancel := contextWithTimeout(10 * time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, ch := range clients {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
	if _, err := dialErr(addr); err == nil {
		t.Fatal("server still accepts after Shutdown")
	}
}

func TestStatsCount(t *testing.T) {
	rec := newRecorder()
	srv, addr := startServer(t, rec, nil)
	c := dial(t, addr, nil)
	_ = c.WriteText("hi")
	if _, _, err := c.ReadMessage(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	_ = c.WriteClose(1000, "")
	rec.nextClose(t)
	st := srv.Stats()
	if st.Accepted != 1 || st.MessagesIn != 1 || st.BytesIn != 2 || st.MessagesOut < 1 || st.Closes[codec.CloseNormal] != 1 || st.MaxConns <= 0 {
		t.Fatalf("stats %+v", st)
	}
}

// A small SO_SNDBUF makes MaxOutbound bite after little more than the two
// buffers, instead of after megabytes the kernel would soak up.
func TestSocketSendBufferBoundsSlowReader(t *testing.T) {
	rec := newRecorder()
	rec.noEcho = true
	_, addr := startServer(t, rec, func(c *Config) {
		c.SocketSendBuffer = 16 << 10
		c.MaxOutbound = 64 << 10
		c.OutboundPolicy = PolicyDrop
	})
	slow := dial(t, addr, nil)
	_ = slow.Conn.(interface{ SetReadBuffer(int) error }).SetReadBuffer(16 << 10)
	sc := rec.nextOpen(t)
	chunk := bytes.Repeat([]byte{'x'}, 4<<10)
	result := make(chan int, 1)
	// Write on the connection's loop, so the socket and gnet's buffer (not
	// the hand-off queue) take the bytes.
	_ = sc.Loop().Execute(func() {
		sent := 0
		for sent < 64<<20 && sc.WriteBinary(chunk) == nil {
			sent += len(chunk)
		}
		result <- sent
	})
	sent := <-result
	if sent > 2<<20 {
		t.Fatalf("%d KiB accepted before the limit applied", sent>>10)
	}
	t.Logf("limit applied after %d KiB", sent>>10)
}
