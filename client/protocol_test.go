package client

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/internal/pmd"
)

func TestDeflateRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		server codec.DeflateMode
		client Compression
		want   bool
		// what the session agreed (DeflateParams)
		serverNoCtx, clientNoCtx bool
	}{
		{"no takeover both", codec.DeflateNoContextTakeover, CompressionNoContextTakeover, true, true, true},
		{"client takeover offer, server no takeover", codec.DeflateNoContextTakeover, CompressionContextTakeover, true, true, true},
		{"takeover both", codec.DeflateContextTakeover, CompressionContextTakeover, true, false, false}, // the engine bounds client_max_window_bits
		{"server takeover, client no takeover", codec.DeflateContextTakeover, CompressionNoContextTakeover, true, true, true},
		{"server context takeover offer", codec.DeflateContextTakeover, CompressionServerContextTakeover, true, false, true},
		{"server context takeover offer, server no takeover", codec.DeflateNoContextTakeover, CompressionServerContextTakeover, true, true, true},
		{"server off", codec.DeflateOff, CompressionContextTakeover, false, false, false},
		{"client off", codec.DeflateContextTakeover, CompressionOff, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, addr := echoServer(t, func(c *engine.Config) { c.Deflate = codec.DeflatePolicy{Mode: tc.server} })
			rec := newRecorder()
			c, err := (&Dialer{Client: newClient(t), Compression: tc.client}).Dial(ctx10(t), "ws://"+addr+"/", rec)
			if err != nil {
				t.Fatal(err)
			}
			if c.Deflate() != tc.want {
				t.Fatalf("Deflate() = %v, want %v", c.Deflate(), tc.want)
			}
			if p := c.DeflateParams(); p.ServerNoContextTakeover != tc.serverNoCtx || p.ClientNoContextTakeover != tc.clientNoCtx {
				t.Fatalf("DeflateParams() = %+v, want server_no_context_takeover %v, client_no_context_takeover %v", p, tc.serverNoCtx, tc.clientNoCtx)
			}
			// Repeated JSON compresses; takeover makes later ones smaller.
			msg := strings.Repeat(`{"user":"alice","text":"hello, world","room":"lobby"}`, 20)
			for i := 0; i < 5; i++ {
				if err := c.WriteText([]byte(msg)); err != nil {
					t.Fatal(err)
				}
				if got := rec.next(t); got != msg {
					t.Fatalf("round %d: got %d bytes", i, len(got))
				}
			}
			st := srv.Stats()
			if tc.want && (st.Deflate.Inflated == 0 || st.Deflate.Deflated == 0) {
				t.Fatalf("server did not inflate/deflate: %+v", st.Deflate)
			}
			if !tc.want && st.Deflate.Inflated != 0 {
				t.Fatalf("compressed without negotiation: %+v", st.Deflate)
			}
			_ = c.Close(codec.CloseNormal, "")
			rec.closed(t)
		})
	}
}

func TestServerCloseCodes(t *testing.T) {
	for _, code := range []codec.CloseCode{codec.CloseNormal, codec.CloseGoingAway, codec.ClosePolicyViolation, 4001} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			_, addr := startServer(t, engine.DefaultConfig("127.0.0.1:0"), engine.Handlers{
				Message: func(c *engine.Conn, _ engine.MessageType, data []byte) { _ = c.Close(code, string(data)) },
			})
			rec := newRecorder()
			c, err := (&Dialer{Client: newClient(t)}).Dial(ctx10(t), "ws://"+addr+"/", rec)
			if err != nil {
				t.Fatal(err)
			}
			_ = c.WriteText([]byte("because"))
			var ce *CloseError
			if err := rec.closed(t); !errors.As(err, &ce) || ce.Code != code || !ce.Remote || ce.Reason != "because" {
				t.Fatalf("close = %v", err)
			}
		})
	}
}

