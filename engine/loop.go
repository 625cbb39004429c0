package engine

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/valyala/bytebufferpool"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/gid"
	"github.com/switchboard-ws/switchboard/internal/inbox"
	"github.com/switchboard-ws/switchboard/internal/timerwheel"
)

// framePool holds frames encoded off the loop until the loop writes them.
var framePool bytebufferpool.Pool

type taskKind uint8

const (
	taskFrame          taskKind = iota // write buf (an encoded frame), then return it to the pool
	taskPrepared                       // write a shared prepared frame
	taskClose                          // start the close handshake
	taskAbort                          // close TCP now
	taskCloseOverLimit                 // apply PolicyClose for the outbound limit
	taskFunc                           // run fn on the loop
	taskFlush                          // write more of the connection's pending queue
	taskDeflate                        // buf holds a message's payload (op): compress and write it
)

// task is one operation handed to a loop from another goroutine.
type task struct {
	conn   *Conn
	kind   taskKind
	op     codec.OpCode // taskDeflate
	code   codec.CloseCode
	buf    *bytebufferpool.ByteBuffer
	frame  *codec.PreparedFrame
	reason string
	fn     func()
}

// loop is the engine's state for one gnet event loop. Apart from the inbox
// (internal/inbox, safe from any goroutine) and the atomics, it is touched
// only on its own loop.
type loop struct {
	srv       *Server
	el        gnet.EventLoop
	goroutine atomic.Uintptr // the loop's goroutine, learned on its first event

	inbox inbox.Inbox[task] // work from other goroutines

	wheel *timerwheel.Wheel[struct{}]
	start time.Time
	head  *Conn // live connections on this loop
	count int

	busy      *Conn // the connection OnTraffic is processing
	closeBusy bool  // busy asked to be closed: OnTraffic returns gnet.Close
	req       codec.Request

	hdr  [codec.MaxHeaderSize]byte
	iov  [][]byte
	out  []byte // scratch for small frames, up to copyFrameMax + header
	resp []byte // scratch for HTTP responses
	zin  []byte // inflated message (permessage-deflate), valid during OnMessage
	// inflateHeld is len of the inflated message in zin charged to the
	// inbound budget while it is delivered (0 when none).
	inflateHeld int
	zout        []byte // compressed message (permessage-deflate)
	// pmdw holds the context-takeover windows of this loop's connections
	// (deflate_takeover.go).
	pmdw pmdBlocks

	// TLS (tls_conn.go): expanded ciphers of recent connections, and
	// scratch for plaintext opened and records sealed during one event.
	tlsCache tlsCache
	tlsPlain []byte
	tlsOut   []byte

	stats loopStats
}

func newLoop(s *Server, el gnet.EventLoop) *loop {
	now := time.Now()
	return &loop{
		srv:   s,
		el:    el,
		wheel: timerwheel.New[struct{}](s.cfg.TickInterval, 1024, now),
		start: now,
		iov:   make([][]byte, 2),
		out:   make([]byte, 0, copyFrameMax+codec.MaxHeaderSize),
	}
}

// enter records the loop's goroutine; called at the start of every event.
func (l *loop) enter() {
	if l.goroutine.Load() == 0 {
		l.goroutine.Store(gid.ID())
	}
}

// post hands t to the loop. n is the bytes it will write, counted against
// the connection's outbound limit. The first task of a batch wakes the
// loop; later ones ride along.
func (l *loop) post(t task, n int) error {
	c := t.conn
	if c != nil && n > 0 {
		limit := int32(l.srv.cfg.MaxOutbound) // at most 1 GiB (normalize)
		if n > int(limit) || c.queued.Add(int32(n)) > limit {
			if n <= int(limit) {
				c.queued.Add(-int32(n))
			}
			t.release()
			if l.srv.cfg.OutboundPolicy == PolicyDrop {
				l.stats.dropped.Add(1)
				return ErrOutboundFull
			}
			// Past the limit under PolicyClose: close the connection on its loop.
			t = task{conn: c, kind: taskCloseOverLimit}
			n = 0
		}
	}
	if l.inbox.Put(t) {
		if err := l.el.Execute(context.Background(), l); err != nil {
			l.inbox.Unwake()
			return ErrServerClosed
		}
	}
	if t.kind == taskCloseOverLimit {
		return ErrOutboundFull
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
		return
	case taskFrame:
		c.queued.Add(-int32(len(t.buf.B)))
		if c.state == stateOpen {
			_ = l.writeRaw(c, t.buf.B)
		}
	case taskDeflate:
		c.queued.Add(-int32(len(t.buf.B)))
		if c.state == stateOpen {
			_ = l.writeFrame(c, t.op, t.buf.B)
		}
	case taskPrepared:
		c.queued.Add(-int32(len(t.frame.Bytes())))
		_ = l.writePrepared(c, t.frame) // checked by WritePrepared; empties a bypassed window
	case taskClose:
		_ = l.startClose(c, t.code, t.reason, nil)
	case taskAbort:
		l.abort(c, &CloseError{Code: codec.CloseAbnormal, Err: ErrClosed})
	case taskCloseOverLimit:
		l.closeOverLimit(c)
	case taskFlush:
		l.flushPending(c)
	}
	t.release()
}

func (t *task) release() {
	if t.buf != nil {
		framePool.Put(t.buf)
		t.buf = nil
	}
}

// execute runs fn on the loop, batched with other tasks for it.
func (l *loop) execute(fn func()) error {
	return l.post(task{kind: taskFunc, fn: fn}, 0)
}

// tick is the number of ticks since the loop started, by the real clock:
// activity stamps must not go stale when the wheel's own tasks run late.
func (l *loop) tick() uint32 {
	return uint32(time.Since(l.start) / l.srv.cfg.TickInterval)
}

// link adds c to the loop's live list.
func (l *loop) link(c *Conn) {
	c.next = l.head
	if l.head != nil {
		l.head.prev = c
	}
	l.head = c
	l.count++
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
	l.count--
}

// Loop is a handle on one event loop, for code that batches work per loop
// (the hub). Its methods are safe from any goroutine.
type Loop struct{ l *loop }

// Execute runs fn on the loop. Tasks posted from other goroutines are
// batched: one wake-up per loop however many are pending. fn must not block.
func (h Loop) Execute(fn func()) error { return h.l.execute(fn) }

// Loop returns the event loop that serves c.
func (c *Conn) Loop() Loop { return Loop{c.loop} }

// OnLoop reports whether the caller runs on this loop.
func (h Loop) OnLoop() bool {
	id := gid.ID()
	return id != 0 && id == h.l.goroutine.Load()
}
