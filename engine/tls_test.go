package engine

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/internal/tlsrec/tlstest"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

var (
	testCertOnce sync.Once
	testCert     *tlstest.Cert
)

func cert(t testing.TB) *tlstest.Cert {
	testCertOnce.Do(func() {
		c, err := tlstest.New("localhost", "127.0.0.1")
		if err != nil {
			panic(err)
		}
		testCert = c
	})
	return testCert
}

// startTLS runs a server serving TLS only on its address.
func startTLS(t testing.TB, h Handler, tweak func(*Config)) (*Server, string) {
	t.Helper()
	return startServer(t, h, func(c *Config) {
		c.TLS = cert(t).ServerConfig()
		if tweak != nil {
			tweak(c)
		}
	})
}

func clientTLS(t testing.TB, version uint16) *tls.Config {
	cfg := cert(t).ClientConfig("localhost")
	if version != 0 {
		cfg.MinVersion, cfg.MaxVersion = version, version
	}
	return cfg
}

func dialTLS(t testing.TB, addr string, version uint16) *wstest.Client {
	t.Helper()
	return dial(t, addr, &wstest.DialOptions{TLS: clientTLS(t, version)})
}

var tlsVersions = []struct {
	name string
	v    uint16
}{{"TLS1.3", tls.VersionTLS13}, {"TLS1.2", tls.VersionTLS12}}

func TestTLSEcho(t *testing.T) {
	for _, v := range tlsVersions {
		t.Run(v.name, func(t *testing.T) {
			rec := newRecorder()
			srv, addr := startTLS(t, rec, func(c *Config) { c.MaxMessageSize = 4 << 20 })
			cl := dialTLS(t, addr, v.v)
			if got := cl.Conn.(*tls.Conn).ConnectionState().Version; got != v.v {
				t.Fatalf("negotiated %x", got)
			}
			for _, tc := range []struct {
				op   ws.OpCode
				data []byte
			}{
				{ws.OpText, []byte("hello over wss")},
				{ws.OpBinary, []byte{0, 1, 2, 3}},
				{ws.OpText, []byte{}},
				{ws.OpBinary, bytes.Repeat([]byte{7}, 70000)},   // several records
				{ws.OpBinary, bytes.Repeat([]byte("x"), 1<<20)}, // 1 MiB
			} {
				if err := cl.WriteFrame(tc.op, true, tc.data); err != nil {
					t.Fatal(err)
				}
				op, got, err := cl.ReadMessage(10 * time.Second)
				if err != nil || op != tc.op || !bytes.Equal(got, tc.data) {
					t.Fatalf("echo of %d bytes: op %v, %d bytes, %v", len(tc.data), op, len(got), err)
				}
			}
			// ping / pong
			if err := cl.WriteFrame(ws.OpPing, true, []byte("p")); err != nil {
				t.Fatal(err)
			}
			f, err := cl.ReadFrame(5 * time.Second)
			if err != nil || f.Op != ws.OpPong || string(f.Payload) != "p" {
				t.Fatalf("pong: %+v %v", f, err)
			}
			// close handshake
			if err := cl.WriteClose(1000, "bye"); err != nil {
				t.Fatal(err)
			}
			code, _, err := cl.ExpectClose(5 * time.Second)
			if err != nil || code != 1000 {
				t.Fatalf("close: %d %v", code, err)
			}
			if ce := rec.nextClose(t); ce.Code != 1000 || !ce.Remote {
				t.Fatalf("OnClose %+v", ce)
			}
			st := srv.Stats().TLS
			if st.HandshakesCompleted != 1 || st.BytesIn == 0 || st.BytesOut == 0 {
				t.Fatalf("stats %+v", st)
			}
			if v.v == tls.VersionTLS13 && st.TLS13 != 1 || v.v == tls.VersionTLS12 && st.TLS12 != 1 {
				t.Fatalf("version counters %+v", st)
			}
		})
	}
}

// TestTLSWriteFromOtherGoroutine: Conn.Write* from any goroutine is
// sealed on the loop, in order.
func TestTLSWriteFromOtherGoroutine(t *testing.T) {
	for _, v := range tlsVersions {
		t.Run(v.name, func(t *testing.T) {
			rec := newRecorder()
			_, addr := startTLS(t, rec, nil)
			cl := dialTLS(t, addr, v.v)
			c := rec.nextOpen(t)
			const n = 200
			go func() {
				for i := 0; i < n; i++ {
					_ = c.WriteText([]byte(strings.Repeat("a", i*50)))
				}
			}()
			for i := 0; i < n; i++ {
				_, got, err := cl.ReadMessage(5 * time.Second)
				if err != nil || len(got) != i*50 {
					t.Fatalf("message %d: %d bytes, %v", i, len(got), err)
				}
			}
		})
	}
}

