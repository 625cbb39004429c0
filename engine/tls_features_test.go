package engine

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/internal/tlsrec/tlstest"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// TestTLSClientCertificates: ClientAuth is crypto/tls's; the hook sees
// the verified peer certificate; a client without one is refused.
func TestTLSClientCertificates(t *testing.T) {
	clientCert, err := tlstest.New("client")
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan []*x509.Certificate, 1)
	srv, addr := startTLS(t, newRecorder(), func(c *Config) {
		c.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		c.TLS.ClientCAs = clientCert.Pool
		c.Upgrade = func(r *UpgradeRequest, _ *UpgradeResponse) error {
			seen <- r.TLS().PeerCertificates
			return nil
		}
	})
	for _, v := range tlsVersions {
		cfg := clientTLS(t, v.v)
		cfg.Certificates = []tls.Certificate{clientCert.TLS}
		cl := dial(t, addr, &wstest.DialOptions{TLS: cfg})
		if certs := <-seen; len(certs) != 1 || certs[0].Subject.CommonName != "client" {
			t.Fatalf("%s: hook saw %d certificates", v.name, len(certs))
		}
		if err := cl.WriteText("x"); err != nil {
			t.Fatal(err)
		}
		if _, got, err := cl.ReadMessage(5 * time.Second); err != nil || string(got) != "x" {
			t.Fatalf("%s: %q %v", v.name, got, err)
		}
	}
	// Without a certificate: TLS 1.2 fails in the handshake, TLS 1.3 at
	// the client's first read (the server's alert comes after its Finished).
	cl, err := wstest.Dial(addr, &wstest.DialOptions{TLS: clientTLS(t, 0), Timeout: 2 * time.Second})
	if err == nil {
		cl.Close()
		t.Fatal("client without a certificate upgraded")
	}
	waitFor(t, "failure counted", func() bool { return srv.Stats().TLS.HandshakesFailed >= 1 })
}

// TestTLSGetConfigForClient: the application's GetConfigForClient picks
// the certificate by SNI, and its KeyLogWriter still gets the lines.
func TestTLSGetConfigForClient(t *testing.T) {
	other, err := tlstest.New("other.example")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var logged int
	keyLog := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		logged++
		mu.Unlock()
		return len(p), nil
	})
	_, addr := startTLS(t, newRecorder(), func(c *Config) {
		base := c.TLS
		c.TLS = &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			if h.ServerName == "other.example" {
				cfg := other.ServerConfig()
				cfg.KeyLogWriter = keyLog
				return cfg, nil
			}
			return base, nil
		}}
	})
	for _, v := range tlsVersions {
		cfg := other.ClientConfig("other.example")
		cfg.MinVersion, cfg.MaxVersion = v.v, v.v
		cl := dial(t, addr, &wstest.DialOptions{TLS: cfg})
		if err := cl.WriteText("sni"); err != nil {
			t.Fatal(err)
		}
		if _, got, err := cl.ReadMessage(5 * time.Second); err != nil || string(got) != "sni" {
			t.Fatalf("%s: %q %v", v.name, got, err)
		}
	}
	dialTLS(t, addr, 0) // the default name still gets the base certificate
	mu.Lock()
	defer mu.Unlock()
	if logged == 0 {
		t.Fatal("the application's KeyLogWriter got nothing")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// stallConn lets crypto/tls write its ClientHello, then never delivers
// the server's answer: the server's handshake stays in progress.
type stallConn struct{ net.Conn }

func (stallConn) Read([]byte) (int, error) { select {} }

// TestTLSMaxHandshakes: past MaxTLSHandshakes in progress, a new
// connection is closed when its ClientHello arrives.
func TestTLSMaxHandshakes(t *testing.T) {
	srv, addr := startTLS(t, newRecorder(), func(c *Config) {
		c.MaxTLSHandshakes = 1
		c.TLSHandshakeWorkers = 1
	})
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = tls.Client(stallConn{raw}, clientTLS(t, 0)).Handshake() }()
	waitFor(t, "one handshake in progress", func() bool { return srv.Stats().TLS.HandshakesInProgress == 1 })
	if _, err := wstest.Dial(addr, &wstest.DialOptions{TLS: clientTLS(t, 0), Timeout: 2 * time.Second}); err == nil {
		t.Fatal("second handshake accepted past MaxTLSHandshakes")
	}
	if n := srv.Stats().Rejected["tls_handshakes"]; n != 1 {
		t.Fatalf("Rejected[tls_handshakes] = %d", n)
	}
	raw.Close()
	waitFor(t, "stalled handshake ended", func() bool { return srv.Stats().TLS.HandshakesInProgress == 0 })
	dialTLS(t, addr, 0)
}

// TestTLSHandshakeWorkers: with one worker, concurrent handshakes queue
// and all complete.
func TestTLSHandshakeWorkers(t *testing.T) {
	srv, addr := startTLS(t, newRecorder(), func(c *Config) { c.TLSHandshakeWorkers = 1 })
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := wstest.Dial(addr, &wstest.DialOptions{TLS: clientTLS(t, 0)})
			if err != nil {
				errs <- err
				return
			}
			c.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := srv.Stats().TLS.HandshakesCompleted; got != 20 {
		t.Fatalf("completed %d", got)
	}
}

