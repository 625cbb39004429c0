package tlsflags

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// writePair writes c as PEM files in dir and returns their paths.
func writePair(t *testing.T, dir, name string, c tls.Certificate) (certFile, keyFile string) {
	t.Helper()
	key, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func mustSelfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	c, err := SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFlagsAndLoad(t *testing.T) {
	dir := t.TempDir()
	cert, key := writePair(t, dir, "a", mustSelfSigned(t))
	for _, c := range []struct {
		args       []string
		enabled    bool
		selfSigned bool
		addr       string
		err        string
	}{
		{args: nil},
		{args: []string{"-tls-self-signed"}, enabled: true, selfSigned: true},
		{args: []string{"-tls-self-signed", "-tls-addr", "127.0.0.1:8443"}, enabled: true, selfSigned: true, addr: "127.0.0.1:8443"},
		{args: []string{"-tls-cert", cert, "-tls-key", key}, enabled: true},
		{args: []string{"-tls-cert", cert, "-tls-key", key, "-tls-addr", ":8443"}, enabled: true, addr: ":8443"},
		{args: []string{"-tls-cert", cert}, err: "go together"},
		{args: []string{"-tls-key", key}, err: "go together"},
		{args: []string{"-tls-cert", cert, "-tls-key", key, "-tls-self-signed"}, err: "exclude each other"},
		{args: []string{"-tls-addr", ":8443"}, err: "-tls-addr needs"},
		{args: []string{"-tls-cert", key, "-tls-key", cert}, err: "-tls-cert " + key},
		{args: []string{"-tls-cert", filepath.Join(dir, "missing.pem"), "-tls-key", key}, err: "no such file"},
	} {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		o := FlagsOn(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		got, err := o.Load()
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%v: error %v, want one containing %q", c.args, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", c.args, err)
			continue
		}
		if got.Enabled() != c.enabled || got.SelfSigned != c.selfSigned || got.Addr != c.addr {
			t.Errorf("%v: enabled %v self-signed %v addr %q", c.args, got.Enabled(), got.SelfSigned, got.Addr)
		}
		if c.enabled && (got.Config.MinVersion != tls.VersionTLS12 || got.Pin == "" || got.Config.GetCertificate == nil) {
			t.Errorf("%v: config %+v pin %q", c.args, got.Config, got.Pin)
		}
	}
}

// handshake runs a TLS handshake of a client trusting roots, for
// serverName, against cfg over a pipe; it returns the certificate served.
func handshake(t *testing.T, cfg *tls.Config, roots *x509.CertPool, serverName string, version uint16) (*x509.Certificate, error) {
	t.Helper()
	// Loopback TCP, not net.Pipe: a failing side's alert must not block on
	// an unbuffered write.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	b, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	a, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	_ = a.SetDeadline(time.Now().Add(10 * time.Second))
	_ = b.SetDeadline(time.Now().Add(10 * time.Second))
	srv := tls.Server(a, cfg)
	go func() { _ = srv.Handshake(); _ = srv.Close() }()
	cl := tls.Client(b, &tls.Config{RootCAs: roots, ServerName: serverName, MinVersion: version, MaxVersion: version})
	if err := cl.Handshake(); err != nil {
		return nil, err
	}
	st := cl.ConnectionState()
	if st.Version != version {
		t.Errorf("negotiated %x, want %x", st.Version, version)
	}
	return st.PeerCertificates[0], nil
}

