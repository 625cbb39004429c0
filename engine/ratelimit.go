package engine

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/switchboard-ws/switchboard/codec"
)

// Inbound rate limits: two token buckets per connection, refilled lazily
// from a millisecond clock when a message arrives. No goroutine or timer.

// clock reads the loop's clock once: in ticks (timeouts) and in
// milliseconds (rate limits).
func (l *loop) clock() (tick, ms uint32) {
	d := time.Since(l.start)
	return uint32(d / l.srv.cfg.TickInterval), uint32(d / time.Millisecond)
}

// admitMessage takes one message of n bytes from c's buckets and reports
// whether it is within the limits.
func (l *loop) admitMessage(c *Conn, n int, nowMs uint32) bool {
	cfg := &l.srv.cfg
	if cfg.MaxMessagesPerSecond == 0 && cfg.MaxBytesPerSecond == 0 {
		return true
	}
	e := c.extension()
	if !e.rateSet { // the first message finds full buckets
		e.rateSet, e.rateLast = true, nowMs
		e.rateMsgs, e.rateBytes = int32(cfg.MessageBurst*1000), int32(cfg.ByteBurst)
	}
	elapsed := int64(nowMs - e.rateLast)
	e.rateLast = nowMs
	ok := true
	if r := cfg.MaxMessagesPerSecond; r > 0 {
		// milli-messages: r messages per second is r milli-messages per ms.
		tokens := min(int64(e.rateMsgs)+elapsed*int64(r), int64(cfg.MessageBurst)*1000)
		if tokens >= 1000 {
			tokens -= 1000
		} else {
			ok = false
		}
		e.rateMsgs = int32(tokens)
	}
	if r := cfg.MaxBytesPerSecond; r > 0 {
		tokens := min(int64(e.rateBytes)+elapsed*int64(r)/1000, int64(cfg.ByteBurst))
		if tokens >= int64(n) {
			tokens -= int64(n)
		} else {
			ok = false
		}
		e.rateBytes = int32(tokens)
	}
	return ok
}

// overRate applies RatePolicy to a message over the limits: the message is
// not delivered, and under PolicyClose the connection is closed with 1008.
func (l *loop) overRate(c *Conn) {
	l.stats.rateLimited.Add(1)
	if l.srv.cfg.RatePolicy == PolicyDrop {
		return
	}
	l.sendClose(c, codec.ClosePolicyViolation, "rate limit")
	l.abort(c, &CloseError{Code: codec.ClosePolicyViolation, Reason: "rate limit", Err: ErrRateLimited})
}

// admission guards new connections: per-IP counts and the server-wide
// handshake rate. Touched on accept and close only.
type admission struct {
	mu     sync.Mutex
	perIP  map[netip.Addr]int32
	tokens float64
	last   time.Time
}

// admit reports whether a new connection from addr may proceed, and the
// HTTP status to refuse it with otherwise.
func (s *Server) admit(addr net.Addr) (status int, reason rejectReason, ok bool) {
	cfg := &s.cfg
	if cfg.MaxConnsPerIP == 0 && cfg.MaxHandshakesPerSecond == 0 {
		return 0, 0, true
	}
	a := &s.admission
	a.mu.Lock()
	defer a.mu.Unlock()
	if r := cfg.MaxHandshakesPerSecond; r > 0 {
		now := time.Now()
		if a.last.IsZero() {
			a.tokens = float64(r)
		} else {
			a.tokens = min(a.tokens+now.Sub(a.last).Seconds()*float64(r), float64(r))
		}
		a.last = now
		if a.tokens < 1 {
			return 503, rejectHandshakeRate, false
		}
		a.tokens--
	}
	if cfg.MaxConnsPerIP > 0 {
		ip, ok := ipOf(addr)
		if !ok {
			return 0, 0, true
		}
		if a.perIP == nil {
			a.perIP = make(map[netip.Addr]int32)
		}
		if int(a.perIP[ip]) >= cfg.MaxConnsPerIP {
			return 429, rejectPerIP, false
		}
		a.perIP[ip]++
	}
	return 0, 0, true
}

// release undoes admit's per-IP count when a connection closes.
func (s *Server) release(addr net.Addr) {
	if s.cfg.MaxConnsPerIP == 0 {
		return
	}
	ip, ok := ipOf(addr)
	if !ok {
		return
	}
	a := &s.admission
	a.mu.Lock()
	if n := a.perIP[ip] - 1; n > 0 {
		a.perIP[ip] = n
	} else {
		delete(a.perIP, ip)
	}
	a.mu.Unlock()
}

func ipOf(addr net.Addr) (netip.Addr, bool) {
	if ta, ok := addr.(*net.TCPAddr); ok {
		ip, ok := netip.AddrFromSlice(ta.IP)
		return ip.Unmap(), ok
	}
	return netip.Addr{}, false
}