func TestCloseValidation(t *testing.T) {
	_, addr := echoServer(t, nil)
	c, err := (&Dialer{Client: newClient(t)}).Dial(ctx10(t), "ws://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []codec.CloseCode{0, 1005, 1006, 1015, 999, 5000} {
		if c.Close(code, "") != ErrInvalidCloseCode {
			t.Fatalf("code %d accepted", code)
		}
	}
	if c.Ping(make([]byte, 126)) != ErrControlTooLong {
		t.Fatal("long ping accepted")
	}
	if c.WriteTextChecked([]byte{0xff}) != ErrInvalidUTF8 {
		t.Fatal("invalid UTF-8 accepted")
	}
	_ = c.Close(codec.CloseNormal, strings.Repeat("é", 100)) // cut to 123 bytes on a rune boundary
}

// The server pings; the client answers (or the server would close it).
func TestServerPingsClientAnswers(t *testing.T) {
	srv, addr := echoServer(t, func(c *engine.Config) {
		c.TickInterval = 20 * time.Millisecond
		c.PingInterval = 100 * time.Millisecond
		c.PongTimeout = 200 * time.Millisecond
	})
	rec := newRecorder()
	c, err := (&Dialer{Client: newClient(t), PingInterval: -1}).Dial(ctx10(t), "ws://"+addr+"/", rec)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond) // many ping intervals
	if c.Closed() || srv.Stats().Open != 1 {
		t.Fatal("connection did not survive the server's pings")
	}
	if err := c.Ping([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	_ = c.WriteText([]byte("still here"))
	if rec.next(t) != "still here" {
		t.Fatal("echo after pings")
	}
}

// readClientFrame reads one frame a client sent and checks it is masked.
func readClientFrame(t *testing.T, r *bufio.Reader) (op codec.OpCode, payload []byte, mask [4]byte) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0xff, nil, mask // connection gone
	}
	if h[1]&0x80 == 0 {
		t.Error("client frame not masked")
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		_, _ = io.ReadFull(r, b[:])
		n = int(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		_, _ = io.ReadFull(r, b[:])
		n = int(binary.BigEndian.Uint64(b[:]))
	}
	_, _ = io.ReadFull(r, mask[:])
	payload = make([]byte, n)
	_, _ = io.ReadFull(r, payload)
	for i := range payload {
		payload[i] ^= mask[i&3]
	}
	return codec.OpCode(h[0] & 0x0f), payload, mask
}

func upgradeResponse(key string) string {
	return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept(key) + "\r\n\r\n"
}

