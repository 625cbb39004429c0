package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/switchboard-ws/switchboard/codec"
)

// Backoff is exponential backoff with full jitter: the delay before retry
// n (counted from 0) is uniform in [0, min(Max, Initial × Multiplier^n)).
// Full jitter spreads a crowd of clients that lost the same server over
// the whole window instead of bunching them at its end (the thundering
// herd a restart causes otherwise).
type Backoff struct {
	// Initial is the first window; 0: 1s.
	Initial time.Duration
	// Multiplier grows the window per failed attempt; 0: 2.
	Multiplier float64
	// Max caps the window; 0: 30s.
	Max time.Duration
	// NoJitter waits the whole window instead of a uniform part of it
	// (for comparisons; not for production).
	NoJitter bool
}

// Backoff defaults: the figures the tutorials give.
const (
	DefaultBackoffInitial    = time.Second
	DefaultBackoffMultiplier = 2.0
	DefaultBackoffMax        = 30 * time.Second
)

func (b Backoff) norm() Backoff {
	if b.Initial <= 0 {
		b.Initial = DefaultBackoffInitial
	}
	if b.Multiplier < 1 {
		b.Multiplier = DefaultBackoffMultiplier
	}
	if b.Max <= 0 {
		b.Max = DefaultBackoffMax
	}
	return b
}

// Window returns the upper bound of the delay before retry n.
func (b Backoff) Window(n int) time.Duration {
	b = b.norm()
	w := float64(b.Initial) * math.Pow(b.Multiplier, float64(max(n, 0)))
	if w >= float64(b.Max) || math.IsInf(w, 0) || math.IsNaN(w) {
		return b.Max
	}
	return time.Duration(w)
}

// Delay returns the delay before retry n for a uniform random r in [0, 1).
func (b Backoff) Delay(n int, r float64) time.Duration {
	w := b.Window(n)
	if b.NoJitter {
		return w
	}
	r = min(max(r, 0), 1)
	return time.Duration(r * float64(w))
}

// Reconnect makes a connection reconnect, with the same Conn, after the
// server or the network closed it; Conn.Close and Client.Close end it for
// good. Set it on a Dialer; the first Dial does not retry (its error is
// returned), later sessions do.
type Reconnect struct {
	Backoff Backoff
	// ResetAfter: a session that stayed up this long resets the backoff to
	// its first window when it ends. 0: Backoff.Max (30 s by default). A
	// shorter-lived session (a server that accepts and then kicks, a crash
	// loop) keeps the window growing instead of hammering the server with
	// fresh one-second retries; one that outlived the longest wait we would
	// impose counts as healthy.
	ResetAfter time.Duration
	// MaxAttempts bounds consecutive failed attempts (0: no bound); past
	// it the connection closes for good with the last error.
	MaxAttempts int
	// Retry decides, per close or dial error, whether to reconnect; nil:
	// DefaultRetry.
	Retry func(err error) bool
	// OnReconnect runs on the loop each time a session is re-established,
	// before any of its messages are delivered and before queued writes
	// go out: resubscribe here.
	OnReconnect func(c *Conn)
	// OnRetry runs on the loop each time a reconnect is scheduled, with
	// the error that caused it, the attempt number (from 1) and the delay.
	OnRetry func(c *Conn, err error, attempt int, delay time.Duration)
	// URL, when set, returns the URL of the next attempt from the last one
	// (RoomTracker.URL resumes rooms where they stopped). It runs on the
	// loop and must not block.
	URL func(c *Conn, last string) string
	// QueueBytes, when positive, queues writes made while reconnecting (up
	// to this many payload bytes, then ErrQueueFull) and sends them after
	// OnReconnect. 0, the default: such writes fail at once with
	// ErrReconnecting. Fail-fast is the default because only the
	// application knows whether a message is still worth sending seconds
	// later (a price, a cursor position, a chat line typed before the
	// outage) and because subscriptions are redone by OnReconnect anyway;
	// a silent queue would hide the outage and grow stale.
	QueueBytes int
	// Rand returns uniform numbers in [0, 1) for the jitter; nil: a
	// math/rand/v2 source. Tests inject a deterministic one.
	Rand func() float64
}

func (r *Reconnect) normalize() error {
	if r.QueueBytes < 0 || r.MaxAttempts < 0 {
		return fmt.Errorf("client: Reconnect: negative QueueBytes or MaxAttempts")
	}
	return nil
}

func (r *Reconnect) resetAfter() time.Duration {
	if r.ResetAfter > 0 {
		return r.ResetAfter
	}
	return r.Backoff.norm().Max
}

