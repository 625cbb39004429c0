package engine

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/internal/tlsrec"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// rawTLSClient is a TLS 1.3 client whose handshake crypto/tls runs and
// whose record layer the test then drives itself with tlsrec (Go's client
// never sends KeyUpdate on its own).
type rawTLSClient struct {
	t        *testing.T
	conn     net.Conn
	br       *bufio.Reader
	in, out  tlsrec.Direction
	ic, oc   tlsrec.Cipher
	received []byte
}

func dialRawTLS(t *testing.T, addr string) *rawTLSClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	kl := &tlsrec.KeyLog{}
	cfg := clientTLS(t, tls.VersionTLS13)
	cfg.KeyLogWriter = kl // no session cache: the server sends no ticket
	tc := tls.Client(conn, cfg)
	_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	client, server := kl.Secrets()
	c := &rawTLSClient{t: t, conn: conn, br: bufio.NewReader(conn)}
	suite := tc.ConnectionState().CipherSuite
	if err := c.out.Init(suite, client, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.in.Init(suite, server, 0); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func (c *rawTLSClient) send(typ byte, p []byte) {
	c.t.Helper()
	wire, err := tlsrec.Seal(&c.out, &c.oc, nil, typ, p, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.conn.Write(wire); err != nil {
		c.t.Fatal(err)
	}
}

// record reads and opens one record from the server.
func (c *rawTLSClient) record() (byte, []byte) {
	c.t.Helper()
	hdr := make([]byte, tlsrec.HeaderLen)
	if _, err := io.ReadFull(c.br, hdr); err != nil {
		c.t.Fatal(err)
	}
	rec := make([]byte, tlsrec.RecordLen(hdr))
	copy(rec, hdr)
	if _, err := io.ReadFull(c.br, rec[tlsrec.HeaderLen:]); err != nil {
		c.t.Fatal(err)
	}
	typ, p, err := tlsrec.Open(&c.in, &c.ic, nil, rec)
	if err != nil {
		c.t.Fatal(err)
	}
	return typ, p
}

// readUntil reads application data until it contains want.
func (c *rawTLSClient) readUntil(want string) {
	c.t.Helper()
	for !bytes.Contains(c.received, []byte(want)) {
		typ, p := c.record()
		if typ == tlsrec.TypeHandshake && len(p) == 5 && p[0] == 24 {
			if err := c.in.Update(); err != nil { // the server's KeyUpdate
				c.t.Fatal(err)
			}
			continue
		}
		if typ != tlsrec.TypeApplicationData {
			c.t.Fatalf("record of type %d: %x", typ, p)
		}
		c.received = append(c.received, p...)
	}
}

// TestTLSKeyUpdate: a client's KeyUpdate with update_requested moves the
// server's read key, and the server answers with its own KeyUpdate
// before its next data, which then comes under its next key.
func TestTLSKeyUpdate(t *testing.T) {
	srv, addr := startTLS(t, newRecorder(), nil)
	c := dialRawTLS(t, addr)
	c.send(tlsrec.TypeApplicationData, []byte(upgradeRequest))
	c.readUntil("\r\n\r\n")
	if !strings.HasPrefix(string(c.received), "HTTP/1.1 101") {
		t.Fatalf("upgrade answered %q", c.received)
	}
	c.received = nil
	c.send(tlsrec.TypeApplicationData, wstest.EncodeFrame(ws.OpText, true, 0, true, []byte("before")))
	c.readUntil("before")

	// KeyUpdate(update_requested), then a frame under the next key.
	c.send(tlsrec.TypeHandshake, []byte{24, 0, 0, 1, 1})
	if err := c.out.Update(); err != nil {
		t.Fatal(err)
	}
	c.send(tlsrec.TypeApplicationData, wstest.EncodeFrame(ws.OpText, true, 0, true, []byte("after")))
	c.readUntil("after")
	if c.in.Generation() != 1 {
		t.Fatalf("server did not answer with its own KeyUpdate (read generation %d)", c.in.Generation())
	}
	// And once more, without asking for an answer.
	c.send(tlsrec.TypeHandshake, []byte{24, 0, 0, 1, 0})
	_ = c.out.Update()
	c.send(tlsrec.TypeApplicationData, wstest.EncodeFrame(ws.OpText, true, 0, true, []byte("again")))
	c.readUntil("again")
	if c.in.Generation() != 1 {
		t.Fatalf("server updated its key unasked (generation %d)", c.in.Generation())
	}
	if got := srv.Stats().TLS.KeyUpdates; got != 2 {
		t.Fatalf("Stats.TLS.KeyUpdates = %d", got)
	}
}

// TestTLSRecordErrors: after the handshake, a record that fails to open,
// an oversized one, or a renegotiation attempt each end the connection
// with the alert RFC 8446 names, counted in Stats.TLS.Alerts.
func TestTLSRecordErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		send  func(c *rawTLSClient)
		alert tlsrec.Alert
	}{
		{"bad MAC", func(c *rawTLSClient) {
			wire, _ := tlsrec.Seal(&c.out, &c.oc, nil, tlsrec.TypeApplicationData, []byte("x"), nil)
			wire[len(wire)-1] ^= 0xff
			_, _ = c.conn.Write(wire)
		}, tlsrec.AlertBadRecordMAC},
		{"oversized record", func(c *rawTLSClient) {
			n := tlsrec.MaxCiphertext + 1
			_, _ = c.conn.Write([]byte{23, 3, 3, byte(n >> 8), byte(n)})
		}, tlsrec.AlertRecordOverflow},
		{"renegotiation", func(c *rawTLSClient) {
			c.send(tlsrec.TypeHandshake, []byte{1, 0, 0, 0}) // a ClientHello
		}, tlsrec.AlertUnexpectedMessage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, addr := startTLS(t, newRecorder(), nil)
			healthy := dialTLS(t, addr, 0)
			c := dialRawTLS(t, addr)
			tc.send(c)
			typ, p := c.record()
			if typ != tlsrec.TypeAlert || len(p) != 2 || tlsrec.Alert(p[1]) != tc.alert {
				t.Fatalf("got record type %d %x, want alert %v", typ, p, tc.alert)
			}
			if _, err := c.br.ReadByte(); err != io.EOF {
				t.Fatalf("connection not closed after the alert: %v", err)
			}
			waitFor(t, "alert counted", func() bool { return srv.Stats().TLS.Alerts == 1 })
			if err := healthy.WriteText("ok"); err != nil {
				t.Fatal(err)
			}
			if _, got, err := healthy.ReadMessage(5 * time.Second); err != nil || string(got) != "ok" {
				t.Fatalf("healthy connection: %q %v", got, err)
			}
		})
	}
}

