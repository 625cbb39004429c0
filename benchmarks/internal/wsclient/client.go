// Package wsclient is the load generator's minimal WebSocket client: a
// handshake, masked frames out, frames in, pongs for pings. It is the same
// code against every server, so its costs cancel in comparisons. In raw
// mode it is a plain TCP connection (for the bare gnet floor).
//
// Large messages cost it no more than they must: masking goes eight bytes
// at a time, and a message is read header first, then its payload with one
// io.ReadFull into a buffer the connection keeps for the next message.
//
// Dialer.Deflate offers permessage-deflate and fails the dial unless the
// server agrees as offered (deflate.go); Dialer.TLS runs a crypto/tls
// handshake first (wss://); Dialer.Count counts socket bytes.
package wsclient

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/switchboard-ws/switchboard/internal/pmd"
)

// Opcodes.
const (
	OpCont   = 0x0
	OpText   = 0x1
	OpBinary = 0x2
	OpClose  = 0x8
	OpPing   = 0x9
	OpPong   = 0xA
)

// ipBindAddressNoPort (IP_BIND_ADDRESS_NO_PORT, Linux 4.2+) defers the
// choice of source port to connect(2), where the whole 4-tuple is known, so
// one source address serves as many connections as it has ports per server.
const ipBindAddressNoPort = 24

// Dialer opens connections from one source address.
type Dialer struct {
	Source  net.IP // nil: let the kernel choose
	Timeout time.Duration
	Raw     bool // plain TCP, no handshake
	// ReadBufferSize is the size of each connection's bufio.Reader. 0: 2048.
	ReadBufferSize int
	// Deflate offers permessage-deflate (see Deflate*) and fails the dial
	// unless the server's answer agrees to it as offered. "": no offer.
	Deflate string
	// Count, when not nil, counts the bytes this dialer's connections read
	// from and write to their sockets (handshakes included).
	Count *Counters
	// TLS, when not nil, runs a crypto/tls client handshake with it on
	// each connection before anything else (wss://, or TLS alone when Raw).
	TLS *tls.Config
}

// Conn is one client connection. Writes are serialized by a mutex; reads
// belong to one goroutine.
type Conn struct {
	nc   net.Conn
	br   *bufio.Reader
	raw  bool
	mask [4]byte

	wmu  sync.Mutex
	wbuf []byte
	open bool // a frame was left open by WritePartial: nothing more may be written

	rbuf []byte // payload of the last message read

	// permessage-deflate, when negotiated (deflate.go)
	pmd  bool       // negotiated: data frames may carry RSV1
	rsv1 bool       // the message last read by ReadMessageRaw was compressed
	zin  pmd.Window // the server's history under server context takeover
	zmax int        // longest message the client may compress (its window)
	zbuf []byte     // inflated payload of the last message
	zout []byte     // scratch for compressing
}

// Dial connects to addr and, unless raw, performs the WebSocket handshake
// for path.
func (d *Dialer) Dial(addr, path string) (*Conn, error) {
	nd := net.Dialer{Timeout: d.Timeout}
	if d.Source != nil {
		nd.LocalAddr = &net.TCPAddr{IP: d.Source}
		nd.Control = func(network, address string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_IP, ipBindAddressNoPort, 1)
			})
			if err != nil {
				return err
			}
			return serr
		}
	}
	nc, err := nd.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	if d.Count != nil {
		nc = &countConn{Conn: nc, c: d.Count}
	}
	if d.TLS != nil {
		tc := tls.Client(nc, d.TLS)
		if d.Timeout > 0 {
			_ = nc.SetDeadline(time.Now().Add(d.Timeout))
		}
		if err := tc.Handshake(); err != nil {
			nc.Close()
			return nil, err
		}
		_ = nc.SetDeadline(time.Time{})
		nc = tc
	}
	size := d.ReadBufferSize
	if size <= 0 {
		size = 2048
	}
	c := &Conn{nc: nc, raw: d.Raw}
	if _, err := rand.Read(c.mask[:]); err != nil {
		nc.Close()
		return nil, err
	}
	if d.Raw {
		return c, nil
	}
	c.br = bufio.NewReaderSize(nc, size)
	if d.Timeout > 0 {
		_ = nc.SetDeadline(time.Now().Add(d.Timeout))
	}
	if err := c.handshake(addr, path, d.Deflate); err != nil {
		nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return c, nil
}

var errHandshake = errors.New("wsclient: handshake refused")

