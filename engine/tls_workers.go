package engine

import (
	"sync"
	"sync/atomic"
)

// Handshake goroutines are kept for the next handshake for a while: a
// TLS 1.3 server handshake with the post-quantum key exchange runs on a
// stack of tens of KB, which a fresh goroutine reaches by growing and
// copying its stack several times (runtime.copystack: ~3% of the CPU of a
// resumed handshake). A goroutine that finished a handshake waits for the
// next one — at most Config.TLSHandshakeWorkers wait at once — and leaves
// after a whole tick (TickInterval) without one, so an idle server keeps
// none. Shutdown sends every waiting one away.

// hsWorker is a handshake goroutine waiting in the pool.
type hsWorker struct {
	next chan *tlsPipe // 1-buffered: the next handshake, nil to leave
	used bool          // parked since the last sweep (hsPool.mu)
}

// hsPool is the handshake goroutines waiting for work.
type hsPool struct {
	mu     sync.Mutex
	idle   []*hsWorker // most recently parked last
	max    int
	closed bool
	// started counts the goroutines started (tests).
	started atomic.Uint64
}

// startHandshake runs p's handshake on a waiting goroutine, or a new one.
func (s *Server) startHandshake(p *tlsPipe) {
	pl := &s.tls.pool
	pl.mu.Lock()
	if n := len(pl.idle); n > 0 {
		w := pl.idle[n-1]
		pl.idle[n-1] = nil
		pl.idle = pl.idle[:n-1]
		pl.mu.Unlock()
		w.next <- p // never blocks: out of idle, w gets one send only
		return
	}
	pl.mu.Unlock()
	pl.started.Add(1)
	go s.handshakeWorker(p)
}

// handshakeWorker runs handshakes until the pool sends it away.
func (s *Server) handshakeWorker(p *tlsPipe) {
	var w *hsWorker
	for p != nil {
		s.runTLSHandshake(p)
		if w == nil {
			w = &hsWorker{next: make(chan *tlsPipe, 1)}
		}
		if !s.tls.pool.park(w) {
			return
		}
		p = <-w.next
	}
}

// park adds w to the waiting goroutines; false when enough wait already
// or the server is shutting down.
func (pl *hsPool) park(w *hsWorker) bool {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.closed || len(pl.idle) >= pl.max {
		return false
	}
	w.used = true
	pl.idle = append(pl.idle, w)
	return true
}

// sweep runs on every tick: goroutines that waited a whole tick leave.
func (pl *hsPool) sweep() {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.idle = keepUsed(pl.idle, func(w *hsWorker) *bool { return &w.used }, func(w *hsWorker) { w.next <- nil })
}

// close sends every waiting goroutine away and keeps new ones from
// waiting.
func (pl *hsPool) close() {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.closed = true
	for _, w := range pl.idle {
		w.next <- nil
	}
	pl.idle = nil
}

// waiting is the number of goroutines in the pool (tests).
func (pl *hsPool) waiting() int {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return len(pl.idle)
}