func TestMasking(t *testing.T) {
	masks := make(chan [4]byte, 100)
	addr := rawServer(t, func(c net.Conn, r *bufio.Reader, key string) {
		_, _ = c.Write([]byte(upgradeResponse(key)))
		for i := 0; i < 50; i++ {
			op, p, m := readClientFrame(t, r)
			if op != codec.OpBinary || string(p) != "payload" {
				t.Errorf("frame %d: op %v payload %q", i, op, p)
			}
			masks <- m
		}
	})
	c, err := (&Dialer{Client: newClient(t)}).Dial(ctx10(t), "ws://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Abort()
	p := []byte("payload")
	for i := 0; i < 50; i++ {
		if err := c.WriteBinary(p); err != nil {
			t.Fatal(err)
		}
	}
	if string(p) != "payload" {
		t.Fatal("caller's buffer was masked in place")
	}
	seen := map[[4]byte]bool{}
	for i := 0; i < 50; i++ {
		select {
		case m := <-masks:
			seen[m] = true
		case <-time.After(5 * time.Second):
			t.Fatal("frames missing")
		}
	}
	if len(seen) < 45 {
		t.Fatalf("only %d distinct masks in 50 frames", len(seen))
	}
}

// A server that stops answering on a half-open connection is detected by
// the client's heartbeat within PingInterval + PongTimeout.
func TestHeartbeatDetectsDeadServer(t *testing.T) {
	var pings atomic.Int32
	addr := rawServer(t, func(c net.Conn, r *bufio.Reader, key string) {
		_, _ = c.Write([]byte(upgradeResponse(key)))
		for {
			op, _, _ := readClientFrame(t, r)
			if op != codec.OpPing {
				return
			}
			pings.Add(1) // never answered: the server is "gone"
		}
	})
	rec := newRecorder()
	start := time.Now()
	_, err := (&Dialer{Client: newClient(t), PingInterval: 200 * time.Millisecond, PongTimeout: 300 * time.Millisecond}).Dial(ctx10(t), "ws://"+addr+"/", rec)
	if err != nil {
		t.Fatal(err)
	}
	var ce *CloseError
	if err := rec.closed(t); !errors.As(err, &ce) || ce.Code != codec.CloseAbnormal || !errors.Is(err, ErrPongTimeout) {
		t.Fatalf("close = %v", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("detected after %v", el)
	}
	if pings.Load() != 1 {
		t.Fatalf("%d pings, want 1", pings.Load())
	}
}

// A protocol violation by the server closes with the codec's code.
func TestServerProtocolError(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame []byte
		code  codec.CloseCode
	}{
		{"masked frame", codec.AppendMaskedFrame(nil, codec.OpText, true, []byte("x"), [4]byte{1, 2, 3, 4}), codec.CloseProtocolError},
		{"invalid utf8", codec.AppendFrame(nil, codec.OpText, []byte{0xff, 0xfe}), codec.CloseInvalidPayload},
		{"rsv1 without deflate", func() []byte { b := codec.AppendFrame(nil, codec.OpText, []byte("x")); b[0] |= 0x40; return b }(), codec.CloseProtocolError},
		{"unexpected continuation", codec.AppendFragment(nil, codec.OpContinuation, true, []byte("x")), codec.CloseProtocolError},
		// Invalid UTF-8 in every place a server can put it (RFC 6455 §8.1).
		{"utf8 cut short at the end", codec.AppendFrame(nil, codec.OpText, []byte{'a', 0xe2, 0x82}), codec.CloseInvalidPayload},
		{"utf8 surrogate", codec.AppendFrame(nil, codec.OpText, []byte{0xed, 0xa0, 0x80}), codec.CloseInvalidPayload},
		{"utf8 overlong", codec.AppendFrame(nil, codec.OpText, []byte{0xc0, 0xaf}), codec.CloseInvalidPayload},
		{"utf8 invalid across fragments", codec.AppendFragment(codec.AppendFragment(nil, codec.OpText, false, []byte{0xe2, 0x82}), codec.OpContinuation, true, []byte{'('}), codec.CloseInvalidPayload},
		{"utf8 cut short in the last fragment", codec.AppendFragment(codec.AppendFragment(nil, codec.OpText, false, []byte("ok")), codec.OpContinuation, true, []byte{0xf0, 0x9f}), codec.CloseInvalidPayload},
		{"close reason not utf8", codec.AppendFrame(nil, codec.OpClose, []byte{0x03, 0xe8, 0xff}), codec.CloseInvalidPayload},
		// Close frames a server must not send (§5.5.1, §7.4).
		{"close body of one byte", codec.AppendFrame(nil, codec.OpClose, []byte{0x03}), codec.CloseProtocolError},
		{"close code 1005 on the wire", codec.AppendFrame(nil, codec.OpClose, []byte{0x03, 0xed}), codec.CloseProtocolError},
		{"close code 1006 on the wire", codec.AppendFrame(nil, codec.OpClose, []byte{0x03, 0xee}), codec.CloseProtocolError},
		{"close code 999", codec.AppendFrame(nil, codec.OpClose, []byte{0x03, 0xe7}), codec.CloseProtocolError},
		{"close code 5000", codec.AppendFrame(nil, codec.OpClose, []byte{0x13, 0x88}), codec.CloseProtocolError},
		{"control frame over 125 bytes", append([]byte{0x89, 126, 0, 126}, make([]byte, 126)...), codec.CloseProtocolError},
		{"fragmented ping", codec.AppendFragment(nil, codec.OpPing, false, []byte("x")), codec.CloseProtocolError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan codec.CloseCode, 1)
			addr := rawServer(t, func(c net.Conn, r *bufio.Reader, key string) {
				_, _ = c.Write(append([]byte(upgradeResponse(key)), tc.frame...))
				op, p, _ := readClientFrame(t, r)
				if op == codec.OpClose && len(p) >= 2 {
					got <- codec.CloseCode(binary.BigEndian.Uint16(p))
				}
			})
			rec := newRecorder()
			if _, err := (&Dialer{Client: newClient(t)}).Dial(ctx10(t), "ws://"+addr+"/", rec); err != nil {
				t.Fatal(err)
			}
			var ce *CloseError
			if err := rec.closed(t); !errors.As(err, &ce) || ce.Code != tc.code {
				t.Fatalf("close = %v, want %d", err, tc.code)
			}
			select {
			case code := <-got:
				if code != tc.code {
					t.Fatalf("sent close %d, want %d", code, tc.code)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no close frame sent")
			}
		})
	}
}

