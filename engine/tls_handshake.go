package engine

import (
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/tlsrec"
)

// TLS handshakes run crypto/tls's own server handshake, on a goroutine
// taken for the handshake (a new one, or one that finished a handshake
// less than a tick ago: tls_workers.go), over a tlsPipe:
// an in-memory net.Conn the loop moves the client's complete TLS records
// into as they arrive, and whose Read returns at most the rest of one
// record, so crypto/tls never reads past the client's Finished (what
// follows is the record layer's, on the loop). Bytes crypto/tls writes go
// to the socket from the handshake's goroutine (the loop writes nothing to
// the connection meanwhile), or through the loop once a write falls
// short. At most Config.TLSHandshakeWorkers
// handshakes compute at once (a handshake waiting for the client's next
// flight gives its turn back); at most Config.MaxTLSHandshakes are in
// progress, counted from the ClientHello.

// tlsServer is the server's TLS state (nil without Config.TLS).
type tlsServer struct {
	cfg  *tls.Config // the application's, wrapped (newTLSServer)
	all  bool        // every connection is TLS (TLSAddr empty)
	port int         // the TLS port when only TLSAddr serves TLS

	tokens chan struct{} // one per handshake computing now
	pool   hsPool        // handshake goroutines waiting for work (tls_workers.go)
	active atomic.Int64  // handshakes in progress
	queued atomic.Int64  // handshakes waiting for a token

	completed, failed, v13, v12 atomic.Uint64
}

func newTLSServer(cfg *Config) *tlsServer {
	user := cfg.TLS
	wrap := user.Clone()
	// Every handshake gets its own Config (a clone of what the
	// application's GetConfigForClient picked, or of its Config) whose
	// KeyLogWriter captures the traffic secrets the record layer takes
	// over with (tlsrec.KeyLog), and forwards lines to the application's
	// KeyLogWriter when it set one.
	wrap.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		src := user
		if user.GetConfigForClient != nil {
			picked, err := user.GetConfigForClient(hello)
			if err != nil {
				return nil, err
			}
			if picked != nil {
				src = picked
			}
		}
		per := src.Clone()
		if p, ok := hello.Conn.(*tlsPipe); ok {
			p.kl.Next = src.KeyLogWriter
			per.KeyLogWriter = &p.kl
		}
		return per, nil
	}
	return &tlsServer{
		cfg:    wrap,
		all:    cfg.TLSAddr == "",
		tokens: make(chan struct{}, cfg.TLSHandshakeWorkers),
		pool:   hsPool{max: cfg.TLSHandshakeWorkers},
	}
}

// tlsStdOnly makes TLS 1.3 connections keep crypto/tls's Conn (the path
// TLS 1.2 takes) instead of the record layer: set by tests to exercise
// that fallback with TLS 1.3.
var tlsStdOnly atomic.Bool

// tlsLoopWrites makes handshakes write through the loop only (as after a
// short direct write): set by tests to exercise that path.
var tlsLoopWrites atomic.Bool

// tlsMaxHandshakeRecord bounds a record during the handshake (TLS 1.2
// allows 2^14+2048 bytes of ciphertext).
const tlsMaxHandshakeRecord = tlsrec.HeaderLen + 1<<14 + 2048

// tlsMaxHandshakeBuffered bounds the bytes a client may send ahead while
// its handshake runs.
const tlsMaxHandshakeBuffered = 64 << 10

