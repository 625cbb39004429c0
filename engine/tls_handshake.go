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
// that exists only while the handshake is in progress, over a tlsPipe:
// an in-memory net.Conn the loop feeds one complete TLS record at a time,
// so crypto/tls never reads past the client's Finished (what follows is
// the record layer's, on the loop). Bytes crypto/tls writes are handed to
// the loop, which writes them in order. At most Config.TLSHandshakeWorkers
// handshakes compute at once (a handshake waiting for the client's next
// flight gives its turn back); at most Config.MaxTLSHandshakes are in
// progress, counted from the ClientHello.

// tlsServer is the server's TLS state (nil without Config.TLS).
type tlsServer struct {
	cfg  *tls.Config // the application's, wrapped (newTLSServer)
	all  bool        // every connection is TLS (TLSAddr empty)
	port int         // the TLS port when only TLSAddr serves TLS

	tokens chan struct{} // one per handshake computing now
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
	}
}

// tlsMaxHandshakeRecord bounds a record during the handshake (TLS 1.2
// allows 2^14+2048 bytes of ciphertext).
const tlsMaxHandshakeRecord = tlsrec.HeaderLen + 1<<14 + 2048

// tlsMaxHandshakeBuffered bounds the bytes a client may send ahead while
// its handshake runs.
const tlsMaxHandshakeBuffered = 64 << 10

// tlsHandshakeTraffic is OnTraffic while the TLS handshake runs: start it
// once the ClientHello record is complete, then hand crypto/tls the next
// record whenever it asks for one.
func (l *loop) tlsHandshakeTraffic(c *Conn, t *tlsConn) {
	ct, _ := c.gc.Peek(-1)
	if len(ct) == 0 {
		return
	}
	if len(ct) > tlsMaxHandshakeBuffered {
		l.tlsRefuse(c, errors.New("tls: too much data during the handshake"))
		return
	}
	if t.pipe == nil {
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
	} else if !t.pipe.want {
		return
	}
	if len(ct) < tlsrec.HeaderLen {
		return
	}
	n := tlsrec.RecordLen(ct)
	if n > tlsMaxHandshakeRecord {
		l.tlsRefuse(c, errors.New("tls: oversized record during the handshake"))
		return
	}
	if len(ct) < n {
		return
	}
	rec := append([]byte(nil), ct[:n]...)
	_, _ = c.gc.Discard(n)
	if t.pipe != nil {
		t.pipe.want = false
		t.pipe.recv <- rec // never blocks: one record is asked for at a time
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
	p := &tlsPipe{
		c:      c,
		l:      l,
		local:  c.gc.LocalAddr(),
		recv:   make(chan []byte, 1),
		done:   make(chan struct{}),
		cur:    rec,
		remote: c.RemoteAddr(),
	}
	t.pipe = p
	go l.srv.runTLSHandshake(p)
}

// tlsRefuse closes a connection whose TLS handshake cannot go on.
func (l *loop) tlsRefuse(c *Conn, err error) {
	l.stats.reject(rejectTLS)
	l.srv.logOnce(c, "tls handshake refused", "err", err.Error())
	l.abort(c, &CloseError{Code: codec.CloseAbnormal, Err: err})
}

// tlsFeed runs on the loop when crypto/tls asks for the next record.
func (l *loop) tlsFeed(p *tlsPipe) {
	c := p.c
	t := c.tlsState()
	if c.state == stateClosed || t.mode != tlsHandshaking || t.pipe != p {
		return
	}
	p.want = true
	l.tlsHandshakeTraffic(c, t)
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
	rec tlsrec.Conn // TLS 1.3 with a suite tlsrec handles
	std *tls.Conn   // otherwise: crypto/tls goes on, driven by the loop
	cs  tls.ConnectionState
}

// runTLSHandshake is the goroutine of one handshake.
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
	if res.cs.Version == tls.VersionTLS13 && tlsrec.Supported(res.cs.CipherSuite) {
		err = res.rec.Init(res.cs.CipherSuite, &p.kl, p.written)
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
// and goes on with whatever the client sent behind its Finished.
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
	}
	res.rec = tlsrec.Conn{}
	if c.gc.InboundBuffered() > 0 {
		l.tlsTraffic(c)
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
// (onLoop false) its Read blocks until the loop hands it the next record
// and its Write hands bytes to the loop. For TLS 1.2 after the handshake
// (onLoop true) it is used on the loop only: Read returns what the loop
// set in src, then a temporary error crypto/tls treats as "no more for
// now"; Write appends to out.
type tlsPipe struct {
	c      *Conn
	l      *loop
	local  net.Addr
	remote net.Addr

	recv     chan []byte   // loop → handshake: the next record
	done     chan struct{} // closed when the connection goes away
	stopOnce sync.Once
	cur      []byte // handshake: the rest of the record being read
	want     bool   // loop only: crypto/tls waits for a record
	kl       tlsrec.KeyLog
	written  []byte // every byte crypto/tls wrote in the handshake
	holding  bool   // the handshake holds a worker token

	onLoop   bool
	tc       *tls.Conn // onLoop: the connection
	src      []byte    // onLoop: ciphertext to read
	consumed int       // onLoop: bytes of src read
	out      []byte    // onLoop: where writes go
}

func (p *tlsPipe) stop() { p.stopOnce.Do(func() { close(p.done) }) }

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
	if len(p.cur) == 0 {
		p.release()
		if p.l.execute(func() { p.l.tlsFeed(p) }) != nil {
			return 0, net.ErrClosed
		}
		select {
		case p.cur = <-p.recv:
		case <-p.done:
			return 0, net.ErrClosed
		}
		if !p.acquire() {
			return 0, net.ErrClosed
		}
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
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
	p.written = append(p.written, b...)
	cp := append([]byte(nil), b...)
	if p.l.execute(func() { p.l.tlsHandshakeWrite(p, cp) }) != nil {
		return 0, net.ErrClosed
	}
	return len(b), nil
}

func (p *tlsPipe) Close() error                     { p.stop(); return nil }
func (p *tlsPipe) LocalAddr() net.Addr              { return p.local }
func (p *tlsPipe) RemoteAddr() net.Addr             { return p.remote }
func (p *tlsPipe) SetDeadline(time.Time) error      { return nil }
func (p *tlsPipe) SetReadDeadline(time.Time) error  { return nil }
func (p *tlsPipe) SetWriteDeadline(time.Time) error { return nil }
