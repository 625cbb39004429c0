package engine

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// badFrame is one frame a hostile client sends after a valid handshake.
type badFrame struct {
	op     ws.OpCode
	fin    bool
	rsv    byte
	masked bool
	p      []byte
}

// TestBadInput: every kind of bad input gets its clear answer (close code or
// HTTP status), the server stays up, its memory stays bounded, and a healthy
// connection beside the bad ones is unaffected.
func TestBadInput(t *testing.T) {
	rec := newRecorder()
	srv, addr := startServer(t, rec, func(c *Config) {
		c.MaxMessageSize = 1 << 16
		c.HandshakeTimeout = 500 * time.Millisecond
		c.CloseTimeout = 2 * time.Second
	})
	healthy := dial(t, addr, nil)
	rec.nextOpen(t)
	heapBefore := heapInUse()

	upgrade := func(extra string) string {
		return "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" + extra + "\r\n"
	}
	cases := []struct {
		name string
		// After a valid handshake: frames or raw bytes, answered by close code.
		frames []badFrame
		raw    []byte
		code   uint16
		// Instead of a handshake: raw request bytes, answered by HTTP status
		// (0: no response, only TCP closed).
		request string
		dribble bool
		status  int
	}{
		{name: "RFC6455_5_1_UnmaskedClientFrame", frames: []badFrame{{ws.OpText, true, 0, false, []byte("x")}}, code: 1002},
		{name: "RFC6455_5_2_ReservedOpcode", frames: []badFrame{{ws.OpCode(3), true, 0, true, nil}}, code: 1002},
		{name: "RFC6455_5_2_ReservedControlOpcode", frames: []badFrame{{ws.OpCode(0xB), true, 0, true, nil}}, code: 1002},
		{name: "RFC6455_5_2_RSVWithoutExtension", frames: []badFrame{{ws.OpText, true, 4, true, []byte("x")}}, code: 1002},
		{name: "RFC6455_5_5_ControlTooLong", frames: []badFrame{{ws.OpPing, true, 0, true, bytes.Repeat([]byte{1}, 126)}}, code: 1002},
		{name: "RFC6455_5_5_FragmentedControl", frames: []badFrame{{ws.OpPing, false, 0, true, nil}}, code: 1002},
		{name: "RFC6455_5_4_ContinuationWithoutStart", frames: []badFrame{{ws.OpContinuation, true, 0, true, []byte("x")}}, code: 1002},
		{name: "RFC6455_5_4_DataInsideFragmented", frames: []badFrame{{ws.OpText, false, 0, true, []byte("a")}, {ws.OpText, true, 0, true, []byte("b")}}, code: 1002},
		{name: "RFC6455_8_1_InvalidUTF8", frames: []badFrame{{ws.OpText, true, 0, true, []byte{0xff, 0xfe}}}, code: 1007},
		{name: "RFC6455_8_1_InvalidUTF8AcrossFragments", frames: []badFrame{{ws.OpText, false, 0, true, []byte{0xe2, 0x82}}, {ws.OpContinuation, true, 0, true, []byte{0x41}}}, code: 1007},
		{name: "RFC6455_5_5_1_CloseOneBytePayload", frames: []badFrame{{ws.OpClose, true, 0, true, []byte{3}}}, code: 1002},
		{name: "RFC6455_7_4_InvalidCloseCode999", frames: []badFrame{{ws.OpClose, true, 0, true, []byte{0x03, 0xe7}}}, code: 1002},
		{name: "RFC6455_7_4_ReservedCloseCode1005", frames: []badFrame{{ws.OpClose, true, 0, true, []byte{0x03, 0xed}}}, code: 1002},
		{name: "RFC6455_7_4_CloseReasonInvalidUTF8", frames: []badFrame{{ws.OpClose, true, 0, true, []byte{0x03, 0xe8, 0xff}}}, code: 1007},
		{name: "MessageOverLimit", frames: []badFrame{{ws.OpBinary, true, 0, true, make([]byte, 1<<16+1)}}, code: 1009},
		{name: "FragmentsOverLimit", frames: []badFrame{{ws.OpBinary, false, 0, true, make([]byte, 1<<15)}, {ws.OpContinuation, false, 0, true, make([]byte, 1<<15)}, {ws.OpContinuation, true, 0, true, []byte{1}}}, code: 1009},
		// A header declaring 2^62 bytes is refused from the header alone.
		{name: "RFC6455_5_2_HeaderDeclaring2e62Bytes", raw: []byte{0x82, 0xFF, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, code: 1009},
		{name: "RFC6455_5_2_LengthMSBSet", raw: []byte{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, code: 1002},
		{name: "RequestHeadOverLimit", request: upgrade("Sec-WebSocket-Version: 13\r\nX-Pad: " + strings.Repeat("a", 9000) + "\r\n"), status: 431},
		{name: "EndlessHeadWithoutBlankLine", request: "GET / HTTP/1.1\r\n" + strings.Repeat("X-A: b\r\n", 2000), status: 431},
		{name: "WrongVersion", request: upgrade("Sec-WebSocket-Version: 8\r\n"), status: 426},
		{name: "MissingKey", request: "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n", status: 400},
		{name: "GarbageInsteadOfHTTP", request: "\x00\x01\x02garbage\r\n\r\n", status: 400},
		{name: "TLSHelloOnPlainPort", request: "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", status: 400},
		{name: "RequestDribbledByteByByte", request: upgrade("Sec-WebSocket-Version: 13\r\n"), dribble: true, status: 101},
		{name: "ConnectsAndSendsNothing", request: "", status: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.frames != nil || tc.raw != nil {
				c := dial(t, addr, nil)
				rec.nextOpen(t)
				for _, f := range tc.frames {
					if err := c.WriteFrameOpts(f.op, f.fin, f.rsv, f.masked, f.p); err != nil {
						t.Fatal(err)
					}
				}
				if tc.raw != nil {
					if err := c.WriteRaw(tc.raw); err != nil {
						t.Fatal(err)
					}
				}
				f, err := c.ReadFrame(5 * time.Second)
				if err != nil || f.Op != ws.OpClose || len(f.Payload) < 2 {
					t.Fatalf("want a close frame, got %+v %v", f, err)
				}
				if code := uint16(f.Payload[0])<<8 | uint16(f.Payload[1]); code != tc.code {
					t.Fatalf("close code %d (%q), want %d", code, f.Payload[2:], tc.code)
				}
				// The server half-closes after its close frame (draining the
				// client's bytes meanwhile, so no reset destroys the frame);
				// a well-behaved client then closes TCP.
				if err := c.ExpectEOF(5 * time.Second); err != nil {
					t.Fatalf("no FIN after the close frame: %v", err)
				}
				_ = c.Close()
				if ce := rec.nextClose(t); ce == nil || uint16(ce.Code) != tc.code || ce.Remote || ce.Err == nil {
					t.Fatalf("OnClose got %+v, want code %d from the server with a cause", ce, tc.code)
				}
			} else {
				c := dialRaw(t, addr)
				var err error
				if tc.dribble {
					err = c.WriteDribble([]byte(tc.request), 1, time.Millisecond)
				} else if tc.request != "" {
					err = c.WriteRaw([]byte(tc.request))
				}
				if err != nil && tc.status != 431 { // the server may close before a huge head is fully sent
					t.Fatal(err)
				}
				if tc.status == 0 {
					if err := c.ExpectEOF(5 * time.Second); err != nil {
						t.Fatalf("silent client not closed: %v", err)
					}
					return
				}
				resp, _, err := c.ReadHTTPResponse(5 * time.Second)
				if err != nil || resp.StatusCode != tc.status {
					t.Fatalf("response %v %v, want status %d", resp, err, tc.status)
				}
				if tc.status == 101 {
					rec.nextOpen(t)
					_ = c.Close()
					rec.nextClose(t)
					return
				}
				if err := c.ExpectEOF(5 * time.Second); err != nil {
					t.Fatal(err)
				}
			}
			// The server is up and the healthy connection unaffected.
			msg := fmt.Sprint("still here after ", tc.name)
			if err := healthy.WriteText(msg); err != nil {
				t.Fatal(err)
			}
			if _, got, err := healthy.ReadMessage(5 * time.Second); err != nil || string(got) != msg {
				t.Fatalf("healthy connection broke: %q %v", got, err)
			}
		})
	}
	// Memory stays bounded: nothing of the bad connections is retained.
	waitFor(t, "bad connections gone", func() bool { return srv.Stats().Open == 1 })
	if grown := int64(heapInUse()) - int64(heapBefore); grown > 4<<20 {
		t.Fatalf("heap grew by %d KiB over the bad inputs", grown>>10)
	}
	if _, err := wstest.Dial(addr, nil); err != nil {
		t.Fatalf("server no longer accepts: %v", err)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// A client that never answers the close after its protocol error is cut
// at CloseTimeout; one that keeps sending meanwhile is drained, not reset.
func TestProtocolErrorPeerKeepsSending(t *testing.T) {
	rec := newRecorder()
	_, addr := startServer(t, rec, func(c *Config) { c.MaxMessageSize = 1024; c.CloseTimeout = 300 * time.Millisecond })
	c := dial(t, addr, nil)
	rec.nextOpen(t)
	// A message over the limit, sent in full: the server answers 1009 from
	// the header while the payload is still arriving.
	go func() { _ = c.WriteFrame(ws.OpBinary, true, make([]byte, 256<<10)) }()
	f, err := c.ReadFrame(5 * time.Second)
	if err != nil || f.Op != ws.OpClose || len(f.Payload) < 2 || uint16(f.Payload[0])<<8|uint16(f.Payload[1]) != 1009 {
		t.Fatalf("want close 1009, got %+v %v", f, err)
	}
	if err := c.ExpectEOF(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if ce := rec.nextClose(t); ce.Code != 1009 || ce.Err != codec.ErrFrameTooBig && ce.Err != codec.ErrMessageTooBig {
		t.Fatalf("OnClose %+v", ce)
	}
}