// Fragmented messages with pings between fragments, as the Autobahn cases
// send them; the client answers each ping with a pong of its payload.
func TestFragmentsAndPingsBetween(t *testing.T) {
	pongs := make(chan string, 4)
	addr := rawServer(t, func(c net.Conn, r *bufio.Reader, key string) {
		b := []byte(upgradeResponse(key))
		b = codec.AppendFragment(b, codec.OpText, false, []byte("hel"))
		b = codec.AppendFrame(b, codec.OpPing, []byte("p1"))
		b = codec.AppendFragment(b, codec.OpContinuation, false, []byte(""))
		b = codec.AppendFrame(b, codec.OpPing, []byte("p2"))
		b = codec.AppendFragment(b, codec.OpContinuation, true, []byte("lo"))
		b = codec.AppendFragment(b, codec.OpBinary, false, []byte{1, 2})
		_, _ = c.Write(b)
		time.Sleep(50 * time.Millisecond)
		_, _ = c.Write(codec.AppendFragment(nil, codec.OpContinuation, true, []byte{3}))
		for i := 0; i < 2; i++ {
			op, p, _ := readClientFrame(t, r)
			if op == codec.OpPong {
				pongs <- string(p)
			}
		}
		time.Sleep(time.Second)
	})
	rec := newRecorder()
	c, err := (&Dialer{Client: newClient(t)}).Dial(ctx10(t), "ws://"+addr+"/", rec)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Abort()
	if got := rec.next(t); got != "hello" {
		t.Fatalf("got %q", got)
	}
	if got := rec.next(t); got != "\x01\x02\x03" || rec.types[1] != Binary {
		t.Fatalf("got %q", got)
	}
	for _, want := range []string{"p1", "p2"} {
		select {
		case p := <-pongs:
			if p != want {
				t.Fatalf("pong %q, want %q", p, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no pong")
		}
	}
}

// A message over MaxMessageSize is refused from its header with 1009.
func TestMessageTooBig(t *testing.T) {
	_, addr := echoServer(t, nil)
	rec := newRecorder()
	c, err := (&Dialer{Client: newClient(t), MaxMessageSize: 1000}).Dial(ctx10(t), "ws://"+addr+"/", rec)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.WriteText(make([]byte, 1001)) // the server echoes it back: too big for us
	var ce *CloseError
	if err := rec.closed(t); !errors.As(err, &ce) || ce.Code != codec.CloseMessageTooBig {
		t.Fatalf("close %v", err)
	}
}

// A server that bounds client_max_window_bits (offered with
// CompressionContextTakeover; lxzan/gws sends it even unoffered) gets every
// message compressed alone: it inflates without any history, and the
// second copy of a message is as long as the first (no dictionary).
func TestDeflateBoundedClientWindow(t *testing.T) {
	for _, comp := range []Compression{CompressionContextTakeover, CompressionServerContextTakeover} {
		t.Run(fmt.Sprint(comp), func(t *testing.T) {
			offer := make(chan string, 1)
			frames := make(chan []byte, 2)
			addr := rawServerReq(t, func(c net.Conn, r *bufio.Reader, req *http.Request) {
				offer <- req.Header.Get("Sec-WebSocket-Extensions")
				resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept(req.Header.Get("Sec-WebSocket-Key")) +
					"\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=12; server_no_context_takeover\r\n\r\n"
				_, _ = c.Write([]byte(resp))
				for range 2 {
					b0, _ := r.Peek(1)
					if b0[0]&0x70 != 0x40 {
						t.Errorf("RSV bits %#x: not compressed", b0[0]&0x70)
					}
					_, p, _ := readClientFrame(t, r)
					frames <- p
				}
				time.Sleep(time.Second)
			})
			c, err := (&Dialer{Client: newClient(t), Compression: comp}).Dial(ctx10(t), "ws://"+addr+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Abort()
			if got := <-offer; comp == CompressionContextTakeover && !strings.Contains(got, "client_max_window_bits") {
				t.Fatalf("offer %q lacks client_max_window_bits", got)
			}
			if p := c.DeflateParams(); !c.Deflate() || p.ClientMaxWindowBits != 12 {
				t.Fatalf("deflate %v, params %+v", c.Deflate(), p)
			}
			msg := []byte(strings.Repeat("compressible ", 1000)) // longer than the window
			for range 2 {
				if err := c.WriteText(msg); err != nil {
					t.Fatal(err)
				}
			}
			z1, z2 := <-frames, <-frames
			for _, z := range [][]byte{z1, z2} {
				if got, err := pmd.Inflate(nil, z, nil, 1<<20); err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("inflated alone: %d bytes, %v", len(got), err)
				}
			}
			if len(z2) != len(z1) {
				t.Fatalf("second copy %d bytes, first %d: compressed with a dictionary", len(z2), len(z1))
			}
		})
	}
}

// Close frames a server may send: without a body (reported as 1005 and
// answered with an empty close frame), with a code in the private range,
// and with the longest reason; valid UTF-8 split across fragments is one
// message.
func TestServerCloseEdgeCases(t *testing.T) {
	long := strings.Repeat("é", 61) + "x" // 123 bytes
	for _, tc := range []struct {
		name   string
		before []byte // frames before the close
		body   []byte
		code   codec.CloseCode
		reason string
		answer []byte // the client's close body
		msg    string // the message it got before
	}{
		{name: "no body", body: nil, code: codec.CloseNoStatus, answer: []byte{}},
		{name: "private code", body: []byte{0x0f, 0xa0}, code: 4000, answer: []byte{0x0f, 0xa0}},
		{name: "longest reason", body: append([]byte{0x03, 0xe8}, long...), code: codec.CloseNormal, reason: long, answer: []byte{0x03, 0xe8}},
		{name: "utf8 across fragments",
			before: codec.AppendFragment(codec.AppendFragment(nil, codec.OpText, false, []byte{'a', 0xe2, 0x82}), codec.OpContinuation, true, []byte{0xac, 'b'}),
			body:   []byte{0x03, 0xe8}, code: codec.CloseNormal, answer: []byte{0x03, 0xe8}, msg: "a€b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answer := make(chan []byte, 1)
			addr := rawServer(t, func(c net.Conn, r *bufio.Reader, key string) {
				out := append([]byte(upgradeResponse(key)), tc.before...)
				out = codec.AppendFrame(out, codec.OpClose, tc.body)
				_, _ = c.Write(out)
				if op, p, _ := readClientFrame(t, r); op == codec.OpClose {
					answer <- append([]byte{}, p...)
				}
			})
			rec := newRecorder()
			if _, err := (&Dialer{Client: newClient(t)}).Dial(ctx10(t), "ws://"+addr+"/", rec); err != nil {
				t.Fatal(err)
			}
			if tc.msg != "" {
				if got := rec.next(t); got != tc.msg {
					t.Fatalf("message %q, want %q", got, tc.msg)
				}
			}
			var ce *CloseError
			if err := rec.closed(t); !errors.As(err, &ce) || ce.Code != tc.code || ce.Reason != tc.reason || !ce.Remote {
				t.Fatalf("close = %v, want %d %q from the server", err, tc.code, tc.reason)
			}
			select {
			case p := <-answer:
				if !bytes.Equal(p, tc.answer) {
					t.Fatalf("answered close body %x, want %x", p, tc.answer)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no close frame answered")
			}
		})
	}
}