func (c *Conn) handshake(addr, path, deflate string) error {
	var key [16]byte
	if _, err := rand.Read(key[:]); err != nil {
		return err
	}
	k := base64.StdEncoding.EncodeToString(key[:])
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + k +
		"\r\nSec-WebSocket-Version: 13\r\n"
	offer, err := deflateOffer(deflate)
	if err != nil {
		return err
	}
	if offer != "" {
		req += "Sec-WebSocket-Extensions: " + offer + "\r\n"
	}
	req += "\r\n"
	if _, err := io.WriteString(c.nc, req); err != nil {
		return err
	}
	h := sha1.Sum([]byte(k + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	accept := base64.StdEncoding.EncodeToString(h[:])
	status, err := c.br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 101")) {
		return fmt.Errorf("%w: %q", errHandshake, bytes.TrimSpace(status))
	}
	ok := false
	var ext string
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			break
		}
		name, value, found := bytes.Cut(line, []byte(":"))
		if found && bytes.EqualFold(bytes.TrimSpace(name), []byte("Sec-WebSocket-Accept")) {
			ok = string(bytes.TrimSpace(value)) == accept
		}
		if found && bytes.EqualFold(bytes.TrimSpace(name), []byte("Sec-WebSocket-Extensions")) {
			if ext != "" {
				ext += ", "
			}
			ext += string(bytes.TrimSpace(value))
		}
	}
	if !ok {
		return fmt.Errorf("%w: bad Sec-WebSocket-Accept", errHandshake)
	}
	return c.agree(deflate, ext)
}

// TLS returns the connection's TLS state; nil without TLS.
func (c *Conn) TLS() *tls.ConnectionState {
	if tc, ok := c.nc.(*tls.Conn); ok {
		st := tc.ConnectionState()
		return &st
	}
	return nil
}

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Raw reports whether c is a plain TCP connection.
func (c *Conn) Raw() bool { return c.raw }

// AppendFrame appends one final frame with op and payload, masked with
// mask (client to server frames must be masked).
func AppendFrame(dst []byte, op byte, payload []byte, mask [4]byte) []byte {
	return appendFrameRSV(dst, op, 0, payload, mask)
}

// appendFrameRSV is AppendFrame with the reserved bits rsv (0x40: RSV1)
// set in the first byte.
func appendFrameRSV(dst []byte, op, rsv byte, payload []byte, mask [4]byte) []byte {
	n := len(payload)
	dst = append(dst, 0x80|rsv|op)
	switch {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n <= 0xFFFF:
		dst = append(dst, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	dst = append(dst, mask[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	maskBytes(dst[start:], mask)
	return dst
}

// maskBytes XORs b with the mask key repeated from its first byte on (RFC
// 6455 section 5.3), eight bytes at a time.
func maskBytes(b []byte, key [4]byte) {
	k := uint64(binary.LittleEndian.Uint32(key[:]))
	k |= k << 32
	i := 0
	for ; i+32 <= len(b); i += 32 {
		s := b[i : i+32 : i+32]
		binary.LittleEndian.PutUint64(s[0:], binary.LittleEndian.Uint64(s[0:])^k)
		binary.LittleEndian.PutUint64(s[8:], binary.LittleEndian.Uint64(s[8:])^k)
		binary.LittleEndian.PutUint64(s[16:], binary.LittleEndian.Uint64(s[16:])^k)
		binary.LittleEndian.PutUint64(s[24:], binary.LittleEndian.Uint64(s[24:])^k)
	}
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^k)
	}
	for ; i < len(b); i++ {
		b[i] ^= key[i&3]
	}
}

// Frame returns payload encoded as a frame with this connection's mask
// key, ready for WriteRaw (or payload itself in raw mode).
func (c *Conn) Frame(op byte, payload []byte) []byte {
	if c.raw {
		return append([]byte(nil), payload...)
	}
	if c.pmd && op < 0x8 && len(payload) <= c.zmax {
		return AppendDeflated(nil, op, payload, c.mask)
	}
	return AppendFrame(nil, op, payload, c.mask)
}

// ErrFrameOpen is returned by writes after WritePartial: the bytes would
// land inside the frame left open.
var ErrFrameOpen = errors.New("wsclient: a frame was left open")

// WriteRaw writes pre-encoded bytes.
func (c *Conn) WriteRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.open {
		return ErrFrameOpen
	}
	_, err := c.nc.Write(b)
	return err
}

// WritePartial writes the start of a frame (b: a header and less payload
// than it declares) and leaves the frame open for good: every later write
// (pongs, pings, the reply to a close frame) fails with ErrFrameOpen, since
// it would be read as the rest of the payload. It is how a client stalls in
// the middle of a message.
func (c *Conn) WritePartial(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.open {
		return ErrFrameOpen
	}
	c.open = true
	_, err := c.nc.Write(b)
	return err
}

// WriteFrame encodes and writes one frame (payload as is in raw mode).
func (c *Conn) WriteFrame(op byte, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.open {
		return ErrFrameOpen
	}
	if c.raw {
		_, err := c.nc.Write(payload)
		return err
	}
	if c.pmd && op < 0x8 && len(payload) <= c.zmax {
		c.zout = pmd.Deflate(c.zout[:0], payload, nil)
		if len(c.zout) < len(payload) {
			c.wbuf = appendFrameRSV(c.wbuf[:0], op, 0x40, c.zout, c.mask)
		} else {
			c.wbuf = AppendFrame(c.wbuf[:0], op, payload, c.mask)
		}
	} else {
		c.wbuf = AppendFrame(c.wbuf[:0], op, payload, c.mask)
	}
	_, err := c.nc.Write(c.wbuf)
	if cap(c.wbuf) > 4096 {
		c.wbuf = nil
	}
	return err
}

// ErrClosed is returned by ReadMessage after the server's close frame
// (as a *CloseError, which matches it with errors.Is).
var ErrClosed = errors.New("wsclient: closed by server")

// CloseError is the server's close frame: its status code (0: none given)
// and reason.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("wsclient: closed by server with %d %q", e.Code, e.Reason)
}

