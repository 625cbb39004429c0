package client

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	mrand "math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/valyala/bytebufferpool"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/gid"
	"github.com/switchboard-ws/switchboard/internal/inbox"
	"github.com/switchboard-ws/switchboard/internal/timerwheel"
)

// framePool holds payloads written off the loop until the loop sends them.
var framePool bytebufferpool.Pool

type taskKind uint8

const (
	taskWrite taskKind = iota // send buf as a message of type op
	taskPing                  // send buf as a ping
	taskClose                 // start the close handshake (final)
	taskFunc                  // run fn
	taskTick                  // advance the wheel
)

type task struct {
	conn   *Conn
	kind   taskKind
	op     codec.OpCode
	raw    bool // taskWrite: do not compress
	queued bool // counted in the reconnect queue's bytes
	code   codec.CloseCode
	buf    *bytebufferpool.ByteBuffer
	reason string
	fn     func()
}

func (t *task) release() {
	if t.buf != nil {
		framePool.Put(t.buf)
		t.buf = nil
	}
}

// loop is the client's state for one gnet event loop; apart from the inbox
// and atomics it is touched only on that loop.
type loop struct {
	cl        *Client
	el        gnet.EventLoop
	goroutine atomic.Uintptr

	inbox inbox.Inbox[task] // work from other goroutines

	wheel *timerwheel.Wheel[*Conn]
	start time.Time
	rng   *mrand.ChaCha8 // masking keys (RFC 6455 §5.3: unpredictable)
	head  *Conn          // live connections (open, closing, or between sessions)

	busy      *Conn // the connection a gnet event is processing
	closeBusy bool

	out    []byte // a masked frame being sent
	tlsOut []byte // records a TLS layer produced
	// tlsCache holds the expanded TLS 1.3 ciphers of recently busy
	// sessions (tls_loop.go); nil until the loop's first wss:// session.
	tlsCache *[tlsCacheSize]tlsCacheEntry
	plain    []byte // decrypted bytes (wss), or carried + new bytes
	zin      []byte // inflated message, valid during OnMessage
	zout     []byte // compressed message

	rx, tx atomic.Int64 // socket bytes consumed and written (Client.Traffic)
}

func newLoop(cl *Client, el gnet.EventLoop) *loop {
	var seed [32]byte
	_, _ = rand.Read(seed[:])
	now := time.Now()
	return &loop{
		cl:    cl,
		el:    el,
		wheel: timerwheel.New[*Conn](cl.cfg.TickInterval, 1024, now),
		start: now,
		rng:   mrand.NewChaCha8(seed),
	}
}

func (l *loop) enter() {
	if l.goroutine.Load() == 0 {
		l.goroutine.Store(gid.ID())
	}
}

func (l *loop) onLoop() bool {
	id := gid.ID()
	return id != 0 && id == l.goroutine.Load()
}

// tick is the loop's clock in wheel ticks since it started.
func (l *loop) tick() uint32 {
	return uint32(time.Since(l.start) / l.cl.cfg.TickInterval)
}

func (l *loop) ticks(d time.Duration) uint32 {
	t := l.cl.cfg.TickInterval
	return uint32((d + t - 1) / t)
}

func (l *loop) mask() [4]byte {
	var m [4]byte
	binary.LittleEndian.PutUint32(m[:], uint32(l.rng.Uint64()))
	return m
}

// post hands t to the loop; n is the bytes it will send, counted against
// the connection's outbound limit.
func (l *loop) post(t task, n int) error {
	if c := t.conn; c != nil && n > 0 {
		limit := int32(c.cfg.maxOutbound)
		if n > int(limit) || c.queued.Add(int32(n)) > limit {
			if n <= int(limit) {
				c.queued.Add(-int32(n))
			}
			t.release()
			return ErrOutboundFull
		}
	}
	if l.inbox.Put(t) {
		if err := l.el.Execute(context.Background(), l); err != nil {
			l.inbox.Unwake()
			return ErrClientClosed
		}
	}
	return nil
}

