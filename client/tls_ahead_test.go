package client

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"testing"

	"github.com/switchboard-ws/switchboard/engine"
)

// TestHandshakeReadAhead: the handshake reads the server's flight ahead,
// reads are exact from then on, and the upgrade consumes what was read
// ahead in order: the socket is at a record boundary once the 101 is read,
// and the first frame behind it arrives intact. With a session cache the
// client offers resumption, so the engine's crypto/tls sends a
// NewSessionTicket in the same write as its Finished: left read ahead when
// the handshake returns, and read by crypto/tls before the 101.
func TestHandshakeReadAhead(t *testing.T) {
	cert := testCert(t)
	_, addr := startServer(t, func() engine.Config {
		c := engine.DefaultConfig("127.0.0.1:0")
		c.TLS = cert.ServerConfig()
		return c
	}(), engine.Handlers{Open: func(c *engine.Conn) { _ = c.WriteText([]byte("welcome")) }})
	for _, tc := range []struct {
		name      string
		max       uint16
		cache     bool
		wantAhead bool // bytes left read ahead after the handshake
	}{
		{"TLS 1.2", tls.VersionTLS12, false, false},
		{"TLS 1.3 record layer", tls.VersionTLS13, false, false},
		{"TLS 1.3 session cache", tls.VersionTLS13, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			cfg := cert.ClientConfig("localhost")
			cfg.MaxVersion = tc.max
			if tc.cache {
				cfg.ClientSessionCache = tls.NewLRUClientSessionCache(2)
			}
			sec, rw, err := handshake(ctx10(t), nc, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !sec.early.exact {
				t.Fatal("reads not exact after the handshake")
			}
			if got := sec.early.buffered(); (got > 0) != tc.wantAhead {
				t.Fatalf("%d bytes read ahead after the handshake", got)
			}
			req := "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
			if _, err := rw.Write([]byte(req)); err != nil {
				t.Fatal(err)
			}
			head, rest, err := readHead(rw, DefaultMaxResponseHead)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(head, []byte("HTTP/1.1 101")) {
				t.Fatalf("head %q", head)
			}
			if err := sec.settle(); err != nil {
				t.Fatal(err)
			}
			if sec.early != nil {
				t.Fatal("settle kept the reader")
			}
			if sec.pipe != nil && sec.pipe.rr.ahead != nil {
				t.Fatal("the pipe crypto/tls keeps on the loop kept the read-ahead buffer")
			}
			// The server's first frame: in rest, or next on the stream.
			want := []byte{0x81, 7, 'w', 'e', 'l', 'c', 'o', 'm', 'e'}
			if rs, ok := rw.(*recStream); ok {
				rest = append(rest, rs.plain...)
				rs.plain = nil
			}
			for len(rest) < len(want) {
				b := make([]byte, 64)
				n, err := rw.Read(b)
				if err != nil {
					t.Fatalf("after %q: %v", rest, err)
				}
				rest = append(rest, b[:n]...)
			}
			if !bytes.Equal(rest, want) {
				t.Fatalf("first frame %x, want %x", rest, want)
			}
		})
	}
}

// TestSettleEarlyRecords: bytes still read ahead when the upgrade's answer
// is complete end the dial (they were sent before the request).
func TestSettleEarlyRecords(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ahead    []byte
		aoff     int
		wantFail bool
	}{
		{"nothing read ahead", nil, 0, false},
		{"all consumed", []byte{23, 3, 3, 0, 1, 9}, 6, false},
		{"a record left", []byte{23, 3, 3, 0, 1, 9}, 0, true},
		{"part of a record left", []byte{23, 3, 3, 0, 1, 9}, 4, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rr := &recordReader{ahead: tc.ahead, aoff: tc.aoff, aend: len(tc.ahead), exact: true}
			s := &secure{early: rr}
			err := s.settle()
			if tc.wantFail != (err != nil) {
				t.Fatalf("settle: %v", err)
			}
			if err != nil && !errors.Is(err, errEarlyRecords) {
				t.Fatalf("settle: %v", err)
			}
		})
	}
	if err := (&secure{}).settle(); err != nil {
		t.Fatalf("no reader: %v", err)
	}
}