// Is makes errors.Is(err, ErrClosed) hold.
func (e *CloseError) Is(target error) bool { return target == ErrClosed }

// ReadMessage returns the next data message, answering pings on the way
// and inflating it if it came compressed. The payload is valid until the
// next call. Not for raw connections.
func (c *Conn) ReadMessage() (op byte, payload []byte, err error) {
	op, payload, err = c.ReadMessageRaw()
	if err != nil || !c.rsv1 {
		return op, payload, err
	}
	payload, err = c.Inflate(payload)
	return op, payload, err
}

// ReadMessageRaw is ReadMessage without inflating: Compressed reports
// whether the payload returned is a permessage-deflate payload (see
// Inflate and InflatePrefix).
func (c *Conn) ReadMessageRaw() (op byte, payload []byte, err error) {
	var hdr [14]byte
	msgOp := byte(0)
	c.rbuf = c.rbuf[:0]
	c.rsv1 = false
	for {
		if _, err := io.ReadFull(c.br, hdr[:2]); err != nil {
			return 0, nil, err
		}
		fin := hdr[0]&0x80 != 0
		fop := hdr[0] & 0x0F
		masked := hdr[1]&0x80 != 0
		n := int64(hdr[1] & 0x7F)
		switch n {
		case 126:
			if _, err := io.ReadFull(c.br, hdr[2:4]); err != nil {
				return 0, nil, err
			}
			n = int64(binary.BigEndian.Uint16(hdr[2:4]))
		case 127:
			if _, err := io.ReadFull(c.br, hdr[2:10]); err != nil {
				return 0, nil, err
			}
			n = int64(binary.BigEndian.Uint64(hdr[2:10]))
		}
		if n > 64<<20 {
			return 0, nil, fmt.Errorf("wsclient: frame of %d bytes", n)
		}
		var mk [4]byte
		if masked {
			if _, err := io.ReadFull(c.br, mk[:]); err != nil {
				return 0, nil, err
			}
		}
		if fop >= 0x8 { // control frame
			var p [125]byte
			if n > 125 {
				return 0, nil, errors.New("wsclient: control frame too long")
			}
			if _, err := io.ReadFull(c.br, p[:n]); err != nil {
				return 0, nil, err
			}
			if masked {
				maskBytes(p[:n], mk)
			}
			switch fop {
			case OpPing:
				if err := c.WriteFrame(OpPong, p[:n]); err != nil && !errors.Is(err, ErrFrameOpen) {
					return 0, nil, err
				}
			case OpClose:
				_ = c.WriteFrame(OpClose, p[:min(n, 2)])
				ce := &CloseError{}
				if n >= 2 {
					ce.Code = int(binary.BigEndian.Uint16(p[:2]))
					ce.Reason = string(p[2:n])
				}
				return 0, nil, ce
			}
			continue
		}
		if rsv := hdr[0] & 0x70; rsv != 0 {
			if !c.pmd || rsv != 0x40 || fop == OpCont {
				return 0, nil, fmt.Errorf("wsclient: reserved bits %#x on a frame", rsv)
			}
			c.rsv1 = true
		}
		if fop != OpCont {
			msgOp = fop
		}
		start := len(c.rbuf)
		c.rbuf = slices.Grow(c.rbuf, int(n))[:start+int(n)]
		if _, err := io.ReadFull(c.br, c.rbuf[start:]); err != nil {
			return 0, nil, err
		}
		if masked {
			maskBytes(c.rbuf[start:], mk)
		}
		if fin {
			return msgOp, c.rbuf, nil
		}
	}
}

// Read reads raw bytes (raw mode).
func (c *Conn) Read(p []byte) (int, error) { return c.nc.Read(p) }

// Close closes TCP at once with a reset (SO_LINGER 0), leaving no
// TIME_WAIT behind to eat the source ports of later runs.
func (c *Conn) Close() error {
	nc := c.nc
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn() // a reset, not a close_notify: as for plain TCP
	}
	if cc, ok := nc.(*countConn); ok {
		nc = cc.Conn
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	return nc.Close()
}
