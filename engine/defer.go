package engine

import (
	"errors"
	"slices"
	"sync/atomic"
	"time"

	"github.com/switchboard-ws/switchboard/codec"
)

// Deferred upgrade decisions: an upgrade hook that needs I/O (a session in
// Redis, an auth service) calls UpgradeRequest.Defer and returns at once;
// another goroutine answers later with Decision.Accept or Decision.Reject.
//
// What runs where:
//   - the hook and Defer run on the event loop (the engine's own listener)
//     or in the request's goroutine (Server.UpgradeHTTP);
//   - Accept and Reject run on any goroutine: they record the answer and
//     hand it to the connection's loop (one task), which writes the 101 and
//     runs OnOpen, or writes the refusal and closes;
//   - while the decision is pending the connection stays parked on its loop
//     in the handshake state: no goroutine or timer of ours, the bytes the
//     client sends meanwhile (its first frames) wait unread in gnet's
//     inbound buffer, and the Decision holds a copy of what the completion
//     needs (the key, the offered subprotocols, path, query, kept headers).
//
// Bounds: HandshakeTimeout still applies (a pending decision is cancelled
// when it fires), Config.MaxPendingUpgrades caps pending decisions
// server-wide (past it the handshake is answered 503 with Retry-After,
// counted in Stats.Rejected["pending_upgrades"]), and bytes held behind a
// pending request head are capped at MaxHeadSize (past it: 431).

// Errors of deferred upgrade decisions.
var (
	// ErrTooManyPendingUpgrades is returned by Defer when
	// Config.MaxPendingUpgrades decisions are pending; the handshake is
	// then answered 503 with Retry-After whatever the hook returns.
	ErrTooManyPendingUpgrades = errors.New("engine: too many pending upgrade decisions")
	// ErrAlreadyDecided is returned by Accept or Reject after the first call.
	ErrAlreadyDecided = errors.New("engine: upgrade decision already made")
)

const (
	decisionPending uint32 = iota
	decisionMade
	decisionCancelled
)

// pendingUpgradesFull answers a handshake past Config.MaxPendingUpgrades.
var pendingUpgradesFull = &HTTPError{Status: 503, Header: []codec.HeaderField{{Name: "Retry-After", Value: "1"}}, Body: "too many pending upgrades\n"}

// Decision is a handshake whose answer comes later, from any goroutine:
// exactly one of Accept or Reject takes effect. Obtain one with
// UpgradeRequest.Defer.
type Decision struct {
	state atomic.Uint32
	srv   *Server
	conn  *Conn         // nil on the net/http path
	wait  chan struct{} // net/http path only: closed by Accept/Reject

	// The answer, written before the state is published to the loop (by
	// loop.post's lock) or to the waiter (by closing wait).
	resp UpgradeResponse
	err  error

	// Copied from the request head, which does not outlive the hook.
	key     []byte
	offered []string
	info    *connInfo
	end     int // length of the request head in gnet's inbound buffer

	deflate   codec.DeflateParams // permessage-deflate agreed before the hook
	deflateOK bool
}

// Defer parks the handshake until the returned Decision is answered with
// Accept or Reject, from any goroutine. The hook then returns nil at once
// (what it wrote to its UpgradeResponse is ignored: Accept says what to
// answer); returning an error, or panicking, cancels the decision and
// refuses the handshake as usual. Calling Defer again returns the same
// Decision.
//
// On the engine's own listener the connection waits on its event loop at
// no more cost than its handshake state, for at most HandshakeTimeout;
// through Server.UpgradeHTTP the request's goroutine waits (bounded the
// same way). Defer returns ErrTooManyPendingUpgrades when
// Config.MaxPendingUpgrades decisions are pending: the hook should return
// it, and the handshake is answered 503 with Retry-After.
func (r *UpgradeRequest) Defer() (*Decision, error) {
	if r.decision != nil {
		return r.decision, nil
	}
	s := r.srv
	if s == nil {
		return nil, errors.New("engine: Defer called outside an upgrade hook")
	}
	if s.pendingUpgrades.Add(1) > int64(s.cfg.MaxPendingUpgrades) {
		s.pendingUpgrades.Add(-1)
		r.overCap = true
		return nil, ErrTooManyPendingUpgrades
	}
	d := &Decision{srv: s, conn: r.conn, end: r.end}
	if r.conn == nil {
		d.wait = make(chan struct{})
	} else {
		d.key = append([]byte(nil), r.Key...)
		for p := range r.Protocols() {
			d.offered = append(d.offered, string(p))
		}
		d.info = s.keepInfo(r.Request, "")
		d.deflate, d.deflateOK = r.deflate, r.deflateOK
	}
	r.decision = d
	return d, nil
}

