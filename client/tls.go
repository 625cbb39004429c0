package client

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/switchboard-ws/switchboard/internal/tlsrec"
)

// wss:// on the event loops.
//
// The TLS handshake runs with crypto/tls on the dialling goroutine, over
// the real socket handed out one record at a time (recordReader):
// crypto/tls never holds a byte past the record it asked for, so when its
// handshake returns, what follows the server's Finished is still ours.
// During the handshake the socket is read ahead (one read takes the
// server's whole flight, not two per record); once it returns, reads are
// exact, and the read-ahead left over (only records the server sent
// before it saw our request, e.g. NewSessionTicket) is consumed in order
// before the upgrade's answer, so the socket is at a record boundary when
// the connection moves to a loop (connect checks that nothing is left).
//
// TLS 1.3 then leaves crypto/tls: the record layer the server uses
// (internal/tlsrec) takes over with the application traffic secrets a
// per-handshake KeyLog captured (CLIENT_TRAFFIC_SECRET_0 for our records,
// SERVER_TRAFFIC_SECRET_0 for the server's, both from sequence number 0,
// since crypto/tls wrote nothing after its Finished and read nothing past
// the server's). The HTTP upgrade already runs over the record layer
// (recStream), then the connection moves to a loop. Idle, it keeps the
// secrets and sequence numbers (secure.rec, ~130 bytes); the expanded
// AEADs live in a per-loop cache (loop.tlsCiphers). The server's
// NewSessionTicket messages are ignored, as crypto/tls ignores them
// without a ClientSessionCache; KeyUpdate is handled both ways; Close
// sends close_notify.
//
// TLS 1.2, and TLS 1.3 when TLSConfig sets a ClientSessionCache (whose
// tickets only crypto/tls can turn into sessions), keep the tls.Conn: the
// loop drives it through an in-memory pipe that hands it the ciphertext
// gnet read (the pipe returns a net.Error whose Temporary() is true once
// that is used up, which crypto/tls treats as "no more bytes yet"), and
// what it writes lands in the loop's scratch buffer. That costs the
// tls.Conn and its record buffers per connection (see README).

// secure is the TLS layer of one session.
type secure struct {
	rec tlsrec.Conn // TLS 1.3 on the record layer (tc == nil)
	id  uint64      // rec's slot key in the loop's cipher cache
	// tc is crypto/tls's connection for TLS 1.2 (or with a session
	// cache), driven through pipe; nil on the record layer.
	tc       *tls.Conn
	pipe     *tlsPipe
	notified bool // close_notify went out (or a fatal alert)
	// early is the handshake's socket reader, until the connection moves
	// to a loop: connect checks that it holds nothing read ahead.
	early *recordReader
}

// secureIDs numbers record-layer sessions for the loops' cipher caches.
var secureIDs atomic.Uint64

// handshake runs crypto/tls's client handshake over nc (cfg is the
// session's own clone) and returns the TLS layer with the stream the HTTP
// upgrade runs over.
func handshake(ctx context.Context, nc net.Conn, cfg *tls.Config) (*secure, io.ReadWriter, error) {
	kl := &tlsrec.KeyLog{Next: cfg.KeyLogWriter}
	takeover := cfg.ClientSessionCache == nil || cfg.SessionTicketsDisabled
	if takeover {
		cfg.KeyLogWriter = kl
	}
	p := &tlsPipe{raw: nc, rr: recordReader{r: nc, ahead: make([]byte, readAhead)}}
	tc := tls.Client(p, cfg)
	err := tc.HandshakeContext(ctx)
	p.rr.endReadAhead()
	cs := tc.ConnectionState()
	if err == nil && takeover && cs.Version == tls.VersionTLS13 && tlsrec.Supported(cs.CipherSuite) {
		s := &secure{id: secureIDs.Add(1), early: &p.rr}
		err = s.rec.InitClient(cs.CipherSuite, kl)
		kl.Clear()
		if err != nil {
			return nil, nil, err
		}
		return s, &recStream{nc: nc, src: rawReader{&p.rr}, s: s}, nil
	}
	kl.Clear()
	if err != nil {
		return nil, nil, err
	}
	return &secure{tc: tc, pipe: p, early: &p.rr}, tc, nil
}

// settle ends the handshake's read-ahead once the upgrade's answer is
// read: everything read ahead must have been consumed by then (records
// the server sent before our request come before its answer), so the
// socket is at a record boundary for the loop.
func (s *secure) settle() error {
	if s.early != nil && s.early.buffered() > 0 {
		return errEarlyRecords
	}
	s.early = nil
	return nil
}

