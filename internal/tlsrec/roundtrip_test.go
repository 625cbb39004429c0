package tlsrec

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/internal/tlsrec/tlstest"
)

// recorder keeps every byte written to a net.Conn.
type recorder struct {
	net.Conn
	mu      sync.Mutex
	written bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.written.Write(p)
	r.mu.Unlock()
	return r.Conn.Write(p)
}

// takeover runs a TLS 1.3 handshake with crypto/tls on both sides over a
// loopback socket, then returns the client's tls.Conn and a tlsrec.Conn
// that continues the server's side on the raw socket.
func takeover(t *testing.T, tickets bool) (*tls.Conn, net.Conn, *Conn) {
	t.Helper()
	cert, err := tlstest.New()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		raw net.Conn
		rec *Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		raw, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		rc := &recorder{Conn: raw}
		kl := &KeyLog{}
		cfg := cert.ServerConfig()
		cfg.KeyLogWriter = kl
		cfg.SessionTicketsDisabled = !tickets
		srv := tls.Server(rc, cfg)
		if err := srv.Handshake(); err != nil {
			done <- result{err: err}
			return
		}
		var c Conn
		rc.mu.Lock()
		err = c.Init(srv.ConnectionState().CipherSuite, kl, rc.written.Bytes())
		rc.mu.Unlock()
		kl.Clear()
		done <- result{raw: raw, rec: &c, err: err}
	}()
	ccfg := cert.ClientConfig("localhost")
	ccfg.MinVersion = tls.VersionTLS13
	if tickets {
		// Go's client asks for tickets only with a session cache.
		ccfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	}
	client, err := tls.Dial("tcp", ln.Addr().String(), ccfg)
	if err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { client.Close(); r.raw.Close() })
	if tickets && r.rec.Out.Seq() == 0 {
		t.Fatalf("with session tickets on, the server's sequence number should start past the NewSessionTicket record")
	}
	return client, r.raw, r.rec
}

// readRecord reads one record from raw.
func readRecord(t *testing.T, raw net.Conn) []byte {
	t.Helper()
	_ = raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	hdr := make([]byte, HeaderLen)
	if _, err := io.ReadFull(raw, hdr); err != nil {
		t.Fatal(err)
	}
	rec := make([]byte, RecordLen(hdr))
	copy(rec, hdr)
	if _, err := io.ReadFull(raw, rec[HeaderLen:]); err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestRoundTripWithCryptoTLS(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tickets bool
		size    int
	}{
		{"small", true, 100},
		{"no-tickets", false, 100},
		{"multi-record", true, 3*MaxPlaintext + 17},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, raw, c := takeover(t, tc.tickets)
			msg := bytes.Repeat([]byte("abcdefgh"), tc.size/8+1)[:tc.size]

			// client -> us
			wrote := make(chan error, 1)
			go func() { _, err := client.Write(msg); wrote <- err }()
			var in Cipher
			var got []byte
			for len(got) < len(msg) {
				var ev Event
				var err error
				got, ev, err = c.Read(&in, readRecord(t, raw), got)
				if err != nil || ev != EventNone {
					t.Fatalf("Read: %v %v", ev, err)
				}
			}
			if !bytes.Equal(got, msg) {
				t.Fatalf("received %d bytes, want %d", len(got), len(msg))
			}
			if err := <-wrote; err != nil {
				t.Fatal(err)
			}

			// us -> client
			var out Cipher
			wire, err := c.Write(&out, nil, msg[:1], msg[1:])
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Write(wire); err != nil {
				t.Fatal(err)
			}
			back := make([]byte, len(msg))
			_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadFull(client, back); err != nil || !bytes.Equal(back, msg) {
				t.Fatalf("client read: %v", err)
			}

			// close_notify both ways
			wire, _ = c.WriteAlert(&out, nil, AlertCloseNotify)
			_, _ = raw.Write(wire)
			if n, err := client.Read(back); err != io.EOF {
				t.Fatalf("client after close_notify: %d %v", n, err)
			}
			go client.Close()
			if _, ev, err := c.Read(&in, readRecord(t, raw), nil); err != nil || ev != EventCloseNotify {
				t.Fatalf("close_notify from client: %v %v", ev, err)
			}
		})
	}
}

// TestKeyUpdateWithCryptoTLS: we send KeyUpdate(update_requested); Go's
// client moves its read key, answers with its own KeyUpdate and goes on
// under its new write key, which we must follow.
func TestKeyUpdateWithCryptoTLS(t *testing.T) {
	client, raw, c := takeover(t, true)
	var in, out Cipher
	wire, err := c.WriteKeyUpdate(&out, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	wire, _ = c.Write(&out, wire, []byte("after update"), nil)
	if _, err := raw.Write(wire); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := client.Read(buf)
	if err != nil || string(buf[:n]) != "after update" {
		t.Fatalf("client read %q %v", buf[:n], err)
	}
	if _, err := client.Write([]byte("under new key")); err != nil {
		t.Fatal(err)
	}
	var got []byte
	for i := 0; i < 3 && string(got) != "under new key"; i++ {
		got, _, err = c.Read(&in, readRecord(t, raw), got)
		if err != nil {
			t.Fatal(err)
		}
	}
	if string(got) != "under new key" || c.In.Generation() != 1 || c.Out.Generation() != 1 {
		t.Fatalf("got %q, generations in %d out %d", got, c.In.Generation(), c.Out.Generation())
	}
}
