package client

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/internal/tlsrec"
	"github.com/switchboard-ws/switchboard/internal/tlsrec/tlstest"
)

func testCert(t testing.TB) *tlstest.Cert {
	t.Helper()
	cert, err := tlstest.New("localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// layer reports, on the connection's loop, which TLS layer a session uses.
func layer(c *Conn) string {
	switch {
	case c.sec == nil:
		return "none"
	case c.sec.tc == nil:
		return "tlsrec"
	case c.sec.tc.ConnectionState().DidResume:
		return "crypto/tls resumed"
	}
	return "crypto/tls"
}

// TestWSSEngine runs wss:// against the engine's own TLS server: TLS 1.3
// on the record layer, TLS 1.2 (and TLS 1.3 with a session cache, whose
// second session resumes) on crypto/tls.
func TestWSSEngine(t *testing.T) {
	cert := testCert(t)
	srv, addr := echoServer(t, func(c *engine.Config) {
		c.TLS = cert.ServerConfig()
		c.Deflate = codec.DeflatePolicy{Mode: codec.DeflateNoContextTakeover}
	})
	cache := tls.NewLRUClientSessionCache(4)
	for _, tc := range []struct {
		name  string
		max   uint16
		cache bool
		comp  Compression
		want  string
	}{
		{name: "TLS 1.3", max: tls.VersionTLS13, want: "tlsrec"},
		{name: "TLS 1.3 with deflate", max: tls.VersionTLS13, comp: CompressionNoContextTakeover, want: "tlsrec"},
		{name: "TLS 1.2", max: tls.VersionTLS12, want: "crypto/tls"},
		{name: "TLS 1.3 session cache", max: tls.VersionTLS13, cache: true, want: "crypto/tls"},
		{name: "TLS 1.3 session cache, resumed", max: tls.VersionTLS13, cache: true, want: "crypto/tls resumed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := cert.ClientConfig("localhost")
			cfg.MaxVersion = tc.max
			if tc.cache {
				cfg.ClientSessionCache = cache
			}
			rec := newRecorder()
			layers := make(chan string, 1)
			rec.onOpen = func(c *Conn) { layers <- layer(c) }
			d := &Dialer{Client: newClient(t), TLSConfig: cfg, Compression: tc.comp}
			c, err := d.Dial(ctx10(t), "wss://"+addr+"/", rec)
			if err != nil {
				t.Fatal(err)
			}
			if got := <-layers; got != tc.want {
				t.Fatalf("TLS layer %q, want %q", got, tc.want)
			}
			// Sizes around TLS record boundaries (16 KiB) and a large one.
			for _, n := range []int{1, 1000, 16<<10 - 30, 16 << 10, 16<<10 + 1, 300 << 10} {
				msg := strings.Repeat("s", n)
				if err := c.WriteText([]byte(msg)); err != nil {
					t.Fatal(err)
				}
				if got := rec.next(t); got != msg {
					t.Fatalf("%d bytes: got %d", n, len(got))
				}
			}
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
	if a := srv.Stats().TLS.Alerts; a != 0 {
		t.Fatalf("the server counted %d TLS alerts", a)
	}
}

// recordServer is a one-connection TLS 1.3 WebSocket server built like
// the engine's (crypto/tls's handshake fed one record at a time, then
// tlsrec), scripted to send what the engine does not: NewSessionTicket
// and KeyUpdate(update_requested) after the upgrade. It reports what it
// saw on events.
type recordServer struct {
	t      *testing.T
	raw    net.Conn
	rec    tlsrec.Conn
	in     tlsrec.Cipher
	out    tlsrec.Cipher
	plain  []byte
	events chan string
	// bad, when set, makes what follows the 101 instead of the script;
	// the server then reports what the client sends back.
	bad func(s *recordServer) []byte
}

// recorderConn keeps what crypto/tls writes and feeds it one record at a
// time.
type recorderConn struct {
	net.Conn
	rr      recordReader
	mu      sync.Mutex
	written bytes.Buffer
}

func (r *recorderConn) Read(b []byte) (int, error) { return r.rr.Read(b) }

func (r *recorderConn) Write(b []byte) (int, error) {
	r.mu.Lock()
	r.written.Write(b)
	r.mu.Unlock()
	return r.Conn.Write(b)
}

func startRecordServer(t *testing.T, cert *tlstest.Cert, bad func(s *recordServer) []byte) (string, chan string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	events := make(chan string, 16)
	go func() {
		raw, err := ln.Accept()
		if err != nil {
			return
		}
		defer raw.Close()
		_ = raw.SetDeadline(time.Now().Add(15 * time.Second))
		s := &recordServer{t: t, raw: raw, events: events, bad: bad}
		if err := s.serve(cert); err != nil {
			events <- "error: " + err.Error()
		}
		close(events)
	}()
	return ln.Addr().String(), events
}

func (s *recordServer) serve(cert *tlstest.Cert) error {
	kl := &tlsrec.KeyLog{}
	cfg := cert.ServerConfig()
	cfg.MinVersion = tls.VersionTLS13
	cfg.KeyLogWriter = kl
	rc := &recorderConn{Conn: s.raw, rr: recordReader{r: s.raw}}
	tc := tls.Server(rc, cfg)
	if err := tc.Handshake(); err != nil {
		return err
	}
	if err := s.rec.Init(tc.ConnectionState().CipherSuite, kl, rc.written.Bytes()); err != nil {
		return err
	}
	kl.Clear()
	// The upgrade.
	for !bytes.Contains(s.plain, []byte("\r\n\r\n")) {
		if _, err := s.next(); err != nil {
			return err
		}
	}
	var key string
	for _, line := range strings.Split(string(s.plain), "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Sec-WebSocket-Key") {
			key = strings.TrimSpace(v)
		}
	}
	s.plain = s.plain[:0]
	var accept [codec.AcceptKeySize]byte
	codec.PutAcceptKey(accept[:], []byte(key))
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + string(accept[:]) + "\r\n\r\n"
	if s.bad != nil {
		return s.hostile(resp)
	}
	// The 101, two tickets in one record and one alone, a first frame,
	// KeyUpdate(update_requested), a frame under the next key: one burst.
	tkt := []byte{4, 0, 0, 18, 0, 0, 0x1c, 0x20, 1, 2, 3, 4, 1, 9, 0, 4, 't', 'k', 't', '!', 0, 0}
	// A first frame shares the 101's record, longer than what the client
	// reads the head with.
	out, _ := s.rec.Write(&s.out, nil, []byte(resp), codec.AppendFrame(nil, codec.OpText, []byte(first101)))
	out, _ = tlsrec.Seal(&s.rec.Out, &s.out, out, tlsrec.TypeHandshake, append(append([]byte(nil), tkt...), tkt...), nil)
	out, _ = tlsrec.Seal(&s.rec.Out, &s.out, out, tlsrec.TypeHandshake, tkt, nil)
	out, _ = s.rec.Write(&s.out, out, serverFrame(codec.OpText, "before update"), nil)
	out, _ = s.rec.WriteKeyUpdate(&s.out, out, true)
	out, _ = s.rec.Write(&s.out, out, serverFrame(codec.OpText, "after update"), nil)
	if _, err := s.raw.Write(out); err != nil {
		return err
	}
	// Frames from the client until its close; then our close and its
	// close_notify.
	for {
		op, payload, err := s.frame()
		if err != nil {
			return err
		}
		if op == codec.OpClose {
			s.events <- fmt.Sprintf("close frame, client key generation %d", s.rec.In.Generation())
			out, _ := s.rec.Write(&s.out, nil, serverFrame(codec.OpClose, "\x03\xe8"), nil)
			if _, err := s.raw.Write(out); err != nil {
				return err
			}
			break
		}
		s.events <- fmt.Sprintf("message %q, client key generation %d", payload, s.rec.In.Generation())
	}
	for {
		ev, err := s.next()
		if err != nil {
			return err
		}
		if ev == tlsrec.EventCloseNotify {
			s.events <- "close_notify"
			return nil
		}
	}
}

// hostile sends the 101 and then s.bad's bytes, and reports the client's
// answer: an alert, close_notify, or the end of the stream.
func (s *recordServer) hostile(resp string) error {
	out, _ := s.rec.Write(&s.out, nil, []byte(resp), nil)
	if _, err := s.raw.Write(out); err != nil {
		return err
	}
	time.Sleep(50 * time.Millisecond) // the 101 arrives alone
	if _, err := s.raw.Write(s.bad(s)); err != nil {
		return err
	}
	for {
		ev, err := s.next()
		var pa tlsrec.PeerAlert
		switch {
		case errors.As(err, &pa):
			s.events <- "alert " + tlsrec.Alert(pa).String()
			return nil
		case errors.Is(err, io.EOF):
			s.events <- "eof"
			return nil
		case err != nil:
			return err
		case ev == tlsrec.EventCloseNotify:
			s.events <- "close_notify"
			return nil
		}
	}
}

// next opens one record from the client into s.plain.
func (s *recordServer) next() (tlsrec.Event, error) {
	var hdr [tlsrec.HeaderLen]byte
	if _, err := io.ReadFull(s.raw, hdr[:]); err != nil {
		return 0, err
	}
	rec := make([]byte, tlsrec.RecordLen(hdr[:]))
	copy(rec, hdr[:])
	if _, err := io.ReadFull(s.raw, rec[tlsrec.HeaderLen:]); err != nil {
		return 0, err
	}
	var ev tlsrec.Event
	var err error
	s.plain, ev, err = s.rec.Read(&s.in, rec, s.plain)
	return ev, err
}

// frame reads one short masked frame from the client.
func (s *recordServer) frame() (codec.OpCode, string, error) {
	for len(s.plain) < 6 || len(s.plain) < 6+int(s.plain[1]&0x7f) {
		ev, err := s.next()
		if err != nil {
			return 0, "", err
		}
		if ev == tlsrec.EventCloseNotify {
			return 0, "", io.EOF
		}
	}
	n := int(s.plain[1] & 0x7f)
	if n > 125 {
		return 0, "", errors.New("frame too long for this test server")
	}
	op := codec.OpCode(s.plain[0] & 0x0f)
	mask := s.plain[2:6]
	p := make([]byte, n)
	for i := range p {
		p[i] = s.plain[6+i] ^ mask[i%4]
	}
	s.plain = s.plain[6+n:]
	return op, string(p), nil
}

// first101 is the frame a recordServer sends in the 101's record.
var first101 = strings.Repeat("in the 101's record ", 200)

func serverFrame(op codec.OpCode, payload string) []byte {
	return append([]byte{0x80 | byte(op), byte(len(payload))}, payload...)
}

// TestWSSRecordLayer: a frame in the 101's record is delivered, the
// server's NewSessionTicket messages are ignored,
// its KeyUpdate(update_requested) moves both directions to the next key,
// and Close sends close_notify after the close handshake.
func TestWSSRecordLayer(t *testing.T) {
	cert := testCert(t)
	addr, events := startRecordServer(t, cert, nil)
	rec := newRecorder()
	rec.onOpen = func(c *Conn) {
		if got := layer(c); got != "tlsrec" {
			t.Errorf("TLS layer %q", got)
		}
	}
	d := &Dialer{Client: newClient(t), TLSConfig: cert.ClientConfig("localhost")}
	c, err := d.Dial(ctx10(t), "wss://"+addr+"/", rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{first101, "before update", "after update"} {
		if got := rec.next(t); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	if err := c.WriteText([]byte("reply")); err != nil {
		t.Fatal(err)
	}
	wantEvent := func(want string) {
		t.Helper()
		select {
		case got := <-events:
			if got != want {
				t.Fatalf("server: %q, want %q", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("server: nothing, want %q", want)
		}
	}
	wantEvent(`message "reply", client key generation 1`)
	_ = c.Close(codec.CloseNormal, "")
	wantEvent("close frame, client key generation 1")
	var ce *CloseError
	if err := rec.closed(t); !errors.As(err, &ce) || ce.Code != codec.CloseNormal {
		t.Fatalf("close %v", err)
	}
	wantEvent("close_notify")
}

// TestWSSRecordLayerBadInput: what the server sends after the 101 that the
// record layer refuses ends the session with the alert it names (sent to
// the server) and close code 1006; an alert or close_notify from the
// server ends it too.
func TestWSSRecordLayerBadInput(t *testing.T) {
	cert := testCert(t)
	seal := func(typ byte, msg []byte) func(s *recordServer) []byte {
		return func(s *recordServer) []byte {
			out, _ := tlsrec.Seal(&s.rec.Out, &s.out, nil, typ, msg, nil)
			return out
		}
	}
	raw := func(b []byte) func(s *recordServer) []byte {
		return func(*recordServer) []byte { return b }
	}
	for _, tc := range []struct {
		name   string
		bad    func(s *recordServer) []byte
		err    error  // what the CloseError wraps
		answer string // what the server saw
	}{
		{"bad record MAC", raw(append([]byte{23, 3, 3, 0, 32}, make([]byte, 32)...)), tlsrec.AlertBadRecordMAC, "alert bad_record_mac"},
		{"oversized record", raw([]byte{23, 3, 3, 0xff, 0xff}), tlsrec.AlertRecordOverflow, "alert record_overflow"},
		{"plaintext alert record", raw([]byte{21, 3, 3, 0, 2, 2, 40}), tlsrec.AlertUnexpectedMessage, "alert unexpected_message"},
		{"certificate request", seal(tlsrec.TypeHandshake, []byte{13, 0, 0, 0}), tlsrec.AlertUnexpectedMessage, "alert unexpected_message"},
		{"fatal alert from the server", seal(tlsrec.TypeAlert, []byte{2, 40}), tlsrec.PeerAlert(40), "eof"},
		{"close_notify without a close frame", seal(tlsrec.TypeAlert, []byte{1, 0}), ErrConnectionLost, "close_notify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, events := startRecordServer(t, cert, tc.bad)
			rec := newRecorder()
			d := &Dialer{Client: newClient(t), TLSConfig: cert.ClientConfig("localhost")}
			if _, err := d.Dial(ctx10(t), "wss://"+addr+"/", rec); err != nil {
				t.Fatal(err)
			}
			var ce *CloseError
			if err := rec.closed(t); !errors.As(err, &ce) || ce.Code != codec.CloseAbnormal || !errors.Is(err, tc.err) {
				t.Fatalf("close %v, want 1006 with %v", err, tc.err)
			}
			select {
			case got := <-events:
				if got != tc.answer {
					t.Fatalf("server saw %q, want %q", got, tc.answer)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the server saw nothing")
			}
		})
	}
}

// TestWSSReconnect: a session the server closes is followed by a new
// one on the record layer (fresh secrets, the loop's cipher cache entry
// replaced), and messages flow again.
func TestWSSReconnect(t *testing.T) {
	cert := testCert(t)
	cfg := engine.DefaultConfig("127.0.0.1:0")
	cfg.EventLoops = 1
	cfg.TLS = cert.ServerConfig()
	_, addr := startServer(t, cfg, engine.Handlers{
		Message: func(c *engine.Conn, typ engine.MessageType, data []byte) {
			if string(data) == "bye" {
				_ = c.Close(codec.CloseGoingAway, "restart")
				return
			}
			_ = c.WriteMessage(typ, data)
		},
	})
	rec := newRecorder()
	layers := make(chan string, 4)
	rec.onOpen = func(c *Conn) { layers <- layer(c) }
	d := &Dialer{Client: newClient(t), TLSConfig: cert.ClientConfig("localhost"), Reconnect: &Reconnect{
		Backoff: fastBackoff(),
		OnReconnect: func(c *Conn) {
			layers <- layer(c)
			_ = c.WriteText([]byte("again"))
		},
	}}
	c, err := d.Dial(ctx10(t), "wss://"+addr+"/", rec)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.WriteText([]byte("first"))
	if got := rec.next(t); got != "first" {
		t.Fatalf("got %q", got)
	}
	_ = c.WriteText([]byte("bye"))
	if got := rec.next(t); got != "again" {
		t.Fatalf("after the reconnect: got %q", got)
	}
	for i := 0; i < 2; i++ {
		if got := <-layers; got != "tlsrec" {
			t.Fatalf("session %d on %q", i, got)
		}
	}
	_ = c.Close(codec.CloseNormal, "")
	rec.closed(t)
}

// TestWSSFirstFrame: a frame the server sends with its 101 (here through
// a crypto/tls front, which forwards both in one record) is delivered
// over TLS 1.2 and 1.3.
func TestWSSFirstFrame(t *testing.T) {
	cert, pool := selfSigned(t)
	_, backend := startServer(t, engine.DefaultConfig("127.0.0.1:0"), engine.Handlers{
		Open: func(c *engine.Conn) { _ = c.WriteText([]byte("welcome")) },
	})
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			addr := tlsFront(t, backend, cert, v)
			rec := newRecorder()
			d := &Dialer{Client: newClient(t), TLSConfig: &tls.Config{RootCAs: pool}}
			c, err := d.Dial(ctx10(t), "wss://"+addr+"/", rec)
			if err != nil {
				t.Fatal(err)
			}
			if got := rec.next(t); got != "welcome" {
				t.Fatalf("got %q", got)
			}
			_ = c.Close(codec.CloseNormal, "")
			rec.closed(t)
		})
	}
}
