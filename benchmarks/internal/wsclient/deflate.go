package wsclient

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/switchboard-ws/switchboard/internal/pmd"
)

// permessage-deflate (RFC 7692) on the client side, with internal/pmd (the
// same flate code and level as switchboard's server). The client compresses
// every data message alone (no dictionary), which is valid whatever was
// agreed about client context takeover; it inflates the server's messages
// with the server's history when the server keeps context.

// Offers a Dialer can make (Dialer.Deflate).
const (
	// DeflateNoContextTakeover offers permessage-deflate with
	// server_no_context_takeover and client_no_context_takeover, and needs
	// the answer to hold server_no_context_takeover.
	DeflateNoContextTakeover = "no-context-takeover"
	// DeflateContextTakeover offers permessage-deflate with
	// client_max_window_bits (as browsers do), leaving both directions free
	// to keep context, and needs an answer without
	// server_no_context_takeover. A message longer than the client window
	// the server answers is sent uncompressed (this client cannot bound its
	// compressor's window below 32 KiB).
	DeflateContextTakeover = "context-takeover"
	// DeflateServerContextTakeover offers permessage-deflate with
	// client_no_context_takeover only: the server keeps context, the client
	// does not. It needs an answer without server_no_context_takeover.
	DeflateServerContextTakeover = "server-context-takeover"
)

// deflateOffer returns the Sec-WebSocket-Extensions value for an offer.
func deflateOffer(mode string) (string, error) {
	switch mode {
	case "":
		return "", nil
	case DeflateNoContextTakeover:
		return "permessage-deflate; server_no_context_takeover; client_no_context_takeover", nil
	case DeflateContextTakeover:
		return "permessage-deflate; client_max_window_bits", nil
	case DeflateServerContextTakeover:
		return "permessage-deflate; client_no_context_takeover", nil
	}
	return "", fmt.Errorf("wsclient: unknown deflate offer %q", mode)
}

// ErrNotNegotiated is returned by Dial when the server's answer did not
// agree to the permessage-deflate offer as made.
var ErrNotNegotiated = errors.New("wsclient: permessage-deflate not negotiated as offered")

// agree checks the server's Sec-WebSocket-Extensions answer ext against the
// offer mode and sets the connection up for what was agreed.
func (c *Conn) agree(mode, ext string) error {
	if mode == "" {
		if ext != "" {
			return fmt.Errorf("%w: extensions %q answered to no offer", errHandshake, ext)
		}
		return nil
	}
	p, ok := parseDeflateAnswer(ext)
	if !ok {
		return fmt.Errorf("%w: answer %q", ErrNotNegotiated, ext)
	}
	switch mode {
	case DeflateNoContextTakeover:
		if !p.serverNoContext {
			return fmt.Errorf("%w: answer %q keeps server context", ErrNotNegotiated, ext)
		}
	case DeflateContextTakeover, DeflateServerContextTakeover:
		if p.serverNoContext {
			return fmt.Errorf("%w: answer %q has no server context takeover", ErrNotNegotiated, ext)
		}
	}
	c.pmd = true
	c.zmax = 1 << 15
	if mode == DeflateContextTakeover && !p.clientNoContext && p.clientBits > 0 {
		c.zmax = 1 << p.clientBits
	}
	if !p.serverNoContext {
		bits := p.serverBits
		if bits == 0 {
			bits = 15
		}
		c.zin.Init(1 << bits)
	}
	return nil
}

type deflateAnswer struct {
	serverNoContext, clientNoContext bool
	serverBits, clientBits           int
}

// parseDeflateAnswer finds permessage-deflate in a Sec-WebSocket-Extensions
// value and reads its parameters.
func parseDeflateAnswer(ext string) (deflateAnswer, bool) {
	var a deflateAnswer
	for _, e := range strings.Split(ext, ",") {
		params := strings.Split(e, ";")
		if strings.TrimSpace(params[0]) != "permessage-deflate" {
			continue
		}
		for _, kv := range params[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
			v = strings.Trim(strings.TrimSpace(v), `"`)
			switch strings.TrimSpace(k) {
			case "server_no_context_takeover":
				a.serverNoContext = true
			case "client_no_context_takeover":
				a.clientNoContext = true
			case "server_max_window_bits":
				a.serverBits, _ = strconv.Atoi(v)
			case "client_max_window_bits":
				a.clientBits, _ = strconv.Atoi(v)
			}
		}
		if a.serverBits < 0 || a.serverBits > 15 || a.clientBits < 0 || a.clientBits > 15 {
			return a, false
		}
		return a, true
	}
	return a, false
}

// Deflate reports whether permessage-deflate was negotiated.
func (c *Conn) Deflate() bool { return c.pmd }

// ServerContext reports whether the server keeps context (its messages
// must be inflated in order, with Inflate, never InflatePrefix).
func (c *Conn) ServerContext() bool { return c.zin.Size() > 0 }

// Compressed reports whether the message last returned by ReadMessageRaw
// came compressed (RSV1).
func (c *Conn) Compressed() bool { return c.rsv1 }

// maxInflate bounds an inflated message (the generator's own limit).
const maxInflate = 64 << 20

// Inflate returns the message a compressed payload from ReadMessageRaw
// inflates to, valid until the next call; with server context takeover it
// also slides it into the server's history, so every compressed message
// must pass through Inflate, in order.
func (c *Conn) Inflate(payload []byte) ([]byte, error) {
	out, err := pmd.Inflate(c.zbuf[:0], payload, c.zin.Bytes(), maxInflate)
	if err != nil {
		return nil, fmt.Errorf("wsclient: inflate: %w", err)
	}
	c.zbuf = out
	c.zin.Append(out)
	return out, nil
}

// errContext: InflatePrefix on a connection whose server keeps context.
var errContext = errors.New("wsclient: InflatePrefix needs server_no_context_takeover")

// InflatePrefix returns the first n bytes (fewer if the message is
// shorter) a compressed payload inflates to, without inflating the rest:
// how the load generator reads the marker and timestamp of a broadcast.
// Only without server context takeover.
func (c *Conn) InflatePrefix(payload []byte, n int) ([]byte, error) {
	if c.zin.Size() > 0 {
		return nil, errContext
	}
	out, err := pmd.Inflate(c.zbuf[:0], payload, nil, n)
	if err != nil && !errors.Is(err, pmd.ErrTooLarge) {
		return nil, fmt.Errorf("wsclient: inflate: %w", err)
	}
	c.zbuf = out
	return out, nil
}

// AppendDeflated appends payload as one final masked frame, compressed
// alone (RSV1) when that makes it smaller, else plain.
func AppendDeflated(dst []byte, op byte, payload []byte, mask [4]byte) []byte {
	z := pmd.Deflate(nil, payload, nil)
	if len(z) < len(payload) {
		return appendFrameRSV(dst, op, 0x40, z, mask)
	}
	return AppendFrame(dst, op, payload, mask)
}

// Counters count socket bytes, both directions (TCP payload: WebSocket
// frames and handshakes, not TCP/IP headers).
type Counters struct {
	Rx, Tx atomic.Int64
}

type countConn struct {
	net.Conn
	c *Counters
}

func (c *countConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.c.Rx.Add(int64(n))
	return n, err
}

func (c *countConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.c.Tx.Add(int64(n))
	return n, err
}

// CompressLimit is the longest message the client compresses: its window
// (32 KiB unless the server limited it under client context takeover).
func (c *Conn) CompressLimit() int { return c.zmax }