// tlsHandshakeTraffic is OnTraffic while the TLS handshake runs: start it
// once the ClientHello record is complete, then move every complete record
// the client sends into the handshake's pipe, which hands crypto/tls one
// record per Read (tlsPipe.Read), so crypto/tls never reads past the
// client's Finished: records behind it stay in the pipe for the record
// layer (tlsHandshakeDone).
func (l *loop) tlsHandshakeTraffic(c *Conn, t *tlsConn) {
	ct, _ := c.gc.Peek(-1)
	if len(ct) == 0 {
		return
	}
	p := t.pipe
	if p == nil {
		if ct[0] >= 'A' && ct[0] <= 'Z' {
			// Plain HTTP on a TLS port: answer as net/http does.
			l.stats.reject(rejectTLS)
			l.srv.logOnce(c, "plain HTTP request on a TLS port")
			_, _ = c.gc.Write(httpOnTLSPort)
			l.abort(c, &CloseError{Code: codec.CloseAbnormal, Err: ErrNotTLS})
			return
		}
		if ct[0] != tlsrec.TypeHandshake {
			l.tlsRefuse(c, ErrNotTLS)
			return
		}
	}
	// n: the complete records at the start of ct.
	n := 0
	for len(ct)-n >= tlsrec.HeaderLen {
		r := tlsrec.RecordLen(ct[n:])
		if r > tlsMaxHandshakeRecord {
			l.tlsRefuse(c, errors.New("tls: oversized record during the handshake"))
			return
		}
		if n+r > len(ct) {
			break
		}
		n += r
	}
	if p != nil {
		if p.push(ct, n) {
			l.tlsRefuse(c, errTLSHandshakeBuffered)
			return
		}
		if n > 0 {
			_, _ = c.gc.Discard(n)
		}
		return
	}
	if len(ct) > tlsMaxHandshakeBuffered {
		l.tlsRefuse(c, errTLSHandshakeBuffered)
		return
	}
	if n == 0 {
		return
	}
	ts := l.srv.tls
	if ts.active.Add(1) > int64(l.srv.cfg.MaxTLSHandshakes) {
		ts.active.Add(-1)
		l.stats.reject(rejectTLSHandshakes)
		l.srv.logOnce(c, "tls handshake refused: too many in progress")
		l.abort(c, &CloseError{Code: codec.CloseAbnormal, Err: ErrTooManyTLSHandshakes})
		return
	}
	p = &tlsPipe{
		c:      c,
		l:      l,
		local:  c.gc.LocalAddr(),
		remote: c.RemoteAddr(),
		fd:     c.gc.Fd(),
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		q:      append([]byte(nil), ct[:n]...),
	}
	_, _ = c.gc.Discard(n)
	t.pipe = p
	l.srv.startHandshake(p)
}

var errTLSHandshakeBuffered = errors.New("tls: too much data during the handshake")

// tlsRefuse closes a connection whose TLS handshake cannot go on.
func (l *loop) tlsRefuse(c *Conn, err error) {
	l.stats.reject(rejectTLS)
	l.srv.logOnce(c, "tls handshake refused", "err", err.Error())
	l.abort(c, &CloseError{Code: codec.CloseAbnormal, Err: err})
}

// tlsHandshakeWrite writes bytes crypto/tls wrote during the handshake.
func (l *loop) tlsHandshakeWrite(p *tlsPipe, b []byte) {
	c := p.c
	if t := c.tlsState(); c.state == stateClosed || t.mode != tlsHandshaking || t.pipe != p {
		return
	}
	_, _ = c.gc.Write(b)
}

// tlsResult is what a completed handshake hands the loop.
type tlsResult struct {
	rec tlsrec.Conn   // TLS 1.3 with a suite tlsrec handles
	out tlsrec.Cipher // rec.Out's cipher, when Init built it
	std *tls.Conn     // otherwise: crypto/tls goes on, driven by the loop
	cs  tls.ConnectionState
}

// runTLSHandshake runs one handshake (on a goroutine of tls_workers.go).
func (s *Server) runTLSHandshake(p *tlsPipe) {
	ts := s.tls
	defer ts.active.Add(-1)
	if !p.acquire() {
		ts.failed.Add(1)
		return
	}
	tc := tls.Server(p, ts.cfg)
	err := tc.Handshake()
	p.release()
	if err != nil {
		ts.failed.Add(1)
		p.kl.Clear()
		_ = p.l.execute(func() { p.l.tlsHandshakeFailed(p, err) })
		return
	}
	res := &tlsResult{cs: tc.ConnectionState()}
	if res.cs.Version == tls.VersionTLS13 && tlsrec.Supported(res.cs.CipherSuite) && !tlsStdOnly.Load() {
		err = res.rec.InitCipher(res.cs.CipherSuite, &p.kl, p.written, &res.out)
	} else {
		res.std = tc
	}
	p.kl.Clear()
	p.written = nil
	if err != nil {
		ts.failed.Add(1)
		_ = p.l.execute(func() { p.l.tlsHandshakeFailed(p, err) })
		return
	}
	ts.completed.Add(1)
	if res.cs.Version == tls.VersionTLS13 {
		ts.v13.Add(1)
	} else {
		ts.v12.Add(1)
	}
	_ = p.l.execute(func() { p.l.tlsHandshakeDone(p, res) })
}

