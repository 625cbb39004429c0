package engine

import (
	"bufio"
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// hostileTLSTimeout is the handshake timeout of TestTLSBadInput's server:
// short, since three cases wait for it.
const hostileTLSTimeout = 1500 * time.Millisecond

// TestTLSBadInput: bad input at the TLS layer, before and after the
// handshake, ends the connection cleanly (net/http's plaintext 400 for
// plain HTTP; otherwise at most TLS alerts, then FIN) without a panic, a
// leaked handshake or an effect on a healthy wss:// connection beside it,
// which must keep echoing after every case.
func TestTLSBadInput(t *testing.T) {
	srvTLS, roots := hostileTLSConfigs(t)
	rec := newRecorder()
	srv, addr := startServer(t, rec, func(c *Config) {
		c.TLS = srvTLS
		c.HandshakeTimeout = hostileTLSTimeout
		c.CloseTimeout = 2 * time.Second
	})
	healthy := hostileDialWSS(t, addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	rec.nextOpen(t)
	hello := hostileClientHello(t, &tls.Config{ServerName: "127.0.0.1"})

	// A TLS record header: type, version 3.3, length.
	record := func(typ byte, n int, body []byte) []byte {
		return append([]byte{typ, 3, 3, byte(n >> 8), byte(n)}, body...)
	}
	cases := []struct {
		name string
		// Before any handshake: bytes to send (then FIN when finWrite) on a
		// raw TCP connection, or dribbled one byte per dribble; nil with no
		// after: send nothing.
		send     []byte
		finWrite bool
		dribble  time.Duration
		// plain400: the answer must be net/http's 400 in plaintext.
		plain400 bool
		// serverFlight: the server may answer with its handshake flight
		// before the end (the client's ClientHello was valid).
		serverFlight bool
		// atTimeout: the end comes at the handshake timeout, not before.
		atTimeout bool
		// mayReset: the server may decide from a record header and close
		// with the client's other bytes unread, which makes the kernel
		// answer with a reset instead of a FIN.
		mayReset bool
		// After a completed handshake and upgrade, with this TLS version:
		// after builds the bad record from the connection's client write
		// keys.
		version uint16
		after   func(s *hostileSealer) []byte
	}{
		{name: "PlainHTTPOnTLSPort", send: []byte("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), plain400: true},
		{name: "PlainUpgradeOnTLSPort", send: []byte(hostileUpgrade), plain400: true},
		{name: "GarbageInsteadOfClientHello", send: []byte("\x00\x01\x02\x03garbage garbage garbage\r\n\r\n"), mayReset: true},
		{name: "AppDataRecordBeforeHandshake", send: record(23, 32, make([]byte, 32))},
		{name: "AlertRecordInsteadOfClientHello", send: record(21, 2, []byte{2, 40})},
		{name: "ClientHelloBadVersionBytes", send: append([]byte{22, 0x7f, 0x7f}, hello[3:]...), mayReset: true},
		{name: "TruncatedRecordThenFIN", send: record(22, 200, hello[5:60]), finWrite: true},
		{name: "TruncatedRecordThenSilence", send: record(22, 200, hello[5:60]), atTimeout: true},
		// A whole record holding the start of a ClientHello: the server waits
		// for the rest.
		{name: "TruncatedClientHelloInRecord", send: record(22, 40, hello[5:45]), atTimeout: true},
		// 2^14+256 is the most TLS 1.3 allows a ciphertext; 2^14+2048 TLS
		// 1.2; a declared 65535 is refused from the header.
		{name: "OversizedRecordHeaderOnly", send: record(22, 0xffff, hello[5:100]), mayReset: true},
		{name: "OversizedHandshakeRecord", send: record(22, 1<<14+257, append(append([]byte{1, 0, 0x40, 0xfd}, hello[9:]...), make([]byte, 1<<14+257-4-len(hello[9:]))...))},
		{name: "ClientHelloDribbledPastTimeout", send: hello, dribble: 100 * time.Millisecond, atTimeout: true, serverFlight: true},
		{name: "ClientHelloThenSilence", send: hello, atTimeout: true, serverFlight: true},
		// More than 64 KiB sent ahead while the handshake runs: closed (by
		// that bound, or by crypto/tls refusing what follows the hello).
		{name: "SentAheadPast64KiB", send: append(append([]byte(nil), hello...), bytes.Repeat(record(23, 16000, make([]byte, 16000)), 5)...),
			serverFlight: true, mayReset: true},
		{name: "ConnectsAndSendsNothing", send: nil, atTimeout: true},

		{name: "TLS12_Renegotiation_ClientHello", version: tls.VersionTLS12, after: func(s *hostileSealer) []byte {
			return s.seal(22, hostileRenegotiationHello(t, s.clientHello))
		}},
		{name: "TLS12_HelloRequestFromClient", version: tls.VersionTLS12, after: func(s *hostileSealer) []byte {
			return s.seal(22, []byte{0, 0, 0, 0})
		}},
		{name: "TLS13_ClientHelloAfterHandshake", version: tls.VersionTLS13, after: func(s *hostileSealer) []byte {
			return s.seal(22, s.clientHello)
		}},
		{name: "TLS12_PlaintextClientHelloAfterHandshake", version: tls.VersionTLS12, after: func(s *hostileSealer) []byte {
			return s.clientHelloRecord
		}},
		{name: "TLS13_BadRecordMAC", version: tls.VersionTLS13, after: func(s *hostileSealer) []byte {
			r := s.seal(23, wstest.EncodeFrame(ws.OpText, true, 0, true, []byte("tampered")))
			r[len(r)-1] ^= 1
			return r
		}},
		{name: "TLS12_BadRecordMAC", version: tls.VersionTLS12, after: func(s *hostileSealer) []byte {
			r := s.seal(23, wstest.EncodeFrame(ws.OpText, true, 0, true, []byte("tampered")))
			r[len(r)-1] ^= 1
			return r
		}},
		{name: "TLS13_OversizedRecordAfterHandshake", version: tls.VersionTLS13, after: func(s *hostileSealer) []byte {
			return record(23, 1<<14+257, make([]byte, 64))
		}},
		{name: "TLS12_OversizedRecordAfterHandshake", version: tls.VersionTLS12, after: func(s *hostileSealer) []byte {
			return record(23, 1<<14+2049, make([]byte, 64))
		}},
		{name: "TLS13_TruncatedRecordThenFIN", version: tls.VersionTLS13, finWrite: true, after: func(s *hostileSealer) []byte {
			return s.seal(23, wstest.EncodeFrame(ws.OpText, true, 0, true, []byte("cut short")))[:20]
		}},
		{name: "TLS13_GarbageAfterHandshake", version: tls.VersionTLS13, after: func(s *hostileSealer) []byte {
			return []byte("\x00\x01\x02garbage after the handshake\r\n")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.after != nil {
				hostileAfterHandshake(t, addr, roots, tc.version, tc.after, tc.finWrite, rec)
			} else {
				hostileBeforeHandshake(t, addr, tc.send, tc.finWrite, tc.dribble, tc.plain400, tc.serverFlight, tc.atTimeout, tc.mayReset)
			}
			// The server is up and the healthy connection unaffected.
			hostileEcho(t, healthy, "still here after "+tc.name)
		})
	}
	waitFor(t, "bad connections gone", func() bool {
		st := srv.Stats()
		return st.Open == 1 && st.TLS.HandshakesInProgress == 0
	})
	c := hostileDialWSS(t, addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	hostileEcho(t, c, "a new connection after all cases")
	st := srv.Stats().TLS
	t.Logf("TLS stats after the bad inputs: %+v", st)
	if st.HandshakesFailed == 0 {
		t.Errorf("Stats.TLS.HandshakesFailed is 0 after the bad handshakes")
	}
}

const hostileUpgrade = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// hostileBeforeHandshake sends bytes instead of (or as) a handshake on a raw
// TCP connection and checks how it ends.
func hostileBeforeHandshake(t *testing.T, addr string, send []byte, finWrite bool, dribble time.Duration, plain400, serverFlight, atTimeout, mayReset bool) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if dribble > 0 {
		go func() {
			for i := range send {
				if _, err := conn.Write(send[i : i+1]); err != nil {
					return // closed by the server: expected
				}
				time.Sleep(dribble)
			}
		}()
	} else if len(send) > 0 {
		if _, err := conn.Write(send); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	if finWrite {
		_ = conn.(*net.TCPConn).CloseWrite()
	}
	got, end := hostileReadToEnd(conn, hostileTLSTimeout+5*time.Second)
	elapsed := time.Since(start)
	t.Logf("ended by %v after %v, %d bytes", end, elapsed.Round(time.Millisecond), len(got))
	if end != io.EOF && !(mayReset && end == syscall.ECONNRESET) {
		t.Fatalf("the connection did not end with a FIN: %v (after %d bytes)", end, len(got))
	}
	if atTimeout && elapsed < hostileTLSTimeout/2 {
		t.Errorf("closed after %v, before the handshake timeout %v", elapsed, hostileTLSTimeout)
	}
	if plain400 {
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(got)), nil)
		if err != nil {
			t.Fatalf("no HTTP response in %q: %v", got, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 400 || !strings.Contains(string(body), "Client sent an HTTP request to an HTTPS server") {
			t.Fatalf("got %d %q, want net/http's 400 for plain HTTP on a TLS port", resp.StatusCode, body)
		}
		return
	}
	for _, r := range hostileRecords(t, got) {
		switch {
		case r.typ == 21:
			t.Logf("alert %s", hostileAlert(r.body))
		case serverFlight && (r.typ == 22 || r.typ == 20 || r.typ == 23):
		default:
			t.Errorf("unexpected record type %d (%d bytes) before the end", r.typ, len(r.body))
		}
	}
}

// hostileAfterHandshake completes a handshake at version, upgrades, checks
// the connection echoes a frame sealed by the test's own record sealer
// (so the sealer is right), then sends after(sealer) and checks the
// connection ends: at most WebSocket frames and TLS alerts, then the end.
func hostileAfterHandshake(t *testing.T, addr string, roots *x509.CertPool, version uint16, after func(*hostileSealer) []byte, finWrite bool, rec *recorder) {
	t.Helper()
	s := hostileHandshake(t, addr, roots, version)
	defer s.tc.Close()
	rec.nextOpen(t)
	// A frame sealed by the test, echoed by the server: the keys and the
	// sequence number are right.
	if _, err := s.raw.Write(s.seal(23, wstest.EncodeFrame(ws.OpText, true, 0, true, []byte("sealed by the test")))); err != nil {
		t.Fatal(err)
	}
	_ = s.tc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if p, op, err := wsutil.ReadServerData(s.rw); err != nil || op != ws.OpText || string(p) != "sealed by the test" {
		t.Fatalf("the test's own sealed record was not echoed (a bug in the test's sealer?): %v %q %v", op, p, err)
	}
	bad := after(s)
	start := time.Now()
	if _, err := s.raw.Write(bad); err != nil {
		t.Fatalf("write: %v", err)
	}
	if finWrite {
		_ = s.raw.(*net.TCPConn).CloseWrite()
	}
	// Read through the TLS client: WebSocket frames (a close) may come
	// first, then an alert or close_notify, then the end.
	_ = s.tc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var frames int
	var err error
	for {
		var f ws.Frame
		if f, err = ws.ReadFrame(s.rw); err != nil {
			break
		}
		frames++
		t.Logf("frame %v %q", f.Header.OpCode, f.Payload)
	}
	t.Logf("ended after %v: %d frames, then %v", time.Since(start).Round(time.Millisecond), frames, err)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the connection did not end within 5s of the bad record")
	}
	var alert tls.AlertError
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &alert) &&
		!strings.Contains(err.Error(), "remote error: tls:") {
		t.Errorf("the connection ended with %v, want an alert or a close", err)
	}
	select {
	case ce := <-rec.closes:
		t.Logf("OnClose: %+v", ce)
	case <-time.After(5 * time.Second):
		t.Errorf("OnClose not called within 5s")
	}
}

// hostileSealer is a TLS client connection whose client-to-server records
// the test can also seal itself, from the session keys crypto/tls logs
// (KeyLogWriter): to send records crypto/tls would never send. Test-only:
// it follows RFC 8446 5.2-5.3 and RFC 5246 6.2.3.3 / RFC 5288 for AES-GCM.
type hostileSealer struct {
	tc                *tls.Conn
	raw               net.Conn
	rw                io.ReadWriter // tc behind a bufio.Reader holding the bytes after the 101
	version           uint16
	aead              cipher.AEAD
	iv                []byte // TLS 1.3: 12 bytes; TLS 1.2: the 4-byte salt
	seq               uint64 // the next client record's sequence number
	clientHello       []byte // the handshake message crypto/tls sent
	clientHelloRecord []byte // the whole record it came in
}

func (s *hostileSealer) seal(typ byte, payload []byte) []byte {
	seq := s.seq
	s.seq++
	var seqb [8]byte
	binary.BigEndian.PutUint64(seqb[:], seq)
	if s.version == tls.VersionTLS13 {
		inner := append(append([]byte(nil), payload...), typ)
		hdr := []byte{23, 3, 3, 0, 0}
		binary.BigEndian.PutUint16(hdr[3:], uint16(len(inner)+s.aead.Overhead()))
		nonce := append([]byte(nil), s.iv...)
		for i := range seqb {
			nonce[4+i] ^= seqb[i]
		}
		return s.aead.Seal(hdr, nonce, inner, hdr)
	}
	aad := append(seqb[:], typ, 3, 3, byte(len(payload)>>8), byte(len(payload)))
	nonce := append(append([]byte(nil), s.iv...), seqb[:]...)
	out := []byte{typ, 3, 3, 0, 0}
	out = append(out, seqb[:]...) // explicit nonce
	out = s.aead.Seal(out, nonce, payload, aad)
	binary.BigEndian.PutUint16(out[3:], uint16(len(out)-5))
	return out
}

// hostileHandshake connects with crypto/tls at version (AES-128-GCM),
// upgrades to WebSocket and returns the connection with its client write
// keys.
func hostileHandshake(t *testing.T, addr string, roots *x509.CertPool, version uint16) *hostileSealer {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tap := &hostileTap{Conn: raw}
	var keylog bytes.Buffer
	cfg := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: version, MaxVersion: version,
		KeyLogWriter: &keylog, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}
	tc := tls.Client(tap, cfg)
	_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err != nil {
		raw.Close()
		t.Fatalf("handshake: %v", err)
	}
	s := &hostileSealer{tc: tc, raw: raw, version: version}
	cs := tc.ConnectionState()
	written, read := tap.bytes()
	s.clientHelloRecord = written[:5+int(binary.BigEndian.Uint16(written[3:5]))]
	s.clientHello = s.clientHelloRecord[5:]
	keys := map[string][]byte{}
	for _, line := range strings.Split(keylog.String(), "\n") {
		if f := strings.Fields(line); len(f) == 3 {
			keys[f[0]], _ = hex.DecodeString(f[2])
		}
	}
	if version == tls.VersionTLS13 {
		var h func() hash.Hash
		var keyLen int
		switch cs.CipherSuite {
		case tls.TLS_AES_128_GCM_SHA256:
			h, keyLen = sha256.New, 16
		case tls.TLS_AES_256_GCM_SHA384:
			h, keyLen = sha512.New384, 32
		default:
			raw.Close()
			t.Skipf("TLS 1.3 negotiated %s; the test's sealer does AES-GCM only", tls.CipherSuiteName(cs.CipherSuite))
		}
		secret := keys["CLIENT_TRAFFIC_SECRET_0"]
		key, iv := hostileExpandLabel(t, h, secret, "key", keyLen), hostileExpandLabel(t, h, secret, "iv", 12)
		s.aead, s.iv = hostileGCM(t, key), iv
	} else {
		master := keys["CLIENT_RANDOM"]
		clientRandom := s.clientHello[6:38]
		serverRandom := read[11:43] // the ServerHello's random, in the first record
		kb := hostileTLS12PRF(master, "key expansion", append(append([]byte(nil), serverRandom...), clientRandom...), 40)
		s.aead, s.iv = hostileGCM(t, kb[:16]), kb[32:36]
		s.seq = 1 // the client's Finished was record 0 under these keys
	}
	// The upgrade, through crypto/tls (one record).
	if _, err := tc.Write([]byte(hostileUpgrade)); err != nil {
		t.Fatal(err)
	}
	s.seq++
	br := bufio.NewReader(tc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade over TLS: %v %v", resp, err)
	}
	s.rw = struct {
		io.Reader
		io.Writer
	}{br, tc}
	return s
}

// hostileTap records the bytes of the handshake both ways.
type hostileTap struct {
	net.Conn
	mu          sync.Mutex
	read, wrote []byte
}

func (c *hostileTap) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	if len(c.read) < 64<<10 {
		c.read = append(c.read, p[:n]...)
	}
	c.mu.Unlock()
	return n, err
}

func (c *hostileTap) Write(p []byte) (int, error) {
	c.mu.Lock()
	if len(c.wrote) < 64<<10 {
		c.wrote = append(c.wrote, p...)
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *hostileTap) bytes() (wrote, read []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wrote, c.read
}

func hostileGCM(t *testing.T, key []byte) cipher.AEAD {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// hostileExpandLabel is HKDF-Expand-Label (RFC 8446 7.1) with an empty
// context.
func hostileExpandLabel(t *testing.T, h func() hash.Hash, secret []byte, label string, n int) []byte {
	t.Helper()
	full := "tls13 " + label
	info := []byte{byte(n >> 8), byte(n), byte(len(full))}
	info = append(append(info, full...), 0)
	out, err := hkdf.Expand(h, secret, string(info), n)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// hostileTLS12PRF is TLS 1.2's PRF with SHA-256 (RFC 5246 5).
func hostileTLS12PRF(secret []byte, label string, seed []byte, n int) []byte {
	seed = append([]byte(label), seed...)
	mac := func(parts ...[]byte) []byte {
		m := hmac.New(sha256.New, secret)
		for _, p := range parts {
			m.Write(p)
		}
		return m.Sum(nil)
	}
	var out []byte
	a := mac(seed)
	for len(out) < n {
		out = append(out, mac(a, seed)...)
		a = mac(a)
	}
	return out[:n]
}

// hostileRenegotiationHello is the ClientHello a renegotiating client sends:
// the first one with a fresh random.
func hostileRenegotiationHello(t *testing.T, hello []byte) []byte {
	t.Helper()
	h := append([]byte(nil), hello...)
	if _, err := rand.Read(h[6:38]); err != nil {
		t.Fatal(err)
	}
	return h
}

// hostileClientHello returns the first record crypto/tls sends as a
// client with cfg.
func hostileClientHello(t *testing.T, cfg *tls.Config) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() { _ = tls.Client(a, cfg).Handshake() }()
	_ = b.SetReadDeadline(time.Now().Add(5 * time.Second))
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(b, hdr); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, binary.BigEndian.Uint16(hdr[3:]))
	if _, err := io.ReadFull(b, body); err != nil {
		t.Fatal(err)
	}
	return append(hdr, body...)
}

type hostileRecord struct {
	typ  byte
	body []byte
}

// hostileRecords splits what the server sent before the end into TLS
// records; an incomplete or implausible record fails the test.
func hostileRecords(t *testing.T, p []byte) []hostileRecord {
	t.Helper()
	var out []hostileRecord
	for len(p) > 0 {
		if len(p) < 5 || p[1] != 3 {
			t.Errorf("the server sent %q, not TLS records", p)
			return out
		}
		n := int(binary.BigEndian.Uint16(p[3:5]))
		if len(p) < 5+n {
			t.Errorf("the server sent a truncated record: %d of %d bytes", len(p)-5, n)
			return out
		}
		out = append(out, hostileRecord{p[0], p[5 : 5+n]})
		p = p[5+n:]
	}
	return out
}

func hostileAlert(b []byte) string {
	if len(b) != 2 {
		return fmt.Sprintf("malformed (%x)", b)
	}
	return fmt.Sprintf("level %d description %d", b[0], b[1])
}

// hostileReadToEnd reads until the connection ends or d passes; it returns
// what came and how it ended (io.EOF: FIN).
func hostileReadToEnd(conn net.Conn, d time.Duration) ([]byte, error) {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	var got []byte
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			if errors.Is(err, syscall.ECONNRESET) {
				return got, syscall.ECONNRESET
			}
			return got, err
		}
	}
}

// hostileDialWSS opens a wss:// connection with crypto/tls and closes it
// when t ends.
func hostileDialWSS(t *testing.T, addr string, cfg *tls.Config) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, _, err := ws.Dialer{TLSConfig: cfg}.Dial(ctx, "wss://"+addr+"/")
	if err != nil {
		t.Fatalf("wss:// dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func hostileEcho(t *testing.T, conn net.Conn, msg string) {
	t.Helper()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if err := wsutil.WriteClientText(conn, []byte(msg)); err != nil {
		t.Fatalf("healthy connection: write: %v", err)
	}
	p, op, err := wsutil.ReadServerData(conn)
	if err != nil || op != ws.OpText || string(p) != msg {
		t.Fatalf("healthy connection broke: %v %q %v", op, p, err)
	}
	_ = conn.SetDeadline(time.Time{})
}

// hostileTLSConfigs returns a server configuration with a fresh ECDSA P-256
// certificate for 127.0.0.1 and a pool that trusts it.
func hostileTLSConfigs(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}}}, roots
}
