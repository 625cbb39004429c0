package interop_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// testPKI is a CA made for one test and a server certificate it signed for
// localhost and 127.0.0.1, as PEM files.
type testPKI struct {
	ca, cert, key string // file paths
	pin           string // base64 SHA-256 of the server certificate's SPKI
}

// echoFlags start examples/echo serving wss:// only, with pki's certificate.
func (p *testPKI) echoFlags() []string { return []string{"-tls-cert", p.cert, "-tls-key", p.key} }

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "switchboard interop test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{ca: filepath.Join(dir, "ca.pem"), cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem"),
		pin: spkiPin(leaf)}
	for path, block := range map[string]*pem.Block{
		p.ca:   {Type: "CERTIFICATE", Bytes: caDER},
		p.cert: {Type: "CERTIFICATE", Bytes: der},
		p.key:  {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func spkiPin(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// TestTLSInterop runs every client of TestEchoInterop, with the same cases,
// over wss:// against examples/echo serving TLS only, with a certificate
// from a CA made by the test. Each client verifies the certificate and the
// host name against that CA: Python websocket-client through
// run_forever(sslopt={"ca_certs": ...}), Python websockets through an
// ssl.SSLContext, Node ws through its ca option, Node's built-in WebSocket
// through NODE_EXTRA_CA_CERTS; Chromium, which keeps its own trust store,
// accepts the certificate by its SPKI pin (--ignore-certificate-errors-spki-list)
// and loads its pages over https:// from the echo.
func TestTLSInterop(t *testing.T) {
	pki := newTestPKI(t)
	t.Setenv("INTEROP_CA", pki.ca)
	t.Setenv("INTEROP_SPKI", pki.pin)
	t.Setenv("NODE_EXTRA_CA_CERTS", pki.ca)
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) { runEchoClient(t, c, pki.echoFlags()...) })
	}
}

// TestTLSOpenSSL drives the echo through `openssl s_client`, once forced to
// TLS 1.2 and once to TLS 1.3, verifying the certificate against the test
// CA: the upgrade request and masked frames go in on its stdin and the
// server's frames come out on its stdout, for the cases of the ws:// suite
// (UTF-8 text, 1 MiB binary, fragments with a ping between them, ping/pong,
// close 1000).
func TestTLSOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed (Debian openssl): make test installs it")
	}
	pki := newTestPKI(t)
	srv := startEcho(t, pki.echoFlags()...)
	u, err := url.Parse(srv.url)
	if err != nil || u.Scheme != "wss" {
		t.Fatalf("echo URL %q: want wss://", srv.url)
	}
	for _, v := range []struct{ flag, version string }{{"-tls1_2", "TLSv1.2"}, {"-tls1_3", "TLSv1.3"}} {
		t.Run(v.version, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, openssl, "s_client", "-connect", u.Host, v.flag,
				"-CAfile", pki.ca, "-verify_return_error", "-servername", "localhost", "-verify_hostname", "localhost",
				// -brief: the connection summary on stderr, only data on
				// stdout; -nocommands: a chunk starting with Q, R or k is
				// data, not a command.
				"-brief", "-nocommands")
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr syncBuffer
			cmd.Stderr = &stderr
			ownProcessGroup(cmd)
			cmd.WaitDelay = 5 * time.Second
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			s := &sclient{t: t, in: stdin, out: bufio.NewReaderSize(stdout, 64<<10)}
			s.run(u.Host)
			_ = stdin.Close() // s_client sends close_notify and exits
			if err := cmd.Wait(); err != nil && !t.Failed() {
				t.Errorf("openssl s_client: %v", err)
			}
			summary := stderr.String()
			for _, want := range []string{"Protocol version: " + v.version, "Verification: OK", "Verified peername: localhost"} {
				if !strings.Contains(summary, want) {
					t.Errorf("s_client summary lacks %q", want)
				}
			}
			if t.Failed() {
				t.Logf("openssl s_client stderr:\n%s", summary)
			}
		})
	}
}

// sclient speaks WebSocket through s_client's stdin and stdout.
type sclient struct {
	t     *testing.T
	in    io.WriteCloser
	out   *bufio.Reader
	pongs []string
}

