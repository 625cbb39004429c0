package engine

import (
	"context"
	"time"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/timerwheel"
)

// Every timeout of a connection shares one timer entry embedded in the
// Conn: the entry is armed for the earliest deadline that applies in the
// connection's state, and on firing the loop works out which one it was.
// Activity only stamps a tick counter; the timer re-arms lazily when it
// fires and finds the connection busy, so traffic costs no timer work.

// ticks converts a duration to wheel ticks, rounding up.
func (l *loop) ticks(d time.Duration) uint32 {
	t := l.srv.cfg.TickInterval
	return uint32((d + t - 1) / t)
}

// armHeartbeat schedules the first heartbeat check of an open connection.
func (l *loop) armHeartbeat(c *Conn) {
	if d, ok := l.nextHeartbeat(c, l.tick()); ok {
		l.schedule(c, d)
	} else {
		l.wheel.Cancel(&c.timer)
	}
}

// nextHeartbeat is the time until the earliest heartbeat deadline of c.
func (l *loop) nextHeartbeat(c *Conn, now uint32) (time.Duration, bool) {
	cfg := &l.srv.cfg
	best, ok := uint32(0), false
	consider := func(at uint32) {
		d := at - now
		if int32(d) < 1 {
			d = 1
		}
		if !ok || d < best {
			best, ok = d, true
		}
	}
	if c.awaitPong && cfg.PongTimeout > 0 {
		consider(c.lastRecv + l.ticks(cfg.PongTimeout)) // lastRecv: when the ping went out
	} else if cfg.PingInterval > 0 && !c.awaitPong {
		consider(c.lastRecv + l.ticks(cfg.PingInterval))
	}
	if cfg.IdleTimeout > 0 {
		consider(c.extension().lastMessage + l.ticks(cfg.IdleTimeout))
	}
	if e := c.ext.Load(); cfg.WriteStallTimeout > 0 && e != nil && e.stallWatch {
		consider(e.stallMark + l.ticks(cfg.WriteStallTimeout))
	}
	return time.Duration(best) * cfg.TickInterval, ok
}

// schedule arms c's timer to fire after d.
func (l *loop) schedule(c *Conn, d time.Duration) {
	l.wheel.Schedule(&c.timer, d)
}

// scheduleSooner arms c's timer for d unless it is already due earlier.
func (l *loop) scheduleSooner(c *Conn, d time.Duration) {
	if left, ok := l.wheel.Remaining(&c.timer); !ok || d < left {
		l.schedule(c, d)
	}
}

// watchStall starts the write-stall clock when a write leaves bytes queued.
func (l *loop) watchStall(c *Conn) {
	d := l.srv.cfg.WriteStallTimeout
	if d <= 0 || c.state != stateOpen {
		return
	}
	pending := l.outboundBuffered(c)
	if pending == 0 {
		return
	}
	e := c.extension()
	if e.stallWatch {
		return
	}
	// Count from here: everything pending counts as written, none as sent.
	e.stallWatch = true
	e.written = uint32(pending)
	e.stallMark, e.stallSent = l.tick(), 0
	l.scheduleSooner(c, d)
}

// onTimer runs on the loop when c's timer fires.
func (l *loop) onTimer(t *timerwheel.Timer[struct{}]) {
	c := connOfTimer(t)
	switch c.state {
	case stateHandshake:
		l.stats.reject(rejectHandshakeTimeout)
		l.srv.logOnce(c, "websocket handshake timeout")
		l.abort(c, &CloseError{Code: codec.CloseAbnormal, Err: ErrHandshakeTimeout})
	case stateClosing, stateFailing:
		e := c.extension()
		if e.closeReport.Err == nil {
			report := *e.closeReport
			report.Err = ErrCloseTimeout
			e.closeReport = &report
		}
		l.abort(c, e.closeReport)
	case stateOpen:
		l.heartbeat(c)
	}
}

// heartbeat checks every deadline of an open connection, acts on the one
// that passed and re-arms for the next.
func (l *loop) heartbeat(c *Conn) {
	cfg := &l.srv.cfg
	now := l.tick()
	if c.awaitPong && cfg.PongTimeout > 0 && now-c.lastRecv >= l.ticks(cfg.PongTimeout) {
		if cfg.WriteStallTimeout > 0 && l.outboundBuffered(c) > 0 {
			// The ping may still sit behind a large reply the peer is
			// reading slowly: give it another pong timeout. A peer that
			// reads nothing at all is caught by the write-stall timeout.
			c.lastRecv = now
		} else {
			l.abort(c, &CloseError{Code: codec.CloseAbnormal, Reason: "pong timeout", Err: ErrPongTimeout})
			return
		}
	}
	if cfg.IdleTimeout > 0 && now-c.extension().lastMessage >= l.ticks(cfg.IdleTimeout) {
		_ = l.startClose(c, cfg.IdleCloseCode, "idle timeout", ErrIdleTimeout)
		return
	}
	if cfg.WriteStallTimeout > 0 {
		e := c.ext.Load()
		pending := l.outboundBuffered(c)
		switch {
		case e == nil || !e.stallWatch:
		case pending == 0:
			e.stallWatch = false
		case e.written-uint32(pending) != e.stallSent:
			e.stallMark, e.stallSent = now, e.written-uint32(pending)
		case now-e.stallMark >= l.ticks(cfg.WriteStallTimeout):
			l.abort(c, &CloseError{Code: codec.ClosePolicyViolation, Reason: "write stalled", Err: ErrWriteStall})
			return
		}
	}
	if cfg.PingInterval > 0 && !c.awaitPong && now-c.lastRecv >= l.ticks(cfg.PingInterval) {
		l.writeControl(c, codec.OpPing, nil)
		if c.state != stateOpen {
			return
		}
		// lastRecv now dates the ping: the pong deadline counts from it,
		// and without a pong timeout the next ping is one interval later.
		c.lastRecv = now
		c.awaitPong = cfg.PongTimeout > 0
	}
	l.armHeartbeat(c)
}

// tickRunner advances the loop's wheel; handed to the loop by OnTick.
type tickRunner loop

func (t *tickRunner) Run(context.Context) error {
	l := (*loop)(t)
	l.enter()
	l.wheel.Advance(time.Now(), l.onTimer)
	l.tlsSweep()
	return nil
}
