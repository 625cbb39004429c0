package engine

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// heldConn passes the client's first write (the ClientHello) through and
// holds every later one until flush sends them all in one write, so the
// server receives the client's Finished and whatever follows it at once.
type heldConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
	held   []byte
}

func (c *heldConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	if c.writes == 1 {
		return c.Conn.Write(b)
	}
	c.held = append(c.held, b...)
	return len(b), nil
}

func (c *heldConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.Conn.Write(c.held)
	c.held = nil
	return err
}

// TestTLSRecordsBehindFinished: records that arrive with the client's
// Finished (the upgrade request and messages, each in records of their
// own) wait in the handshake's pipe, untouched by crypto/tls, and are
// opened by the record layer once the handshake is done.
func TestTLSRecordsBehindFinished(t *testing.T) {
	for _, frames := range []int{0, 1, 20} {
		t.Run(fmt.Sprintf("frames=%d", frames), func(t *testing.T) {
			rec := newRecorder()
			rec.noEcho = true
			_, addr := startTLS(t, rec, nil)
			raw, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			hc := &heldConn{Conn: raw}
			tc := tls.Client(hc, clientTLS(t, tls.VersionTLS13))
			_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
			if err := tc.Handshake(); err != nil {
				t.Fatal(err)
			}
			req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
			if _, err := tc.Write([]byte(req)); err != nil {
				t.Fatal(err)
			}
			for i := range frames {
				if _, err := tc.Write(wstest.EncodeFrame(ws.OpText, true, 0, true, fmt.Appendf(nil, "message %d", i))); err != nil {
					t.Fatal(err)
				}
			}
			if err := hc.flush(); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(tc)
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("response %v %v, want 101", resp, err)
			}
			rec.nextOpen(t)
			next := func(want string) {
				t.Helper()
				select {
				case got := <-rec.msgSeen:
					if string(got) != want {
						t.Fatalf("message %q, want %q", got, want)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("no message %q within 5s", want)
				}
			}
			for i := range frames {
				next(fmt.Sprintf("message %d", i))
			}
			// The connection goes on under the record layer.
			if _, err := tc.Write(wstest.EncodeFrame(ws.OpText, true, 0, true, []byte("after"))); err != nil {
				t.Fatal(err)
			}
			if err := hc.flush(); err != nil {
				t.Fatal(err)
			}
			next("after")
		})
	}
}

// TestTLSHandshakeWritesThroughLoop: with every handshake write going
// through the loop (what happens after a short direct write), TLS 1.3 and
// 1.2 connections complete and echo.
func TestTLSHandshakeWritesThroughLoop(t *testing.T) {
	tlsLoopWrites.Store(true)
	defer tlsLoopWrites.Store(false)
	for _, v := range tlsVersions {
		t.Run(v.name, func(t *testing.T) {
			_, addr := startTLS(t, newRecorder(), nil)
			for i := range 3 {
				cl := dialTLS(t, addr, v.v)
				msg := fmt.Sprintf("hello %d", i)
				if err := cl.WriteText(msg); err != nil {
					t.Fatal(err)
				}
				if _, p, err := cl.ReadMessage(5 * time.Second); err != nil || string(p) != msg {
					t.Fatalf("echo %q %v, want %q", p, err, msg)
				}
				_ = cl.Close()
			}
		})
	}
}