// readAhead is the most bytes one read of the socket takes during the
// handshake: the server's flight (a certificate chain of a few KB, the
// tickets) in one read.
const readAhead = 8 << 10

// errEarlyRecords ends a dial whose server sent records that were still
// unread when the upgrade's answer was complete: sent before our request,
// so not part of a well-formed exchange.
var errEarlyRecords = errors.New("client: tls: the server sent records before the upgrade request")

// detach switches the pipe from the socket to the loop: from now on every
// call comes from the connection's loop.
func (s *secure) detach() {
	if s.pipe != nil {
		s.pipe.raw = nil
	}
}

// read (crypto/tls) gives the layer ciphertext in (which it takes whole:
// it is copied into the tls.Conn's record buffer) and appends the
// plaintext it can decrypt to dst. err is a non-temporary error (a TLS
// alert, close_notify as io.EOF) after which the connection is done.
func (s *secure) read(dst, in []byte, out *[]byte) ([]byte, error) {
	s.pipe.in = in
	s.pipe.out = out
	defer func() { s.pipe.in, s.pipe.out = nil, nil }()
	for {
		if cap(dst)-len(dst) < 4096 {
			dst = append(dst, make([]byte, 16<<10)...)[:len(dst)]
		}
		n, err := s.tc.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Temporary() { //nolint:staticcheck // crypto/tls's contract
				return dst, nil
			}
			return dst, err
		}
	}
}

// write (crypto/tls) encrypts p into records appended to *out.
func (s *secure) write(p []byte, out *[]byte) error {
	s.pipe.out = out
	_, err := s.tc.Write(p)
	s.pipe.out = nil
	return err
}

// closeNotify (crypto/tls) appends close_notify to *out.
func (s *secure) closeNotify(out *[]byte) {
	s.pipe.out = out
	_ = s.tc.CloseWrite()
	s.pipe.out = nil
}

// recordReader hands out a socket one TLS record at a time: a Read never
// returns a byte past the end of the record it is in, so what crypto/tls
// did not ask for stays with us (in the socket, or read ahead).
type recordReader struct {
	r    io.Reader
	hdr  [tlsrec.HeaderLen]byte
	hdrN int // header bytes handed out
	left int // bytes of the current record (header included) not handed out

	// ahead holds bytes read from r and not handed out yet, ahead[aoff:aend].
	// Until exact is set a read of r takes up to len(ahead) bytes; after,
	// only what is asked for (ahead is drained first).
	ahead      []byte
	aoff, aend int
	exact      bool
}

// raw reads the socket's bytes, read-ahead first.
func (p *recordReader) raw(b []byte) (int, error) {
	if p.aoff < p.aend {
		n := copy(b, p.ahead[p.aoff:p.aend])
		p.aoff += n
		if p.aoff == p.aend && p.exact {
			p.ahead, p.aoff, p.aend = nil, 0, 0 // drained: not needed any more
		}
		return n, nil
	}
	if p.exact || len(b) >= len(p.ahead) {
		return p.r.Read(b)
	}
	n, err := p.r.Read(p.ahead)
	if n == 0 {
		return 0, err
	}
	// Bytes first; an error comes back with the next read.
	p.aoff, p.aend = 0, n
	return p.raw(b)
}

// endReadAhead makes reads exact from now on; the buffer goes once what
// it holds is handed out (at once when it holds nothing), so a connection
// that keeps its pipe (crypto/tls on the loop) keeps no buffer.
func (p *recordReader) endReadAhead() {
	p.exact = true
	if p.aoff == p.aend {
		p.ahead, p.aoff, p.aend = nil, 0, 0
	}
}

// buffered is the number of bytes read ahead and not handed out yet.
func (p *recordReader) buffered() int { return p.aend - p.aoff }

// rawReader is a recordReader's socket, read-ahead first, without record
// boundaries (recStream reads whole records itself).
type rawReader struct{ p *recordReader }

func (r rawReader) Read(b []byte) (int, error) { return r.p.raw(b) }

func (p *recordReader) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if p.left == 0 {
		if _, err := io.ReadFull(rawReader{p}, p.hdr[:]); err != nil {
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			return 0, err
		}
		p.left, p.hdrN = tlsrec.RecordLen(p.hdr[:]), 0
	}
	if p.hdrN < tlsrec.HeaderLen {
		n := copy(b, p.hdr[p.hdrN:])
		p.hdrN += n
		p.left -= n
		return n, nil
	}
	n, err := p.raw(b[:min(len(b), p.left)])
	p.left -= n
	return n, err
}