// DefaultRetry is the default Reconnect.Retry. It gives up on what
// retrying cannot fix:
//   - a close from the server with 1000 (it is done with us), 1002, 1003,
//     1007, 1009, 1010 (we or it broke the protocol: the same bytes would
//     fail again) or 1008 (policy: banned, kicked, unauthorized);
//   - a handshake answered 4xx except 408 and 429 (401, 403: credentials;
//     404: wrong URL; 400, 426: wrong request), or a 101 that broke the
//     handshake; a proxy's 407;
//   - a TLS certificate the client does not trust, or a server that does
//     not speak TLS.
//
// Everything else is retried: 1001 (restart), 1006 (network, pong
// timeout), 1011-1014, 5xx, 408, 429, refused or timed-out dials.
func DefaultRetry(err error) bool {
	var he *HandshakeError
	if errors.As(err, &he) {
		if he.Proxy {
			return he.Status != 407
		}
		switch {
		case he.Status == 408 || he.Status == 429:
			return true
		case he.Status < 200 || (he.Status >= 400 && he.Status < 500):
			return false
		}
		return true
	}
	var ce *CloseError
	if errors.As(err, &ce) {
		switch ce.Code {
		case codec.CloseNormal, codec.CloseProtocolError, codec.CloseUnsupportedData,
			codec.CloseInvalidPayload, codec.ClosePolicyViolation, codec.CloseMessageTooBig,
			codec.CloseMandatoryExtension:
			return false
		}
		return true
	}
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var rh tls.RecordHeaderError
	if errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &rh) {
		return false
	}
	return true
}

// redial is a connection's reconnect state; loop only, except qbytes.
type redial struct {
	r       *Reconnect
	attempt int    // consecutive failed attempts since the last reset
	upAt    uint32 // loop tick when the current session opened
	qbytes  atomic.Int64
	queue   []task
}

func newRedial(r *Reconnect) *redial { return &redial{r: r} }

func (rd *redial) rand() float64 {
	if rd.r.Rand != nil {
		return rd.r.Rand()
	}
	return mrand.Float64()
}

func (rd *redial) opened(l *loop) { rd.upAt = l.tick() }

// ended decides what follows a session that ended with report.
func (rd *redial) ended(l *loop, c *Conn, report *CloseError) {
	if l.tick()-rd.upAt >= l.ticks(rd.r.resetAfter()) {
		rd.attempt = 0
	}
	rd.retry(l, c, report, report)
}

// retry schedules the next attempt after err, or ends c with report.
func (rd *redial) retry(l *loop, c *Conn, err error, report *CloseError) {
	ok := DefaultRetry
	if rd.r.Retry != nil {
		ok = rd.r.Retry
	}
	if !ok(err) || (rd.r.MaxAttempts > 0 && rd.attempt >= rd.r.MaxAttempts) {
		l.finish(c, report)
		return
	}
	delay := rd.r.Backoff.Delay(rd.attempt, rd.rand())
	rd.attempt++
	c.state = stateWaiting
	c.report = report
	if fn := rd.r.OnRetry; fn != nil {
		l.dispatch(c, func() { fn(c, err, rd.attempt, delay) })
		if c.state != stateWaiting {
			return // closed by the hook
		}
	}
	l.wheel.Schedule(&c.timer, delay)
}

// redial starts the next attempt on its own goroutine (dialling blocks);
// it lives only while the attempt does.
func (l *loop) redial(c *Conn) {
	c.state = stateDialing
	url := c.URL()
	if fn := c.rc.r.URL; fn != nil {
		url = fn(c, url)
	}
	cfg, cl := c.cfg, l.cl
	go func() {
		s, err := cfg.connect(cl.ctx, url)
		if err == nil {
			var ch <-chan gnet.RegisteredResult
			ch, err = l.el.Enroll(gnet.NewContext(context.Background(), &enrolling{c: c, s: s}), s.nc)
			if err == nil {
				if res := <-ch; res.Err == nil {
					return // OnOpen took it from here
				} else {
					err = res.Err
				}
			}
			s.close()
		}
		if perr := l.post(task{kind: taskFunc, fn: func() { l.dialFailed(c, err) }}, 0); perr != nil {
			// The loops are stopping (Client.Close): nothing more runs.
			return
		}
	}()
}

// dialFailed handles a failed reconnect attempt on the loop.
func (l *loop) dialFailed(c *Conn, err error) {
	if c.state != stateDialing {
		return
	}
	report := &CloseError{Code: codec.CloseAbnormal, Remote: true, Err: err}
	if c.final.Load() || l.cl.closing.Load() {
		if c.report != nil && c.final.Load() {
			report = c.report
		}
		l.finish(c, report)
		return
	}
	c.rc.retry(l, c, err, report)
}

// enqueue keeps a write made while reconnecting (t.buf moves to the queue).
func (l *loop) enqueue(c *Conn, t *task) {
	c.rc.queue = append(c.rc.queue, *t)
	t.buf = nil
}

// flushQueue sends the writes queued while reconnecting, in order.
func (l *loop) flushQueue(c *Conn) {
	q := c.rc.queue
	c.rc.queue = nil
	for i := range q {
		t := &q[i]
		c.rc.qbytes.Add(-int64(len(t.buf.B)))
		if c.state == stateOpen {
			_ = l.writeMessage(c, t.op, t.buf.B, !t.raw)
		}
		t.release()
	}
}

func (rd *redial) dropQueue(c *Conn) {
	for i := range rd.queue {
		rd.qbytes.Add(-int64(len(rd.queue[i].buf.B)))
		rd.queue[i].release()
	}
	rd.queue = nil
}