func (s *sclient) run(host string) {
	t := s.t
	key := base64.StdEncoding.EncodeToString([]byte("interop-s_client"))
	s.send([]byte("GET / HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n"))
	resp, err := http.ReadResponse(s.out, nil)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != wstest.AcceptKey(key) {
		t.Fatalf("upgrade: %s, Sec-WebSocket-Accept %q", resp.Status, resp.Header.Get("Sec-WebSocket-Accept"))
	}
	t.Log("PASS upgrade 101")

	text := "héllo wörld · Привет · 你好世界 · 🎉🚀 · 𝄞"
	s.send(frame(ws.OpText, true, []byte(text)))
	s.expectMessage("utf8-text", ws.OpText, []byte(text))

	bin := make([]byte, 1<<20)
	for i := range bin {
		bin[i] = byte(i*7 + i>>9)
	}
	s.send(frame(ws.OpBinary, true, bin))
	s.expectMessage("binary-1MiB", ws.OpBinary, bin)

	// Three fragments, a 4-byte character split across the first two, a
	// ping between the fragments.
	frag := []byte("frag🎉ment — 分片 — done")
	s.send(slicesConcat(frame(ws.OpText, false, frag[:6]), frame(ws.OpPing, true, []byte("mid-fragment")),
		frame(ws.OpContinuation, false, frag[6:14]), frame(ws.OpContinuation, true, frag[14:])))
	s.expectMessage("fragmented", ws.OpText, frag)
	if !containsString(s.pongs, "mid-fragment") {
		t.Fatalf("fragmented: no pong for the ping between the fragments (pongs %q)", s.pongs)
	}

	s.send(frame(ws.OpPing, true, []byte("interop-ping")))
	f := s.readFrame("ping-pong")
	if f.Header.OpCode != ws.OpPong || string(f.Payload) != "interop-ping" {
		t.Fatalf("ping-pong: got %v %q", f.Header.OpCode, f.Payload)
	}
	t.Log("PASS ping-pong")

	s.send(frame(ws.OpClose, true, append(binary.BigEndian.AppendUint16(nil, 1000), "bye — ok"...)))
	f = s.readFrame("close-1000")
	if f.Header.OpCode != ws.OpClose || len(f.Payload) < 2 || binary.BigEndian.Uint16(f.Payload) != 1000 {
		t.Fatalf("close-1000: got %v %q", f.Header.OpCode, f.Payload)
	}
	t.Logf("PASS close-1000 (reason %q)", f.Payload[2:])
	// After its close frame the server closes the connection: s_client
	// sees the end of the stream.
	if n, err := io.Copy(io.Discard, s.out); err != nil || n != 0 {
		t.Errorf("after the close: %d more bytes, %v", n, err)
	}
}

// send writes p to s_client's stdin on its own goroutine, so that a large
// write cannot deadlock with s_client blocked writing the echo to stdout.
func (s *sclient) send(p []byte) {
	go func() {
		if _, err := s.in.Write(p); err != nil {
			s.t.Logf("write to s_client: %v", err)
		}
	}()
}

// readFrame reads one server frame, which must be unmasked with no RSV bits.
func (s *sclient) readFrame(what string) ws.Frame {
	s.t.Helper()
	f, err := ws.ReadFrame(s.out)
	if err != nil {
		s.t.Fatalf("%s: reading a frame: %v", what, err)
	}
	if f.Header.Masked || f.Header.Rsv != 0 {
		s.t.Fatalf("%s: server frame masked %v rsv %d", what, f.Header.Masked, f.Header.Rsv)
	}
	return f
}

// expectMessage reads one message (its frames reassembled, pongs noted)
// and checks it.
func (s *sclient) expectMessage(name string, op ws.OpCode, want []byte) {
	s.t.Helper()
	var got []byte
	var gotOp ws.OpCode
	for {
		f := s.readFrame(name)
		if f.Header.OpCode == ws.OpPong {
			s.pongs = append(s.pongs, string(f.Payload))
			continue
		}
		if f.Header.OpCode.IsControl() {
			s.t.Fatalf("%s: unexpected %v frame %q", name, f.Header.OpCode, f.Payload)
		}
		if gotOp == 0 {
			gotOp = f.Header.OpCode
		}
		got = append(got, f.Payload...)
		if f.Header.Fin {
			break
		}
	}
	if gotOp != op || !bytes.Equal(got, want) {
		s.t.Fatalf("%s: got %v of %d bytes, want %v of %d bytes (equal: %v)", name, gotOp, len(got), op, len(want), bytes.Equal(got, want))
	}
	s.t.Log("PASS " + name)
}