// Run drains the inbox on the loop (gnet.Runnable).
func (l *loop) Run(context.Context) error {
	l.enter()
	batch := l.inbox.Take()
	for i := range batch {
		l.runTask(&batch[i])
	}
	l.inbox.Done(batch)
	return nil
}

func (l *loop) runTask(t *task) {
	c := t.conn
	switch t.kind {
	case taskFunc:
		t.fn()
	case taskTick:
		l.wheel.Advance(time.Now(), l.fire)
	case taskWrite:
		c.queued.Add(-int32(len(t.buf.B)))
		if c.state == stateOpen {
			if t.queued {
				c.rc.qbytes.Add(-int64(len(t.buf.B)))
			}
			_ = l.writeMessage(c, t.op, t.buf.B, !t.raw)
		} else if c.rc != nil && c.rc.r.QueueBytes > 0 && c.state != stateClosed && !c.final.Load() {
			// Sent while a session was up, run after it ended: queue it
			// (counted now) if it fits.
			if !t.queued && c.rc.qbytes.Add(int64(len(t.buf.B))) > int64(c.rc.r.QueueBytes) {
				c.rc.qbytes.Add(-int64(len(t.buf.B)))
				break
			}
			t.queued = true
			l.enqueue(c, t)
			return // the queue keeps t.buf (and its count in qbytes)
		} else if t.queued {
			c.rc.qbytes.Add(-int64(len(t.buf.B))) // dropped: closed for good
		}
	case taskPing:
		c.queued.Add(-int32(len(t.buf.B)))
		if c.state == stateOpen {
			_ = l.writeControl(c, codec.OpPing, t.buf.B)
		}
	case taskClose:
		l.closeFinal(c, t.code, t.reason, nil)
	}
	t.release()
}

// link adds c to the loop's list of live connections.
func (l *loop) link(c *Conn) {
	c.next = l.head
	if l.head != nil {
		l.head.prev = c
	}
	l.head = c
}

func (l *loop) unlink(c *Conn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else if l.head == c {
		l.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	}
	c.prev, c.next = nil, nil
}

// fire handles c's timer: what it means depends on c's state.
func (l *loop) fire(t *timerwheel.Timer[*Conn]) {
	c := t.Value
	switch c.state {
	case stateOpen:
		l.heartbeat(c)
	case stateClosing:
		l.abort(c, nil, ErrCloseTimeout)
	case stateWaiting:
		l.redial(c)
	}
}

// armHeartbeat schedules c's next heartbeat check.
func (l *loop) armHeartbeat(c *Conn) {
	cfg := c.cfg
	if cfg.pingInterval <= 0 {
		l.wheel.Cancel(&c.timer)
		return
	}
	now := l.tick()
	var at uint32
	if c.awaitPong {
		at = c.lastRecv + l.ticks(cfg.pongTimeout)
	} else {
		at = c.lastRecv + l.ticks(cfg.pingInterval)
	}
	d := int32(at - now)
	if d < 1 {
		d = 1
	}
	l.wheel.Schedule(&c.timer, time.Duration(d)*l.cl.cfg.TickInterval)
}

// heartbeat pings a quiet server and gives up on one that stays silent.
func (l *loop) heartbeat(c *Conn) {
	cfg := c.cfg
	now := l.tick()
	switch {
	case c.awaitPong && cfg.pongTimeout > 0 && now-c.lastRecv >= l.ticks(cfg.pongTimeout):
		// Nothing came back: the server or the path is gone (a half-open
		// TCP connection never reports it otherwise).
		l.abort(c, &CloseError{Code: codec.CloseAbnormal, Remote: true, Err: ErrPongTimeout}, nil)
		return
	case !c.awaitPong && now-c.lastRecv >= l.ticks(cfg.pingInterval):
		if l.writeControl(c, codec.OpPing, nil) != nil || c.state != stateOpen {
			return
		}
		c.awaitPong = cfg.pongTimeout > 0
		c.lastRecv = now // from now on: when the ping went out
	}
	l.armHeartbeat(c)
}
