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
// the real socket read one record at a time (recordReader): crypto/tls
// never holds a byte past the record it asked for, so when its handshake
// returns, the socket is at the first record after the server's Finished.
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
	p := &tlsPipe{raw: nc, rr: recordReader{r: nc}}
	tc := tls.Client(p, cfg)
	err := tc.HandshakeContext(ctx)
	cs := tc.ConnectionState()
	if err == nil && takeover && cs.Version == tls.VersionTLS13 && tlsrec.Supported(cs.CipherSuite) {
		s := &secure{id: secureIDs.Add(1)}
		err = s.rec.InitClient(cs.CipherSuite, kl)
		kl.Clear()
		if err != nil {
			return nil, nil, err
		}
		return s, &recStream{nc: nc, s: s}, nil
	}
	kl.Clear()
	if err != nil {
		return nil, nil, err
	}
	return &secure{tc: tc, pipe: p}, tc, nil
}

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

// recordReader reads a socket one TLS record at a time: a Read never
// returns a byte past the end of the record it is in, so what crypto/tls
// did not ask for stays in the socket.
type recordReader struct {
	r    io.Reader
	hdr  [tlsrec.HeaderLen]byte
	hdrN int // header bytes handed out
	left int // bytes of the current record (header included) not handed out
}

func (p *recordReader) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if p.left == 0 {
		if _, err := io.ReadFull(p.r, p.hdr[:]); err != nil {
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
	n, err := p.r.Read(b[:min(len(b), p.left)])
	p.left -= n
	return n, err
}

// recStream is the TLS 1.3 record layer over the socket, blocking, for
// the HTTP upgrade on the dialling goroutine. Its ciphers and buffers are
// dropped with it once the session moves to a loop.
type recStream struct {
	nc      net.Conn
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
	if _, err := io.ReadFull(r.nc, r.rec[:tlsrec.HeaderLen]); err != nil {
		return err
	}
	n := tlsrec.RecordLen(r.rec)
	if n > tlsrec.MaxRecord {
		return r.fail(tlsrec.AlertRecordOverflow)
	}
	if _, err := io.ReadFull(r.nc, r.rec[tlsrec.HeaderLen:n]); err != nil {
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