// frame encodes a masked client frame.
func frame(op ws.OpCode, fin bool, p []byte) []byte {
	return wstest.EncodeFrame(op, fin, 0, true, p)
}

func slicesConcat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var (
	pinLine    = regexp.MustCompile(`(?m)^tls: self-signed certificate .*SPKI pin sha256/(\S+)$`)
	chromeLine = regexp.MustCompile(`(?m)^tls: chromium .*--ignore-certificate-errors-spki-list=(\S+)$`)
	alsoTLS    = regexp.MustCompile(`echo: listening on ws://\S+/ and (wss://\S+/)`)
)

// TestTLSSelfSignedEcho: echo -tls-self-signed -tls-addr serves plain
// ws:// on -addr and wss:// on -tls-addr at once, and the pin it prints
// (for Chromium's --ignore-certificate-errors-spki-list) is the pin of the
// certificate it serves, which is valid for localhost and 127.0.0.1.
func TestTLSSelfSignedEcho(t *testing.T) {
	e := startEcho(t, "-tls-self-signed", "-tls-addr", "127.0.0.1:0")
	out := e.stdout.String()
	pm, cm, um := pinLine.FindStringSubmatch(out), chromeLine.FindStringSubmatch(out), alsoTLS.FindStringSubmatch(out)
	if pm == nil || cm == nil || um == nil || pm[1] != cm[1] {
		t.Fatalf("echo printed no pin, Chromium line or wss:// URL:\n%s", out)
	}
	plain, err := url.Parse(e.url)
	if err != nil || plain.Scheme != "ws" {
		t.Fatalf("plain URL %q", e.url)
	}
	c, err := wstest.Dial(plain.Host, nil)
	if err != nil {
		t.Fatalf("ws:// on -addr: %v", err)
	}
	defer c.Close()
	if err := c.WriteText("plain"); err != nil {
		t.Fatal(err)
	}
	if op, p, err := c.ReadMessage(5 * time.Second); err != nil || op != ws.OpText || string(p) != "plain" {
		t.Fatalf("ws:// echo: %v %q %v", op, p, err)
	}

	for _, name := range []string{"localhost", "127.0.0.1"} {
		var served *x509.Certificate
		d := ws.Dialer{Timeout: 10 * time.Second, TLSConfig: &tls.Config{
			ServerName: name,
			// Self-signed: trusted here by the pin the echo printed, and
			// then checked as its own root for the name.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				served = cs.PeerCertificates[0]
				if got := spkiPin(served); got != pm[1] {
					return fmt.Errorf("served certificate's pin %s, printed %s", got, pm[1])
				}
				roots := x509.NewCertPool()
				roots.AddCert(served)
				_, err := served.Verify(x509.VerifyOptions{Roots: roots, DNSName: name})
				return err
			},
		}}
		wssURL := strings.Replace(um[1], "127.0.0.1", name, 1)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn, _, _, err := d.Dial(ctx, wssURL)
		cancel()
		if err != nil {
			t.Fatalf("wss:// %s: %v", wssURL, err)
		}
		if err := wsutil.WriteClientText(conn, []byte("over tls")); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		p, op, err := wsutil.ReadServerData(conn)
		if err != nil || op != ws.OpText || string(p) != "over tls" {
			t.Fatalf("wss:// echo: %v %q %v", op, p, err)
		}
		if ecKey, ok := served.PublicKey.(*ecdsa.PublicKey); !ok || ecKey.Curve != elliptic.P256() {
			t.Errorf("self-signed key %T, want ECDSA P-256", served.PublicKey)
		}
		_ = conn.Close()
	}
	// Trusted by nobody: a client with the system roots refuses it.
	conn, err := tls.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(um[1], "wss://"), "/"), &tls.Config{ServerName: "localhost"})
	var verr *tls.CertificateVerificationError
	if !errors.As(err, &verr) {
		t.Errorf("a client trusting the system roots: %v, want a certificate verification error", err)
	}
	if conn != nil {
		_ = conn.Close()
	}
}
