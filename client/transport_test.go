package client

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
)

// selfSigned makes a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "switchboard test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// splice copies both ways until either side closes.
func splice(a, b net.Conn) {
	var wg sync.WaitGroup
	wg.Add(2)
	cp := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		} else {
			_ = dst.Close()
		}
	}
	go cp(a, b)
	go cp(b, a)
	wg.Wait()
	_ = a.Close()
	_ = b.Close()
}

// tlsFront terminates TLS in front of the engine (whose own TLS layer is
// another piece of work) and returns its address.
func tlsFront(t *testing.T, backend string, cert tls.Certificate, maxVersion uint16) string {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: maxVersion})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				b, err := net.Dial("tcp", backend)
				if err != nil {
					_ = c.Close()
					return
				}
				splice(c, b)
			}()
		}
	}()
	return ln.Addr().String()
}

func TestWSS(t *testing.T) {
	cert, pool := selfSigned(t)
	_, backend := echoServer(t, func(c *engine.Config) { c.Deflate = codec.DeflatePolicy{Mode: codec.DeflateNoContextTakeover} })
	for _, tc := range []struct {
		name    string
		version uint16
		tls     *tls.Config
		comp    Compression
		fail    bool
	}{
		{name: "TLS 1.3 trusted", version: tls.VersionTLS13, tls: &tls.Config{RootCAs: pool}},
		{name: "TLS 1.2 trusted with deflate", version: tls.VersionTLS12, tls: &tls.Config{RootCAs: pool}, comp: CompressionNoContextTakeover},
		{name: "insecure", version: tls.VersionTLS13, tls: &tls.Config{InsecureSkipVerify: true}},
		{name: "untrusted", version: tls.VersionTLS13, tls: nil, fail: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := tlsFront(t, backend, cert, tc.version)
			rec := newRecorder()
			d := &Dialer{Client: newClient(t), TLSConfig: tc.tls, Compression: tc.comp}
			c, err := d.Dial(ctx10(t), "wss://"+addr+"/", rec)
			if tc.fail {
				var cv *tls.CertificateVerificationError
				if !errors.As(err, &cv) || DefaultRetry(err) {
					t.Fatalf("err = %v, want a certificate error that is not retried", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Sizes around TLS record boundaries (16 KiB) and a large one.
			for _, n := range []int{1, 1000, 16 << 10, 16<<10 + 1, 300 << 10} {
				msg := strings.Repeat("s", n)
				if err := c.WriteText([]byte(msg)); err != nil {
					t.Fatal(err)
				}
				if got := rec.next(t); got != msg {
					t.Fatalf("%d bytes: got %d", n, len(got))
				}
			}
			// Writes from another goroutine go through the loop's TLS too.
			done := make(chan error, 1)
			go func() { done <- c.WriteBinary([]byte("from elsewhere")) }()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if rec.next(t) != "from elsewhere" {
				t.Fatal("off-loop write")
			}
			_ = c.Close(codec.CloseNormal, "")
			var ce *CloseError
			if err := rec.closed(t); !errors.As(err, &ce) || ce.Code != codec.CloseNormal {
				t.Fatalf("close %v", err)
			}
		})
	}
}

// connectProxy is a tiny HTTP CONNECT proxy; user:pass is required when set.
func connectProxy(t *testing.T, userpass string, used *atomic.Int32) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				r := bufio.NewReader(c)
				req, err := http.ReadRequest(r)
				if err != nil || req.Method != "CONNECT" {
					_ = c.Close()
					return
				}
				if userpass != "" && req.Header.Get("Proxy-Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte(userpass)) {
					_, _ = c.Write([]byte("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nContent-Length: 4\r\n\r\nauth"))
					_ = c.Close()
					return
				}
				b, err := net.Dial("tcp", req.Host)
				if err != nil {
					_, _ = c.Write([]byte("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"))
					_ = c.Close()
					return
				}
				used.Add(1)
				_, _ = c.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
				splice(c, b)
			}()
		}
	}()
	return ln.Addr().String()
}

func TestProxyConnect(t *testing.T) {
	_, backend := echoServer(t, nil)
	var used atomic.Int32
	proxy := connectProxy(t, "alice:s3cret", &used)
	cl := newClient(t)
	for _, tc := range []struct {
		name   string
		user   *url.Userinfo
		status int
	}{
		{"authenticated", url.UserPassword("alice", "s3cret"), 0},
		{"wrong password", url.UserPassword("alice", "nope"), 407},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pu := &url.URL{Scheme: "http", Host: proxy, User: tc.user}
			rec := newRecorder()
			d := &Dialer{Client: cl, Proxy: http.ProxyURL(pu)}
			c, err := d.Dial(ctx10(t), "ws://"+backend+"/", rec)
			if tc.status != 0 {
				var he *HandshakeError
				if !errors.As(err, &he) || !he.Proxy || he.Status != tc.status || string(he.Body) != "auth" {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_ = c.WriteText([]byte("through the tunnel"))
			if rec.next(t) != "through the tunnel" {
				t.Fatal("echo")
			}
			_ = c.Close(codec.CloseNormal, "")
			rec.closed(t)
		})
	}
	if used.Load() != 1 {
		t.Fatalf("proxy tunnelled %d connections, want 1", used.Load())
	}
}

// Many connections on one Client, each echoing once.
func TestManyConnections(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 200
	}
	_, addr := echoServer(t, nil)
	cl := newClient(t)
	var got atomic.Int32
	var closed atomic.Int32
	all := make(chan struct{})
	h := Handlers{
		Message: func(c *Conn, _ MessageType, data []byte) {
			if got.Add(1) == int32(n) {
				close(all)
			}
		},
		Close: func(*Conn, error) { closed.Add(1) },
	}
	d := &Dialer{Client: cl}
	conns := make([]*Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 32)
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := d.Dial(ctx10(t), "ws://"+addr+"/", h)
			if err != nil {
				errs <- err
				return
			}
			conns[i] = c
			_ = c.WriteText([]byte("hi"))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	select {
	case <-all:
	case <-time.After(30 * time.Second):
		t.Fatalf("%d of %d echoes", got.Load(), n)
	}
	if cl.Conns() != n {
		t.Fatalf("Conns() = %d", cl.Conns())
	}
	for _, c := range conns {
		_ = c.Close(codec.CloseNormal, "")
	}
	deadline := time.Now().Add(30 * time.Second)
	for closed.Load() < int32(n) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if closed.Load() != int32(n) || cl.Conns() != 0 {
		t.Fatalf("%d closed, Conns() = %d", closed.Load(), cl.Conns())
	}
}

func TestDialOnLoopRefused(t *testing.T) {
	_, addr := echoServer(t, nil)
	cl := newClient(t)
	res := make(chan error, 1)
	d := &Dialer{Client: cl}
	_, err := d.Dial(ctx10(t), "ws://"+addr+"/", Handlers{Open: func(c *Conn) {
		_, err := d.Dial(ctx10(t), "ws://"+addr+"/", nil)
		res <- err
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-res; err != ErrDialOnLoop {
		t.Fatalf("Dial on a loop: %v", err)
	}
}
