package engine

import (
	"bytes"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/codec"
)

func heartbeatConfig(ping, pong time.Duration) func(*Config) {
	return func(c *Config) {
		c.TickInterval = 10 * time.Millisecond
		c.PingInterval = ping
		c.PongTimeout = pong
	}
}

// A client that never answers pings is closed within pong timeout + a tick
// of the ping.
func TestPongTimeoutClosesDeadPeer(t *testing.T) {
	rec := newRecorder()
	_, addr := startServer(t, rec, heartbeatConfig(100*time.Millisecond, 200*time.Millisecond))
	c := dial(t, addr, nil)
	rec.nextOpen(t)
	f, err := c.ReadFrame(2 * time.Second)
	if err != nil || f.Op != ws.OpPing {
		t.Fatalf("want a ping, got %+v %v", f, err)
	}
	pingAt := time.Now()
	// Do not answer.
	if err := c.ExpectEOF(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(pingAt); el < 150*time.Millisecond || el > 200*time.Millisecond+250*time.Millisecond {
		t.Fatalf("closed %v after the ping, want about the 200ms pong timeout", el)
	}
	if ce := rec.nextClose(t); ce.Err != ErrPongTimeout || ce.Code != codec.CloseAbnormal {
		t.Fatalf("OnClose %+v", ce)
	}
}

// A client that answers stays open across at least 20 ping intervals.
func TestAnsweringPeerStaysOpen(t *testing.T) {
	rec := newRecorder()
	_, addr := startServer(t, rec, heartbeatConfig(40*time.Millisecond, 60*time.Millisecond))
	c := dial(t, addr, nil)
	sc := rec.nextOpen(t)
	pings := 0
	deadline := time.Now().Add(10 * time.Second)
	for pings < 25 && time.Now().Before(deadline) {
		f, err := c.ReadFrame(2 * time.Second)
		if err != nil {
			t.Fatalf("after %d pings: %v", pings, err)
		}
		if f.Op != ws.OpPing {
			t.Fatalf("unexpected frame %+v", f)
		}
		pings++
		if err := c.WriteFrame(ws.OpPong, true, f.Payload); err != nil {
			t.Fatal(err)
		}
	}
	if pings < 25 || sc.Closed() {
		t.Fatalf("pings %d, closed %v", pings, sc.Closed())
	}
}

// Any frame from the peer counts as liveness: a busy connection gets no pings.
func TestBusyPeerGetsNoPings(t *testing.T) {
	rec := newRecorder()
	// A 1 s interval: a shorter one is passed by a client goroutine that a
	// loaded machine leaves unscheduled for that long, and then the ping
	// is deserved.
	_, addr := startServer(t, rec, heartbeatConfig(time.Second, time.Second))
	c := dial(t, addr, nil)
	rec.nextOpen(t)
	for range 125 { // 125 × 20ms ≥ 2.5s, two and a half ping intervals
		if err := c.WriteText("tick"); err != nil {
			t.Fatal(err)
		}
		f, err := c.ReadFrame(2 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if f.Op == ws.OpPing {
			t.Fatal("busy connection was pinged")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestIdleTimeoutClosesWithCode(t *testing.T) {
	rec := newRecorder()
	_, addr := startServer(t, rec, func(c *Config) {
		c.TickInterval = 10 * time.Millisecond
		c.IdleTimeout = 200 * time.Millisecond
		c.IdleCloseCode = 4000
	})
	c := dial(t, addr, nil)
	rec.nextOpen(t)
	start := time.Now()
	code, reason, err := c.ExpectClose(3 * time.Second)
	if err != nil || code != 4000 || reason != "idle timeout" {
		t.Fatalf("got %d %q %v", code, reason, err)
	}
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Fatalf("closed after %v", el)
	}
	if ce := rec.nextClose(t); ce.Err != ErrIdleTimeout || ce.Code != 4000 {
		t.Fatalf("OnClose %+v", ce)
	}
}

// Outbound bytes that do not drain at all close the connection.
func TestWriteStallTimeout(t *testing.T) {
	rec := newRecorder()
	rec.noEcho = true
	_, addr := startServer(t, rec, func(c *Config) {
		c.TickInterval = 10 * time.Millisecond
		c.WriteStallTimeout = 300 * time.Millisecond
		c.MaxOutbound = 64 << 20
	})
	c := dial(t, addr, nil)
	sc := rec.nextOpen(t)
	chunk := bytes.Repeat([]byte{'s'}, 64<<10)
	for range 128 { // 8 MiB: far more than the socket buffers hold
		if err := sc.WriteBinary(chunk); err != nil {
			t.Fatal(err)
		}
	}
	// The client reads nothing.
	ce := rec.nextClose(t)
	if ce.Err != ErrWriteStall {
		t.Fatalf("OnClose %+v", ce)
	}
	_ = c.Close()
}

// A pong re-arms the next ping at the ping interval, even when the pong
// timeout is longer than the interval.
func TestPingSpacingFollowsInterval(t *testing.T) {
	rec := newRecorder()
	_, addr := startServer(t, rec, heartbeatConfig(50*time.Millisecond, time.Second))
	c := dial(t, addr, nil)
	rec.nextOpen(t)
	start, pings := time.Now(), 0
	for time.Since(start) < 700*time.Millisecond {
		f, err := c.ReadFrame(2 * time.Second)
		if err != nil || f.Op != ws.OpPing {
			t.Fatalf("want pings, got %+v %v", f, err)
		}
		pings++
		_ = c.WriteFrame(ws.OpPong, true, f.Payload)
	}
	if pings < 7 {
		t.Fatalf("%d pings in %v with a 50ms interval", pings, time.Since(start))
	}
}