// recStream is the TLS 1.3 record layer over the socket, blocking, for
// the HTTP upgrade on the dialling goroutine. Its ciphers and buffers are
// dropped with it once the session moves to a loop.
type recStream struct {
	nc      net.Conn
	src     io.Reader // nc's bytes, what the handshake read ahead first
	s       *secure
	in, out tlsrec.Cipher
	rec     []byte // one record, tlsrec.MaxRecord bytes (a fixed size)
	buf     []byte // plaintext storage
	plain   []byte // opened, not read yet
	eof     bool
}

func (r *recStream) Write(p []byte) (int, error) {
	out, err := r.s.rec.Write(&r.out, nil, p, nil)
	if err != nil {
		return 0, err
	}
	if _, err := r.nc.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (r *recStream) Read(b []byte) (int, error) {
	for len(r.plain) == 0 {
		if r.eof {
			return 0, io.EOF
		}
		if err := r.next(); err != nil {
			return 0, err
		}
	}
	n := copy(b, r.plain)
	r.plain = r.plain[n:]
	return n, nil
}

// next opens the server's next record.
func (r *recStream) next() error {
	if r.rec == nil {
		r.rec = make([]byte, tlsrec.MaxRecord)
	}
	if _, err := io.ReadFull(r.src, r.rec[:tlsrec.HeaderLen]); err != nil {
		return err
	}
	n := tlsrec.RecordLen(r.rec)
	if n > tlsrec.MaxRecord {
		return r.fail(tlsrec.AlertRecordOverflow)
	}
	if _, err := io.ReadFull(r.src, r.rec[tlsrec.HeaderLen:n]); err != nil {
		return err
	}
	plain, ev, err := r.s.rec.Read(&r.in, r.rec[:n], r.buf[:0])
	if err != nil {
		return r.fail(err)
	}
	r.buf, r.plain = plain[:0], plain
	if r.s.rec.UpdatePending() {
		out, err := r.s.rec.WriteKeyUpdate(&r.out, nil, false)
		if err != nil {
			return err
		}
		if _, err := r.nc.Write(out); err != nil {
			return err
		}
	}
	if ev == tlsrec.EventCloseNotify {
		r.eof = true
	}
	return nil
}

// fail sends the alert err names, if it is one, and returns err.
func (r *recStream) fail(err error) error {
	var a tlsrec.Alert
	if errors.As(err, &a) {
		if out, _ := r.s.rec.WriteAlert(&r.out, nil, a); len(out) > 0 {
			_, _ = r.nc.Write(out)
		}
	}
	r.s.notified = true
	return err
}

// tlsPipe is the net.Conn under a tls.Conn: the socket (one record at a
// time) while handshaking, then the loop's buffers.
type tlsPipe struct {
	raw net.Conn
	rr  recordReader
	in  []byte
	out *[]byte
}

// errWouldBlock says "no more ciphertext for now" to crypto/tls.
type errWouldBlock struct{}

func (errWouldBlock) Error() string   { return "client: tls pipe: no more bytes yet" }
func (errWouldBlock) Timeout() bool   { return true }
func (errWouldBlock) Temporary() bool { return true }

func (p *tlsPipe) Read(b []byte) (int, error) {
	if p.raw != nil {
		return p.rr.Read(b)
	}
	if len(p.in) == 0 {
		return 0, errWouldBlock{}
	}
	n := copy(b, p.in)
	p.in = p.in[n:]
	return n, nil
}

func (p *tlsPipe) Write(b []byte) (int, error) {
	if p.raw != nil {
		return p.raw.Write(b)
	}
	if p.out == nil {
		return 0, net.ErrClosed
	}
	*p.out = append(*p.out, b...)
	return len(b), nil
}

func (p *tlsPipe) Close() error { return nil }

func (p *tlsPipe) LocalAddr() net.Addr {
	if p.raw != nil {
		return p.raw.LocalAddr()
	}
	return nil
}

func (p *tlsPipe) RemoteAddr() net.Addr {
	if p.raw != nil {
		return p.raw.RemoteAddr()
	}
	return nil
}

func (p *tlsPipe) SetDeadline(t time.Time) error {
	if p.raw != nil {
		return p.raw.SetDeadline(t)
	}
	return nil
}

func (p *tlsPipe) SetReadDeadline(t time.Time) error {
	if p.raw != nil {
		return p.raw.SetReadDeadline(t)
	}
	return nil
}

func (p *tlsPipe) SetWriteDeadline(t time.Time) error {
	if p.raw != nil {
		return p.raw.SetWriteDeadline(t)
	}
	return nil
}
