package engine

import (
	"errors"
	"io"
	"net"
)

// TLS 1.2 (and any TLS 1.3 suite tlsrec lacked) after the handshake:
// crypto/tls's own Conn, driven on the loop through its tlsPipe. The pipe
// hands it the ciphertext gnet holds and, when that runs out, a temporary
// error, on which crypto/tls returns without failing the connection; its
// writes land in the loop's scratch. This keeps crypto/tls's per-connection
// buffers (about 5 KB idle, more after large records: golang/go#43563);
// the idle-memory target is for TLS 1.3.

// tlsOpenStd reads what crypto/tls can open of ct into t.in.
func (l *loop) tlsOpenStd(c *Conn, t *tlsConn, ct []byte) (used int, more bool) {
	p := t.pipe
	p.src, p.consumed = ct, 0
	p.out = l.tlsOut[:0]
	plain := l.tlsPlainStart(t)
	var err error
	for len(plain) < l.tlsMaxPlain() {
		if cap(plain)-len(plain) < 16<<10 {
			plain = append(plain, make([]byte, 16<<10)...)[:len(plain)]
		}
		var n int
		n, err = p.tc.Read(plain[len(plain):cap(plain)])
		plain = plain[:len(plain)+n]
		if err != nil {
			break
		}
	}
	used = p.consumed
	more = err == nil
	p.src = nil
	l.tlsPlain = plain[:0]
	if len(plain) > 0 {
		t.in, t.inScratch = plain, true
	}
	if len(p.out) > 0 { // alerts crypto/tls sent while reading
		out := p.out
		p.out = nil
		l.tlsOut = out[:0]
		_ = l.putRaw(c, out, nil)
	}
	var ne net.Error
	switch {
	case err == nil || (errors.As(err, &ne) && ne.Temporary()):
		return used, more
	case err == io.EOF:
		l.tlsPeerClosed(c, t, plain)
	default:
		l.tlsFail(c, err)
	}
	return used, false
}

// seal appends the records of a then b (crypto/tls seals them).
func (p *tlsPipe) seal(dst, a, b []byte) ([]byte, error) {
	p.out = dst
	var err error
	if len(a) > 0 {
		_, err = p.tc.Write(a)
	}
	if err == nil && len(b) > 0 {
		_, err = p.tc.Write(b)
	}
	out := p.out
	p.out = nil
	return out, err
}

// closeNotify appends close_notify.
func (p *tlsPipe) closeNotify(dst []byte) []byte {
	p.out = dst
	_ = p.tc.CloseWrite()
	out := p.out
	p.out = nil
	return out
}
