package client

import (
	"crypto/tls"
	"net"
	"time"
)

// wss:// on the event loops.
//
// The TLS handshake runs with crypto/tls on the dialling goroutine, over the
// real socket. Then the connection moves to an event loop, and the same
// tls.Conn keeps working over a pipe instead of the socket: the loop hands
// it the ciphertext gnet read (the pipe returns a net.Error whose
// Temporary() is true once that is used up, which crypto/tls treats as "no
// more bytes yet" and keeps its state for the next call — see
// readRecordOrCCS), and what it writes lands in the loop's scratch buffer,
// which the loop writes to the socket. No goroutine waits per connection.
//
// Cost per idle wss:// connection (measured, see README): the tls.Conn and
// its record buffers, which crypto/tls never shrinks (golang/go 43563) —
// several kilobytes, where ws:// costs about one. The secure type is the
// seam where the engine's own event-loop record layer (internal/tlsrec,
// when it lands) replaces crypto/tls's record handling: the loop code sees
// only feed/read/write below.

// secure is the TLS layer of one connection.
type secure struct {
	tc   *tls.Conn
	pipe *tlsPipe
}

func newSecure(nc net.Conn, cfg *tls.Config) *secure {
	p := &tlsPipe{raw: nc}
	return &secure{tc: tls.Client(p, cfg), pipe: p}
}

// detach switches the pipe from the socket to the loop: from now on every
// call comes from the connection's loop.
func (s *secure) detach() { s.pipe.raw = nil }

// read gives the layer ciphertext in (which it takes whole: it is copied
// into the tls.Conn's record buffer) and appends the plaintext it can
// decrypt to dst. err is a non-temporary error (a TLS alert, close_notify as
// io.EOF) after which the connection is done.
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

// write encrypts p into records appended to *out.
func (s *secure) write(p []byte, out *[]byte) error {
	s.pipe.out = out
	_, err := s.tc.Write(p)
	s.pipe.out = nil
	return err
}

// tlsPipe is the net.Conn under a tls.Conn: the socket while handshaking,
// then the loop's buffers.
type tlsPipe struct {
	raw net.Conn
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
		return p.raw.Read(b)
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
