package engine

import (
	"context"
	"testing"
	"time"
)

// TestHandshakePoolBounds checks the pool alone: at most max goroutines
// wait; a sweep sends away those that waited a whole tick and keeps
// those parked since the previous one; close sends every one away and
// keeps new ones from waiting.
func TestHandshakePoolBounds(t *testing.T) {
	pl := hsPool{max: 2}
	ws := []*hsWorker{{next: make(chan *tlsPipe, 1)}, {next: make(chan *tlsPipe, 1)}, {next: make(chan *tlsPipe, 1)}}
	if !pl.park(ws[0]) || !pl.park(ws[1]) || pl.park(ws[2]) {
		t.Fatal("park past max")
	}
	pl.sweep() // both parked since the last sweep: kept
	if pl.waiting() != 2 || len(ws[0].next) != 0 {
		t.Fatal("a fresh goroutine was sent away")
	}
	pl.sweep() // a whole tick idle: both leave
	for i, w := range ws[:2] {
		if p, ok := <-w.next; !ok || p != nil || pl.waiting() != 0 {
			t.Fatalf("worker %d was not sent away", i)
		}
	}
	if pl.idle != nil {
		t.Fatal("an empty pool keeps its slice")
	}
	if !pl.park(ws[2]) {
		t.Fatal("park after the sweep")
	}
	pl.close()
	if p := <-ws[2].next; p != nil || pl.waiting() != 0 || pl.park(ws[0]) {
		t.Fatal("close left a goroutine waiting or let one park")
	}
}

// TestHandshakePoolReuse checks that handshakes one after another reuse
// the goroutine of the one before, that the waiting goroutines leave
// once handshakes stop, and that shutdown sends them away.
func TestHandshakePoolReuse(t *testing.T) {
	srv, addr := startTLS(t, Handlers{Message: func(c *Conn, typ MessageType, data []byte) { _ = c.WriteMessage(typ, data) }}, func(c *Config) {
		c.TickInterval = 50 * time.Millisecond
		c.TLSHandshakeWorkers = 4
	})
	pl := &srv.tls.pool
	for i := range 20 {
		c := dialTLS(t, addr, 0)
		if err := c.WriteText("x"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.ReadMessage(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		c.Close()
		if i == 0 {
			waitFor(t, "the handshake goroutine to wait in the pool", func() bool { return pl.waiting() > 0 })
		}
	}
	if n := pl.started.Load(); n > 3 {
		t.Fatalf("20 handshakes one after another started %d goroutines", n)
	}
	waitFor(t, "the idle pool to empty", func() bool { return pl.waiting() == 0 })
	// Shutdown: a goroutine that waits then is sent away, and none waits after.
	c := dialTLS(t, addr, 0)
	c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	waitFor(t, "shutdown to close the pool", func() bool {
		pl.mu.Lock()
		defer pl.mu.Unlock()
		return pl.closed && len(pl.idle) == 0
	})
}