// The self-signed certificate verifies for localhost and both loopback
// addresses (once trusted), over TLS 1.2 and 1.3, and nothing else.
func TestSelfSignedHandshake(t *testing.T) {
	o := &Options{SelfSigned: true}
	got, err := o.Load()
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := got.Config.GetCertificate(nil)
	if k := leaf.Leaf.PublicKeyAlgorithm; k != x509.ECDSA {
		t.Errorf("key algorithm %v, want ECDSA", k)
	}
	if d := leaf.Leaf.NotAfter.Sub(time.Now()); d <= 0 || d > SelfSignedValidity {
		t.Errorf("valid for %v more", d)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf.Leaf)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
			if _, err := handshake(t, got.Config, roots, name, v); err != nil {
				t.Errorf("TLS %x to %s: %v", v, name, err)
			}
		}
		if _, err := handshake(t, got.Config, roots, "example.com", v); err == nil {
			t.Errorf("TLS %x: example.com verified against a localhost certificate", v)
		}
		if _, err := handshake(t, got.Config, nil, "localhost", v); err == nil {
			t.Errorf("TLS %x: a self-signed certificate verified against the system roots", v)
		}
	}
	if _, err := handshake(t, got.Config, roots, "localhost", tls.VersionTLS11); err == nil {
		t.Error("TLS 1.1 accepted")
	}
	var out bytes.Buffer
	got.Print(&out)
	for _, want := range []string{"self-signed", "localhost, 127.0.0.1, ::1", "--ignore-certificate-errors-spki-list=" + got.Pin} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("Print wrote %q, missing %q", out.String(), want)
		}
	}
}

// Reload swaps the served pair; a failed reload keeps the old one.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	first, second := mustSelfSigned(t), mustSelfSigned(t)
	certFile, keyFile := writePair(t, dir, "pair", first)
	got, err := (&Options{CertFile: certFile, KeyFile: keyFile}).Load()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(first.Leaf)
	roots.AddCert(second.Leaf)
	served := func() *x509.Certificate {
		t.Helper()
		c, err := handshake(t, got.Config, roots, "localhost", tls.VersionTLS13)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if !served().Equal(first.Leaf) || got.Pin != Pin(first.Leaf) {
		t.Fatal("not serving the first pair")
	}
	writePair(t, dir, "pair", second)
	if !served().Equal(first.Leaf) {
		t.Fatal("changed before Reload")
	}
	if err := got.Reload(); err != nil {
		t.Fatal(err)
	}
	if !served().Equal(second.Leaf) || got.Pin != Pin(second.Leaf) {
		t.Fatal("Reload did not swap the pair")
	}
	if err := os.WriteFile(keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := got.Reload(); err == nil {
		t.Fatal("Reload of a broken key succeeded")
	}
	if !served().Equal(second.Leaf) {
		t.Fatal("a failed Reload changed the pair")
	}
}

// Pin is what Chromium's documentation computes with openssl.
func TestPinMatchesOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed (Debian openssl): make test installs it")
	}
	c := mustSelfSigned(t)
	certFile, _ := writePair(t, t.TempDir(), "c", c)
	out, err := exec.Command("sh", "-c", "openssl x509 -noout -pubkey -in '"+certFile+
		"' | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got, want := Pin(c.Leaf), strings.TrimSpace(string(out)); got != want {
		t.Fatalf("Pin %s, openssl says %s", got, want)
	}
}

// A signal reloads the pair; the loop ends with its context.
func TestReloadLoop(t *testing.T) {
	dir := t.TempDir()
	first, second := mustSelfSigned(t), mustSelfSigned(t)
	certFile, keyFile := writePair(t, dir, "pair", first)
	got, err := (&Options{CertFile: certFile, KeyFile: keyFile}).Load()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal)
	done := make(chan struct{})
	go func() { got.reloadLoop(ctx, log, ch); close(done) }()
	writePair(t, dir, "pair", second)
	ch <- syscall.SIGHUP
	ch <- syscall.SIGHUP // the first reload has finished once this is taken
	cancel()
	<-done
	if c, _ := got.Config.GetCertificate(nil); !c.Leaf.Equal(second.Leaf) {
		t.Fatal("the signal did not reload the pair")
	}
	if !strings.Contains(logs.String(), "certificate reloaded") {
		t.Errorf("logged %q", logs.String())
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