// TestTLSShutdown: graceful shutdown sends close 1001, then close_notify.
func TestTLSShutdown(t *testing.T) {
	for _, v := range tlsVersions {
		t.Run(v.name, func(t *testing.T) {
			rec := newRecorder()
			srv, addr := startTLS(t, rec, func(c *Config) { c.CloseTimeout = time.Second })
			cl := dialTLS(t, addr, v.v)
			rec.nextOpen(t)
			done := make(chan error, 1)
			go func() {
				ctx, cancel := contextWithTimeout(5 * time.Second)
				defer cancel()
				done <- srv.Shutdown(ctx)
			}()
			code, _, err := cl.ExpectClose(5 * time.Second)
			if err != nil || code != 1001 {
				t.Fatalf("close frame: %d %v", code, err)
			}
			if err := cl.WriteClose(1001, ""); err != nil {
				t.Fatal(err)
			}
			// The connection ends cleanly (TestTLSShutdownCloseNotify sees
			// the close_notify record itself).
			_ = cl.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := cl.Conn.Read(make([]byte, 16)); err != io.EOF {
				t.Fatalf("after close: %v, want io.EOF", err)
			}
			if err := <-done; err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
		})
	}
}

// TestTLSUpgradeHookSeesState: the hook sees SNI, version and ALPN.
func TestTLSUpgradeHookSeesState(t *testing.T) {
	got := make(chan tls.ConnectionState, 1)
	_, addr := startTLS(t, newRecorder(), func(c *Config) {
		c.TLS.NextProtos = []string{"http/1.1"}
		c.Upgrade = func(r *UpgradeRequest, _ *UpgradeResponse) error {
			if cs := r.TLS(); cs != nil {
				got <- *cs
			} else {
				got <- tls.ConnectionState{}
			}
			return nil
		}
	})
	cfg := clientTLS(t, 0)
	cfg.NextProtos = []string{"http/1.1"}
	dial(t, addr, &wstest.DialOptions{TLS: cfg})
	cs := <-got
	if cs.ServerName != "localhost" || cs.Version != tls.VersionTLS13 || cs.NegotiatedProtocol != "http/1.1" || !cs.HandshakeComplete {
		t.Fatalf("hook saw %+v", cs)
	}
}

// TestTLSAndPlainAddr: Addr plain and TLSAddr TLS on one server.
func TestTLSAndPlainAddr(t *testing.T) {
	rec := newRecorder()
	srv, addr := startServer(t, rec, func(c *Config) {
		c.TLS = cert(t).ServerConfig()
		c.TLSAddr = "127.0.0.1:0"
	})
	taddr := srv.TLSAddr()
	if taddr == "" || taddr == addr {
		t.Fatalf("TLSAddr %q, Addr %q", taddr, addr)
	}
	var hookTLS []bool
	var mu sync.Mutex
	_ = hookTLS
	plain := dial(t, addr, nil)
	secure := dialTLS(t, taddr, 0)
	for _, cl := range []*wstest.Client{plain, secure} {
		if err := cl.WriteText("x"); err != nil {
			t.Fatal(err)
		}
		if _, got, err := cl.ReadMessage(5 * time.Second); err != nil || string(got) != "x" {
			t.Fatalf("echo: %q %v", got, err)
		}
	}
	mu.Lock()
	mu.Unlock()
	// TLS on the plain port fails; plain on the TLS port gets a 400.
	if _, err := wstest.Dial(addr, &wstest.DialOptions{TLS: clientTLS(t, 0), Timeout: 2 * time.Second}); err == nil {
		t.Fatal("TLS handshake succeeded on the plain address")
	}
	_, err := wstest.Dial(taddr, &wstest.DialOptions{Timeout: 2 * time.Second})
	var he *wstest.HandshakeError
	if !errors.As(err, &he) || he.Status != 400 || !strings.Contains(string(he.Body), "HTTP request to an HTTPS server") {
		t.Fatalf("plain request on the TLS port: %v", err)
	}
}

// TestTLSHandshakeFailure: a client that does not trust the certificate
// ends its handshake; the server counts a failure and keeps serving.
func TestTLSHandshakeFailure(t *testing.T) {
	srv, addr := startTLS(t, newRecorder(), nil)
	_, err := wstest.Dial(addr, &wstest.DialOptions{TLS: &tls.Config{ServerName: "localhost"}, Timeout: 2 * time.Second})
	if err == nil {
		t.Fatal("untrusted certificate accepted")
	}
	waitFor(t, "failed handshake counted", func() bool { return srv.Stats().TLS.HandshakesFailed == 1 })
	waitFor(t, "no handshake in progress", func() bool { return srv.Stats().TLS.HandshakesInProgress == 0 })
	cl := dialTLS(t, addr, 0)
	if err := cl.WriteText("still here"); err != nil {
		t.Fatal(err)
	}
	if _, got, err := cl.ReadMessage(5 * time.Second); err != nil || string(got) != "still here" {
		t.Fatalf("%q %v", got, err)
	}
}

// TestTLSClientCloseNotify: a client's close_notify without a close frame
// ends the connection as an abnormal closure.
func TestTLSClientCloseNotify(t *testing.T) {
	rec := newRecorder()
	_, addr := startTLS(t, rec, nil)
	cl := dialTLS(t, addr, 0)
	rec.nextOpen(t)
	if err := cl.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if ce := rec.nextClose(t); ce.Code != 1006 {
		t.Fatalf("OnClose %+v", ce)
	}
}

var _ = net.Dial