// TestTLSHeartbeatsAndLimits: pings, the pong timeout and the message
// size limit work over wss:// as over ws://.
func TestTLSHeartbeatsAndLimits(t *testing.T) {
	for _, v := range tlsVersions {
		t.Run(v.name, func(t *testing.T) {
			rec := newRecorder()
			_, addr := startTLS(t, rec, func(c *Config) {
				c.PingInterval = 100 * time.Millisecond
				c.PongTimeout = 300 * time.Millisecond
				c.MaxMessageSize = 1000
			})
			cl := dialTLS(t, addr, v.v)
			f, err := cl.ReadFrame(5 * time.Second)
			if err != nil || f.Op != ws.OpPing {
				t.Fatalf("expected a ping: %+v %v", f, err)
			}
			if err := cl.WriteFrame(ws.OpPong, true, f.Payload); err != nil {
				t.Fatal(err)
			}
			if err := cl.WriteBinary(make([]byte, 1001)); err != nil {
				t.Fatal(err)
			}
			for {
				f, err := cl.ReadFrame(5 * time.Second)
				if err != nil {
					t.Fatal(err)
				}
				if f.Op == ws.OpClose {
					if code := int(f.Payload[0])<<8 | int(f.Payload[1]); code != 1009 {
						t.Fatalf("close %d", code)
					}
					break
				}
			}
			_ = cl.Close() // after a protocol error the server waits for TCP to close
			if ce := rec.nextClose(t); ce.Code != 1009 {
				t.Fatalf("OnClose %+v", ce)
			}

			// A client that stops answering pings is closed.
			quiet := dialTLS(t, addr, v.v)
			_ = quiet
			if ce := rec.nextClose(t); ce.Err != ErrPongTimeout {
				t.Fatalf("silent client: %+v", ce)
			}
		})
	}
}

// TestTLS12ChaCha20: TLS 1.2 with ChaCha20-Poly1305 (crypto/tls kept).
func TestTLS12ChaCha20(t *testing.T) {
	_, addr := startTLS(t, newRecorder(), nil)
	cfg := clientTLS(t, tls.VersionTLS12)
	cfg.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}
	cl := dial(t, addr, &wstest.DialOptions{TLS: cfg})
	if cs := cl.Conn.(*tls.Conn).ConnectionState().CipherSuite; cs != tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 {
		t.Fatalf("suite %x", cs)
	}
	if err := cl.WriteText("chacha"); err != nil {
		t.Fatal(err)
	}
	if _, got, err := cl.ReadMessage(5 * time.Second); err != nil || string(got) != "chacha" {
		t.Fatalf("%q %v", got, err)
	}
}

// TestTLSResumptionAndRetry: TLS 1.3 session resumption (the first
// connection's ticket took the server's first application sequence
// number), and a HelloRetryRequest (a second ClientHello), both echo.
func TestTLSResumptionAndRetry(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tweak func(*tls.Config)
	}{
		{"resumption", nil},
		{"hello retry", func(c *tls.Config) { c.CurvePreferences = []tls.CurveID{tls.CurveP256} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := startTLS(t, newRecorder(), func(c *Config) {
				if tc.tweak != nil {
					tc.tweak(c.TLS)
				}
			})
			cfg := clientTLS(t, tls.VersionTLS13)
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
			for i := 0; i < 2; i++ {
				cl := dial(t, addr, &wstest.DialOptions{TLS: cfg})
				if err := cl.WriteText("x"); err != nil {
					t.Fatal(err)
				}
				if _, got, err := cl.ReadMessage(5 * time.Second); err != nil || string(got) != "x" {
					t.Fatalf("connection %d: %q %v", i, got, err)
				}
				cs := cl.Conn.(*tls.Conn).ConnectionState()
				if tc.tweak == nil && i == 1 && !cs.DidResume {
					t.Fatal("second connection did not resume")
				}
				if tc.tweak != nil && cs.CurveID != tls.CurveP256 {
					t.Fatalf("curve %v", cs.CurveID)
				}
				_ = cl.Close()
			}
		})
	}
}

func TestTLSConfigChecks(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(*Config)
	}{
		{"no certificate", func(c *Config) { c.TLS = &tls.Config{} }},
		{"TLSAddr without TLS", func(c *Config) { c.TLSAddr = "127.0.0.1:0" }},
		{"bad TLSAddr", func(c *Config) { c.TLS = cert(t).ServerConfig(); c.TLSAddr = "nope" }},
		{"TLS 1.1 only", func(c *Config) { c.TLS = cert(t).ServerConfig(); c.TLS.MaxVersion = tls.VersionTLS11 }},
		{"negative workers", func(c *Config) { c.TLS = cert(t).ServerConfig(); c.TLSHandshakeWorkers = -1 }},
	} {
		cfg := DefaultConfig("127.0.0.1:0")
		tc.cfg(&cfg)
		if _, err := New(cfg, Handlers{}); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}