// tlsHandshakeDone installs the record layer once the handshake completed
// and goes on with what the client sent behind its Finished: the records
// left in the pipe, then those in gnet's buffer.
func (l *loop) tlsHandshakeDone(p *tlsPipe, res *tlsResult) {
	c := p.c
	t := c.tlsState()
	if c.state == stateClosed || t.mode != tlsHandshaking || t.pipe != p {
		p.stop()
		return
	}
	t.cs = &res.cs
	if res.std != nil {
		p.onLoop = true
		p.tc = res.std
		t.mode = tlsStd // t.pipe stays: crypto/tls goes on over it
	} else {
		t.rec = res.rec
		t.mode = tls13
		t.pipe = nil
		p.stop()
		// The cipher Init built for the server's records goes on: the
		// answer to the upgrade is sealed with it.
		res.out.Rebind(&t.rec.Out)
		l.tlsCiphers(c).out = res.out
	}
	res.rec, res.out = tlsrec.Conn{}, tlsrec.Cipher{}
	if left := p.leftover(); len(left) > 0 {
		l.tlsOpenRecords(c, t, left)
		if c.state == stateClosed || c.state == stateFailing {
			return
		}
	}
	if c.gc.InboundBuffered() > 0 {
		l.tlsTraffic(c)
	}
}

// tlsOpenRecords opens complete records held outside gnet's buffer (those
// that came behind the client's Finished while the handshake ran) and
// delivers their plaintext, as tlsTrafficRound does for gnet's buffer.
func (l *loop) tlsOpenRecords(c *Conn, t *tlsConn, ct []byte) {
	for {
		used, more := l.tlsOpenStep(c, t, ct, false)
		ct = ct[used:]
		if !more {
			return
		}
	}
}

// tlsHandshakeFailed ends a connection whose handshake failed; the alert
// crypto/tls wrote, if any, has been written before.
func (l *loop) tlsHandshakeFailed(p *tlsPipe, err error) {
	c := p.c
	t := c.tlsState()
	if c.state == stateClosed || t.mode != tlsHandshaking || t.pipe != p {
		return
	}
	t.pipe = nil
	p.stop()
	l.tlsRefuse(c, err)
}

// tlsPipe is the net.Conn crypto/tls runs over. During the handshake
// (onLoop false) the loop appends the client's complete records to q
// (push); Read hands crypto/tls at most the rest of one record per call,
// blocking (its worker token given back) while q is empty; Write writes
// to the socket (writeDirect), or hands the bytes to the loop after a
// short write. For TLS 1.2 after the handshake (onLoop true) it is
// used on the loop only: Read returns what the loop set in src, then a
// temporary error crypto/tls treats as "no more for now"; Write appends
// to out.
type tlsPipe struct {
	c      *Conn
	l      *loop
	local  net.Addr
	remote net.Addr

	mu      sync.Mutex
	q       []byte // complete records from the client; q[qoff:] not read yet
	qoff    int
	waiting bool          // the handshake waits for wake
	wake    chan struct{} // loop → handshake: records arrived (waiting)
	recLeft int           // handshake only: bytes left of the record being read

	fd      int        // the connection's socket (writeDirect)
	wmu     sync.Mutex // held by writeDirect; stop takes it
	wclosed bool       // stop ran: no more direct writes
	viaLoop bool       // a write went through the loop: all later ones do
	iov     [1][]byte

	done     chan struct{} // closed when the connection goes away
	stopOnce sync.Once
	kl       tlsrec.KeyLog
	written  []byte // every byte crypto/tls wrote in the handshake
	holding  bool   // the handshake holds a worker token

	onLoop   bool
	tc       *tls.Conn // onLoop: the connection
	src      []byte    // onLoop: ciphertext to read
	consumed int       // onLoop: bytes of src read
	out      []byte    // onLoop: where writes go
}

// push appends the n bytes of complete records at the start of ct to the
// handshake's input and wakes the handshake if it waits for them. It
// reports whether the client has sent more than tlsMaxHandshakeBuffered
// bytes ahead of the handshake (ct all counted: the rest is a partial
// record waiting in gnet's buffer).
func (p *tlsPipe) push(ct []byte, n int) (over bool) {
	p.mu.Lock()
	if len(p.q)-p.qoff+len(ct) > tlsMaxHandshakeBuffered {
		p.mu.Unlock()
		return true
	}
	if n == 0 {
		p.mu.Unlock()
		return false
	}
	p.q = append(p.q, ct[:n]...)
	w := p.waiting
	p.waiting = false
	p.mu.Unlock()
	if w {
		p.wake <- struct{}{} // never blocks: one wake per wait
	}
	return false
}

// leftover takes the records crypto/tls did not read (those behind the
// client's Finished); the loop calls it once the handshake is over.
func (p *tlsPipe) leftover() []byte {
	p.mu.Lock()
	left := p.q[p.qoff:]
	p.q, p.qoff = nil, 0
	p.mu.Unlock()
	return left
}