// Accept completes the handshake with resp (its Protocol must be one the
// client offered, else the client gets 500; Header adds response headers;
// Value becomes Conn.Value). It is safe from any goroutine. It returns nil
// once the answer is handed to the connection's loop, which then writes the
// 101 and runs OnOpen (unless the connection closes first); ErrClosed when
// the decision was cancelled (HandshakeTimeout, the peer went away, the
// hook failed after deferring); ErrAlreadyDecided after a first Accept or
// Reject; ErrServerClosed when the server has stopped.
func (d *Decision) Accept(resp UpgradeResponse) error {
	return d.answer(resp, nil)
}

// Reject refuses the handshake with err: an *HTTPError is answered with its
// status, headers and body, any other error (nil included) with 403
// Forbidden. Safe from any goroutine; returns as Accept does.
func (d *Decision) Reject(err error) error {
	if err == nil {
		err = &HTTPError{Status: 403, Body: "forbidden\n"}
	}
	return d.answer(UpgradeResponse{}, err)
}

func (d *Decision) answer(resp UpgradeResponse, err error) error {
	if !d.state.CompareAndSwap(decisionPending, decisionMade) {
		if d.state.Load() == decisionCancelled {
			return ErrClosed
		}
		return ErrAlreadyDecided
	}
	d.srv.pendingUpgrades.Add(-1)
	d.resp, d.err = resp, err
	if d.wait != nil {
		close(d.wait)
		return nil
	}
	c := d.conn
	return c.loop.execute(func() { c.loop.finishDeferred(c, d) })
}

// cancel withdraws a pending decision; later answers return ErrClosed. It
// reports false when an answer came first.
func (d *Decision) cancel() bool {
	if d.state.CompareAndSwap(decisionPending, decisionCancelled) {
		d.srv.pendingUpgrades.Add(-1)
		return true
	}
	return false
}

// park leaves c in the handshake state until d is answered (on the loop,
// right after the hook deferred).
func (l *loop) park(c *Conn, d *Decision) {
	c.extension().decision = d
}

// deferredPending is called by readHandshake while c waits for its
// decision: the new bytes stay in gnet's buffer, within a bound.
func (l *loop) deferredPending(c *Conn, d *Decision) {
	if l.inBuffered(c) > d.end+l.srv.cfg.MaxHeadSize {
		l.rejectCodec(c, codec.ErrHeadTooLarge, rejectHeadTooLarge) // OnClose cancels d
	}
}

// cancelDeferred withdraws c's pending decision when c closes.
func cancelDeferred(c *Conn) {
	if e := c.ext.Load(); e != nil && e.decision != nil {
		e.decision.cancel()
		e.decision = nil
	}
}

// finishDeferred runs on c's loop with d's answer.
func (l *loop) finishDeferred(c *Conn, d *Decision) {
	e := c.ext.Load()
	if c.state != stateHandshake || e == nil || e.decision != d {
		return // closed while the answer was on its way
	}
	e.decision = nil
	if d.err != nil {
		l.reject(c, hookRefusal(d.err), rejectHook)
		return
	}
	if l.srv.shuttingDown.Load() {
		l.reject(c, &HTTPError{Status: 503, Body: "server shutting down\n"}, rejectShutdown)
		return
	}
	resp := &d.resp
	info := d.info
	if p := resp.Protocol; p != "" {
		if !slices.Contains(d.offered, p) {
			l.srv.logger.Info("upgrade decision chose a subprotocol the client did not offer", "protocol", p, "remote", addrString(c.RemoteAddr()))
			l.reject(c, &HTTPError{Status: 500, Body: "internal error\n"}, rejectHook)
			return
		}
		withProtocol := *info
		withProtocol.protocol = p
		info = &withProtocol
	}
	if setsExtensions(resp) {
		l.srv.logger.Info("upgrade decision set Sec-WebSocket-Extensions, which only the engine answers (see Config.Deflate)", "remote", addrString(c.RemoteAddr()))
		l.reject(c, &HTTPError{Status: 500, Body: "internal error\n"}, rejectHook)
		return
	}
	var pmd *codec.DeflateParams
	if d.deflateOK && !resp.NoDeflate {
		pmd = &d.deflate
	}
	l.open(c, d.key, resp, info, d.end, pmd)
}

// awaitDecision waits, in a net/http request's goroutine, for the answer
// to a decision its hook deferred, at most HandshakeTimeout.
func (s *Server) awaitDecision(d *Decision, resp *UpgradeResponse) error {
	var timeout <-chan time.Time
	if t := s.cfg.HandshakeTimeout; t > 0 {
		timer := time.NewTimer(t)
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case <-d.wait:
	case <-timeout:
		if d.cancel() {
			return &HTTPError{Status: 503, Header: []codec.HeaderField{{Name: "Retry-After", Value: "1"}}, Body: "upgrade decision timed out\n"}
		}
		<-d.wait // answered just in time
	}
	if d.err != nil {
		return d.err
	}
	*resp = d.resp
	return nil
}

// hookRefusal is the response for an error a hook or decision refused with.
func hookRefusal(err error) *HTTPError {
	var he *HTTPError
	if !errors.As(err, &he) {
		he = &HTTPError{Status: 403, Body: "forbidden\n"}
	}
	return he
}