// TestTLSPartialRecordBudget: the bytes of a partial record count in the
// inbound budget while they wait; past it the connection gets 1013, and
// the budget is whole again once it is gone.
func TestTLSPartialRecordBudget(t *testing.T) {
	srv, addr := startTLS(t, newRecorder(), func(c *Config) { c.InboundBudget = 8 << 10 })
	c := dialRawTLS(t, addr)
	c.send(tlsrec.TypeApplicationData, []byte(upgradeRequest))
	c.readUntil("\r\n\r\n")
	c.received = nil

	// 4 KiB of a 16 KiB record: held and counted.
	n := 16 << 10
	if _, err := c.conn.Write(append([]byte{23, 3, 3, byte(n >> 8), byte(n)}, make([]byte, 4<<10)...)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "partial record counted", func() bool { return srv.Stats().InboundBuffered >= 4<<10 })
	// 8 KiB more: over the budget.
	if _, err := c.conn.Write(make([]byte, 8<<10)); err != nil {
		t.Fatal(err)
	}
	c.readUntil("\x88") // a close frame
	i := bytes.IndexByte(c.received, 0x88)
	if len(c.received) < i+4 || int(c.received[i+2])<<8|int(c.received[i+3]) != 1013 {
		t.Fatalf("close frame %x", c.received[i:])
	}
	c.conn.Close()
	waitFor(t, "budget given back", func() bool { return srv.Stats().InboundBuffered == 0 })
}

// TestTLSShutdownCloseNotify: a graceful shutdown sends the close frame
// (1001), then close_notify, then closes TCP.
func TestTLSShutdownCloseNotify(t *testing.T) {
	rec := newRecorder()
	srv, addr := startTLS(t, rec, nil)
	c := dialRawTLS(t, addr)
	c.send(tlsrec.TypeApplicationData, []byte(upgradeRequest))
	c.readUntil("\r\n\r\n")
	c.received = nil
	rec.nextOpen(t)
	go func() {
		ctx, cancel := contextWithTimeout(5 * time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	c.readUntil("\x88") // the close frame
	i := bytes.IndexByte(c.received, 0x88)
	if len(c.received) < i+4 || int(c.received[i+2])<<8|int(c.received[i+3]) != 1001 {
		t.Fatalf("close frame %x", c.received[i:])
	}
	c.send(tlsrec.TypeApplicationData, wstest.EncodeFrame(ws.OpClose, true, 0, true, wstest.CloseBody(1001, "")))
	typ, p := c.record()
	if typ != tlsrec.TypeAlert || len(p) != 2 || tlsrec.Alert(p[1]) != tlsrec.AlertCloseNotify {
		t.Fatalf("after the close handshake: record type %d %x, want close_notify", typ, p)
	}
	if _, err := c.br.ReadByte(); err != io.EOF {
		t.Fatalf("TCP not closed after close_notify: %v", err)
	}
}