func (p *tlsPipe) stop() {
	p.stopOnce.Do(func() {
		p.wmu.Lock()
		p.wclosed = true // no direct write after this (the fd may close)
		p.wmu.Unlock()
		close(p.done)
	})
}

// acquire takes a worker token, waiting in the queue if none is free.
func (p *tlsPipe) acquire() bool {
	ts := p.l.srv.tls
	select {
	case ts.tokens <- struct{}{}:
		p.holding = true
		return true
	default:
	}
	ts.queued.Add(1)
	defer ts.queued.Add(-1)
	select {
	case ts.tokens <- struct{}{}:
		p.holding = true
		return true
	case <-p.done:
		return false
	}
}

func (p *tlsPipe) release() {
	if p.holding {
		p.holding = false
		<-p.l.srv.tls.tokens
	}
}

// errWouldBlock tells crypto/tls that no more bytes are there for now: a
// net.Error whose Temporary is true, which its record reader returns
// without failing the connection (crypto/tls conn.go, readRecordOrCCS).
type wouldBlock struct{}

func (wouldBlock) Error() string   { return "engine: tls pipe would block" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

var errWouldBlock net.Error = wouldBlock{}

func (p *tlsPipe) Read(b []byte) (int, error) {
	if p.onLoop {
		if len(p.src) == 0 {
			return 0, errWouldBlock
		}
		n := copy(b, p.src)
		p.src = p.src[n:]
		p.consumed += n
		return n, nil
	}
	p.mu.Lock()
	for p.qoff == len(p.q) {
		// Nothing to read: give the worker token back until the
		// client's next records arrive.
		p.waiting = true
		p.mu.Unlock()
		p.release()
		select {
		case <-p.wake:
		case <-p.done:
			return 0, net.ErrClosed
		}
		if !p.acquire() {
			return 0, net.ErrClosed
		}
		p.mu.Lock()
	}
	avail := p.q[p.qoff:]
	if p.recLeft == 0 {
		p.recLeft = tlsrec.RecordLen(avail) // q holds complete records only
	}
	n := copy(b, avail[:p.recLeft])
	p.qoff += n
	p.recLeft -= n
	if p.qoff == len(p.q) {
		// All read: keep a small buffer for the next flight.
		if cap(p.q) <= 1<<10 {
			p.q = p.q[:0]
		} else {
			p.q = nil
		}
		p.qoff = 0
	}
	p.mu.Unlock()
	return n, nil
}

func (p *tlsPipe) Write(b []byte) (int, error) {
	if p.onLoop {
		p.out = append(p.out, b...)
		return len(b), nil
	}
	select {
	case <-p.done:
		return 0, net.ErrClosed
	default:
	}
	start := len(p.written)
	p.written = append(p.written, b...)
	sent := p.writeDirect(b)
	if sent == len(b) {
		return len(b), nil
	}
	// The rest goes through the loop (gnet's outbound buffer), and so
	// does every later write. The loop writes a slice of written: later
	// appends go past its end (or to a new array), so it needs no copy.
	out := p.written[start+sent : len(p.written) : len(p.written)]
	if p.l.execute(func() { p.l.tlsHandshakeWrite(p, out) }) != nil {
		return 0, net.ErrClosed
	}
	return len(b), nil
}

// writeDirect writes b to the socket from the handshake's goroutine,
// without waking the loop, while nothing else writes to the connection:
// during the handshake the loop writes nothing to it, and gnet's outbound
// buffer is empty. It returns the bytes written; once a write falls short
// (the socket's buffer is full, or an error the loop will meet again) the
// rest and every later write go through the loop. The connection's fd
// stays open while wmu is held: stop, which takes it, runs on the loop
// from OnClose before gnet closes the fd.
func (p *tlsPipe) writeDirect(b []byte) int {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.wclosed || p.viaLoop || tlsLoopWrites.Load() {
		return 0
	}
	sent := 0
	for sent < len(b) {
		p.iov[0] = b[sent:]
		n, err := writeSocketv(p.fd, p.iov[:])
		sent += n
		if err != nil || n == 0 {
			break
		}
	}
	p.iov[0] = nil
	if sent < len(b) {
		p.viaLoop = true
	}
	return sent
}

func (p *tlsPipe) Close() error                     { p.stop(); return nil }
func (p *tlsPipe) LocalAddr() net.Addr              { return p.local }
func (p *tlsPipe) RemoteAddr() net.Addr             { return p.remote }
func (p *tlsPipe) SetDeadline(time.Time) error      { return nil }
func (p *tlsPipe) SetReadDeadline(time.Time) error  { return nil }
func (p *tlsPipe) SetWriteDeadline(time.Time) error { return nil }
