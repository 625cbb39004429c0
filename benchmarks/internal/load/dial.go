package load

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/client"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// How the worker reaches the server:
//   - WebSocket connections are package client's (switchboard's public
//     client, on event loops: no goroutine per connection), dialled through
//     NetDial so that each binds its own source address;
//   - raw (plain TCP, the bare gnet floor) connections are net.Conns with a
//     reader goroutine each: there is no WebSocket to speak;
//   - stalled connections (a partial message left open for good) are raw
//     WebSocket connections from internal/wstest, the repository's client
//     for hostile input: package client never sends a frame it does not
//     finish;
//   - the subscribers of a compressed broadcast (all but one in
//     SampleEvery) are internal/wstest connections too, with a reader
//     goroutine each, so that the copies of a payload are not all inflated
//     (recv.go).

// ipBindAddressNoPort (IP_BIND_ADDRESS_NO_PORT, Linux 4.2+) defers the
// choice of source port to connect(2), where the whole 4-tuple is known, so
// one source address serves as many connections as it has ports per server.
const ipBindAddressNoPort = 24

type sourceKey struct{}

// WithSource returns ctx carrying the source address NetDial binds (nil:
// the kernel chooses).
func WithSource(ctx context.Context, ip net.IP) context.Context {
	if ip == nil {
		return ctx
	}
	return context.WithValue(ctx, sourceKey{}, ip)
}

// NetDial dials TCP from the source address in ctx (WithSource), for
// client.Dialer.NetDialContext. Its sockets close with a reset (SO_LINGER
// 0), leaving no TIME_WAIT behind to eat the source ports of later runs.
func NetDial(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	if ip, ok := ctx.Value(sourceKey{}).(net.IP); ok {
		nd.LocalAddr = &net.TCPAddr{IP: ip}
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
	nc, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	return nc, nil
}

// Permessage-deflate offers (Command.Deflate, loadgen -deflate).
const (
	// DeflateNoContextTakeover offers server_no_context_takeover and
	// client_no_context_takeover and needs the answer to hold
	// server_no_context_takeover.
	DeflateNoContextTakeover = "no-context-takeover"
	// DeflateContextTakeover offers permessage-deflate with
	// client_max_window_bits (as browsers do), leaving both directions free
	// to keep context, and needs an answer without
	// server_no_context_takeover.
	DeflateContextTakeover = "context-takeover"
	// DeflateServerContextTakeover offers client_no_context_takeover only:
	// the server keeps context, the client does not. It needs an answer
	// without server_no_context_takeover.
	DeflateServerContextTakeover = "server-context-takeover"
)

// compression maps an offer to package client's.
func compression(mode string) (client.Compression, error) {
	switch mode {
	case "":
		return client.CompressionOff, nil
	case DeflateNoContextTakeover:
		return client.CompressionNoContextTakeover, nil
	case DeflateContextTakeover:
		return client.CompressionContextTakeover, nil
	case DeflateServerContextTakeover:
		return client.CompressionServerContextTakeover, nil
	}
	return 0, fmt.Errorf("unknown deflate offer %q", mode)
}

// ErrNotNegotiated fails a dial whose answer did not agree to the
// permessage-deflate offer as made.
var ErrNotNegotiated = errors.New("permessage-deflate not negotiated as offered")

// agreed checks what a session agreed against the offer mode.
func agreed(c *client.Conn, mode string) error {
	if mode == "" {
		return nil // package client refuses an extension it did not offer
	}
	if !c.Deflate() {
		return fmt.Errorf("%w: no permessage-deflate in the answer", ErrNotNegotiated)
	}
	p := c.DeflateParams()
	switch mode {
	case DeflateNoContextTakeover:
		if !p.ServerNoContextTakeover {
			return fmt.Errorf("%w: the answer keeps server context", ErrNotNegotiated)
		}
	case DeflateContextTakeover, DeflateServerContextTakeover:
		if p.ServerNoContextTakeover {
			return fmt.Errorf("%w: the answer has no server context takeover", ErrNotNegotiated)
		}
	}
	return nil
}

// PartialFrame returns a masked binary frame whose header declares size
// bytes, with all of its payload ('s') but the last byte: written on a
// connection, it leaves the server holding an incomplete message.
func PartialFrame(size int) []byte {
	size = max(size, 2)
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = 's'
	}
	f := wstest.EncodeFrame(ws.OpBinary, true, 0, true, payload)
	return f[:len(f)-1]
}

// DialStalled opens a raw WebSocket connection (internal/wstest) from
// source src (nil: any), over TLS when tc is set, for a stalled message:
// every write it makes must end within writeTimeout. Close it with
// CloseStalled.
func DialStalled(addr, path string, src net.IP, tc *tls.Config, timeout, writeTimeout time.Duration) (*wstest.Client, error) {
	o := &wstest.DialOptions{Path: path, Timeout: timeout, TLS: tc}
	if src != nil {
		o.LocalAddr = src.String()
	}
	c, err := wstest.Dial(addr, o)
	if err != nil {
		return nil, err
	}
	c.WriteTimeout = writeTimeout
	return c, nil
}

// CloseStalled closes a stalled connection with a reset (no TIME_WAIT).
func CloseStalled(c *wstest.Client) error {
	nc := c.Conn
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn() // a reset, not a close_notify
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	return c.Close()
}

// WaitStalled reads a stalled connection's frames until the server ends
// it, answering nothing (a pong would land inside the open frame). It
// returns a *wstest.CloseError for a close frame, else the read error.
func WaitStalled(c *wstest.Client) error {
	for {
		f, err := c.ReadFrame(24 * time.Hour)
		if err != nil {
			return err
		}
		if f.Op == ws.OpClose {
			ce := &wstest.CloseError{Code: 1005}
			if len(f.Payload) >= 2 {
				ce.Code = binary.BigEndian.Uint16(f.Payload)
				ce.Reason = string(f.Payload[2:])
			}
			return ce
		}
	}
}
