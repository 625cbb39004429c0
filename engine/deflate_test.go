package engine

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/pmd"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// pmdClient is a permessage-deflate client over wstest: internal/pmd with
// the roles reversed (it deflates with its outbound window, inflates with
// its inbound one).
type pmdClient struct {
	*wstest.Client
	agreed  codec.DeflateOffer // parsed from the 101's answer
	in, out pmd.Window
}

func dialDeflate(t *testing.T, addr, offer string) *pmdClient {
	return dialDeflatePath(t, addr, "/", offer)
}

func dialDeflatePath(t *testing.T, addr, path, offer string) *pmdClient {
	t.Helper()
	var h http.Header
	if offer != "" {
		h = http.Header{"Sec-WebSocket-Extensions": {offer}}
	}
	c := dial(t, addr, &wstest.DialOptions{Path: path, Header: h})
	p := &pmdClient{Client: c}
	if ans := c.Response.Header.Get("Sec-WebSocket-Extensions"); ans != "" {
		o, ok := codec.ParseDeflateOffer([]byte(ans))
		if !ok {
			t.Fatalf("server answered %q, not a valid permessage-deflate answer", ans)
		}
		p.agreed = o
		if !o.ClientNoContextTakeover {
			bits := o.ClientMaxWindowBits
			if bits == 0 {
				bits = 15
			}
			p.out.Init(1 << max(bits, 9))
		}
		if !o.ServerNoContextTakeover {
			p.in.Init(1 << 15) // as zlib clients do
		}
	}
	return p
}

// send writes msg compressed, split into frames (RSV1 on the first only).
func (p *pmdClient) send(op ws.OpCode, msg []byte, frames int) error {
	z := pmd.Deflate(nil, msg, p.out.Bytes())
	p.out.Append(msg)
	return p.sendRaw(op, z, frames)
}

func (p *pmdClient) sendRaw(op ws.OpCode, z []byte, frames int) error {
	step := max(len(z)/max(frames, 1), 1)
	var buf []byte
	for i := 0; ; i++ {
		n := min(step, len(z))
		last := n == len(z) || i == frames-1
		if last {
			n = len(z)
		}
		fop, rsv := ws.OpContinuation, byte(0)
		if i == 0 {
			fop, rsv = op, 4
		}
		buf = append(buf, wstest.EncodeFrame(fop, last, rsv, true, z[:n])...)
		z = z[n:]
		if last {
			break
		}
	}
	return p.WriteRaw(buf)
}

// recv reads one message, inflating it when RSV1 is set.
func (p *pmdClient) recv() (op ws.OpCode, msg []byte, compressed bool, err error) {
	started := false
	for {
		f, err := p.ReadFrame(5 * time.Second)
		if err != nil {
			return 0, nil, false, err
		}
		switch f.Op {
		case ws.OpPing, ws.OpPong:
			continue
		case ws.OpClose:
			code := uint16(1005)
			if len(f.Payload) >= 2 {
				code = uint16(f.Payload[0])<<8 | uint16(f.Payload[1])
			}
			return 0, nil, false, &wstest.CloseError{Code: code}
		case ws.OpContinuation:
			if f.Rsv != 0 {
				return 0, nil, false, errors.New("RSV on a continuation")
			}
		default:
			if started {
				return 0, nil, false, errors.New("data frame inside a message")
			}
			started, op, compressed = true, f.Op, f.Rsv == 4
			if f.Rsv&^4 != 0 {
				return 0, nil, false, fmt.Errorf("unexpected RSV %b", f.Rsv)
			}
		}
		msg = append(msg, f.Payload...)
		if f.Fin {
			break
		}
	}
	if compressed {
		out, err := pmd.Inflate(nil, msg, p.in.Bytes(), 64<<20)
		if err != nil {
			return 0, nil, false, err
		}
		p.in.Append(out)
		msg = out
	}
	return op, msg, compressed, nil
}

func deflateServer(t *testing.T, mode codec.DeflateMode, h *recorder, tweak func(*Config)) (*Server, string) {
	return startServer(t, h, func(c *Config) {
		c.Deflate = codec.DeflatePolicy{Mode: mode}
		c.MaxMessagesPerSecond, c.MaxBytesPerSecond = 0, 0
		if tweak != nil {
			tweak(c)
		}
	})
}

func TestDeflateNegotiation(t *testing.T) {
	const (
		both   = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
		takeCT = codec.DeflateContextTakeover
		noCT   = codec.DeflateNoContextTakeover
	)
	for _, tc := range []struct {
		name  string
		mode  codec.DeflateMode
		offer string
		want  string
	}{
		{"policy off", codec.DeflateOff, "permessage-deflate", ""},
		{"no offer", noCT, "", ""},
		{"plain", noCT, "permessage-deflate", both},
		{"plain, client bits", noCT, "permessage-deflate; client_max_window_bits", both},
		{"takeover plain", takeCT, "permessage-deflate", "permessage-deflate; client_no_context_takeover"},
		{"takeover client bits", takeCT, "permessage-deflate; client_max_window_bits", "permessage-deflate; client_max_window_bits=12"},
		{"takeover client bits 10", takeCT, "permessage-deflate; client_max_window_bits=10", "permessage-deflate; client_max_window_bits=10"},
		{"takeover server none", takeCT, "permessage-deflate; server_no_context_takeover; client_max_window_bits", "permessage-deflate; server_no_context_takeover; client_max_window_bits=12"},
		{"malformed", takeCT, "permessage-deflate; foo=1", ""},
		{"bad bits", takeCT, "permessage-deflate; client_max_window_bits=16", ""},
		{"server bits below 15", takeCT, "permessage-deflate; server_max_window_bits=10", "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10"},
		{"server bits 15", takeCT, "permessage-deflate; server_max_window_bits=15; client_max_window_bits", "permessage-deflate; server_max_window_bits=15; client_max_window_bits=12"},
		{"second offer", noCT, "permessage-deflate; server_max_window_bits=16, permessage-deflate", both},
		{"other extension", noCT, "x-webkit-deflate-frame", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := deflateServer(t, tc.mode, newRecorder(), nil)
			c := dialDeflate(t, addr, tc.offer)
			if got := c.Response.Header.Get("Sec-WebSocket-Extensions"); got != tc.want {
				t.Fatalf("answer %q, want %q", got, tc.want)
			}
			if n := len(c.Response.Header.Values("Sec-WebSocket-Extensions")); n > 1 {
				t.Fatalf("%d extension headers", n)
			}
		})
	}
}

func TestDeflateHook(t *testing.T) {
	for _, tc := range []struct {
		name   string
		veto   bool
		header bool
		defer_ bool
	}{
		{"sees params", false, false, false},
		{"veto", true, false, false},
		{"own extension header refused", false, true, false},
		{"deferred", false, false, true},
		{"deferred veto", true, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := make(chan codec.DeflateParams, 1)
			_, addr := deflateServer(t, codec.DeflateNoContextTakeover, newRecorder(), func(c *Config) {
				c.Upgrade = func(r *UpgradeRequest, resp *UpgradeResponse) error {
					p, ok := r.Deflate()
					if ok {
						seen <- p
					}
					if tc.header {
						resp.Header = []codec.HeaderField{{Name: "sec-websocket-extensions", Value: "x"}}
					}
					if tc.defer_ {
						d, err := r.Defer()
						if err != nil {
							return err
						}
						go func() { _ = d.Accept(UpgradeResponse{NoDeflate: tc.veto}) }()
						return nil
					}
					resp.NoDeflate = tc.veto
					return nil
				}
			})
			if tc.header {
				_, err := wstest.Dial(addr, &wstest.DialOptions{Header: http.Header{"Sec-WebSocket-Extensions": {"permessage-deflate"}}})
				var he *wstest.HandshakeError
				if !errors.As(err, &he) || he.Status != 500 {
					t.Fatalf("got %v, want a 500", err)
				}
				return
			}
			c := dialDeflate(t, addr, "permessage-deflate")
			if p := <-seen; !p.ServerNoContextTakeover || !p.ClientNoContextTakeover {
				t.Fatalf("hook saw %+v", p)
			}
			got := c.Response.Header.Get("Sec-WebSocket-Extensions")
			if tc.veto {
				if got != "" {
					t.Fatalf("vetoed, but answered %q", got)
				}
				// RSV1 is now a protocol error.
				_ = c.WriteFrameOpts(ws.OpText, true, 4, true, []byte("x"))
				if code, _, _ := c.ExpectClose(5 * time.Second); code != 1002 {
					t.Fatalf("close %d, want 1002", code)
				}
				return
			}
			if got == "" {
				t.Fatal("no answer")
			}
			if err := c.send(ws.OpText, []byte(strings.Repeat("hello ", 50)), 1); err != nil {
				t.Fatal(err)
			}
			if _, msg, z, err := c.recv(); err != nil || !z || string(msg) != strings.Repeat("hello ", 50) {
				t.Fatalf("echo %q compressed=%v err=%v", msg, z, err)
			}
		})
	}
}

// payloadOf returns n bytes of JSON-like text that compresses well, varied
// by seed, plus (for binary) some random bytes that do not.
func payloadOf(n int, seed int64, binary bool) []byte {
	r := rand.New(rand.NewSource(seed))
	var b bytes.Buffer
	for b.Len() < n {
		fmt.Fprintf(&b, `{"id":%d,"user":"u%d","text":"message number %d","ok":true},`, r.Intn(1000), r.Intn(50), r.Intn(100000))
		if binary {
			var junk [8]byte
			r.Read(junk[:])
			b.Write(junk[:])
		}
	}
	return b.Bytes()[:n]
}

func TestDeflateEcho(t *testing.T) {
	sizes := []int{16, 127, 128, 1000, 4 << 10, 64 << 10, 256 << 10}
	for _, tc := range []struct {
		name    string
		mode    codec.DeflateMode
		offer   string
		offLoop bool
	}{
		{"no context takeover", codec.DeflateNoContextTakeover, "permessage-deflate", false},
		{"no context takeover, off loop", codec.DeflateNoContextTakeover, "permessage-deflate", true},
		{"takeover 9", codec.DeflateContextTakeover, "permessage-deflate; client_max_window_bits=9", false},
		{"takeover 10", codec.DeflateContextTakeover, "permessage-deflate; client_max_window_bits=10", false},
		{"takeover 11", codec.DeflateContextTakeover, "permessage-deflate; client_max_window_bits=11", true},
		{"takeover 12", codec.DeflateContextTakeover, "permessage-deflate; client_max_window_bits=12", false},
		{"takeover 13", codec.DeflateContextTakeover, "permessage-deflate; client_max_window_bits=13", false},
		{"takeover 14", codec.DeflateContextTakeover, "permessage-deflate; client_max_window_bits=14", false},
		{"takeover 15", codec.DeflateContextTakeover, "permessage-deflate; client_max_window_bits=15", true},
		{"takeover, client none", codec.DeflateContextTakeover, "permessage-deflate; client_no_context_takeover", false},
		{"server window 9", codec.DeflateContextTakeover, "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9", false},
		{"server window 12, off loop", codec.DeflateNoContextTakeover, "permessage-deflate; server_max_window_bits=12", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newRecorder()
			if tc.offLoop {
				h.onMsg = func(c *Conn, typ MessageType, data []byte) {
					cp := append([]byte(nil), data...)
					go func() { _ = c.WriteMessage(typ, cp) }()
				}
			}
			srv, addr := deflateServer(t, tc.mode, h, func(c *Config) {
				c.Deflate.ServerMaxWindowBits = 15
				c.Deflate.ClientMaxWindowBits = 15
				c.MaxMessageSize = 1 << 20
			})
			c := dialDeflate(t, addr, tc.offer)
			if c.Response.Header.Get("Sec-WebSocket-Extensions") == "" {
				t.Fatal("not negotiated")
			}
			var sent, compressed int
			for i := 0; i < 3; i++ { // sequences keep the dictionaries in sync
				for _, n := range sizes {
					for _, op := range []ws.OpCode{ws.OpText, ws.OpBinary} {
						msg := payloadOf(n, int64(n+i), op == ws.OpBinary)
						frames := 1
						if n >= 1000 {
							frames = 1 + (n+i)%4 // fragmented: RSV1 on the first frame only
						}
						if err := c.send(op, msg, frames); err != nil {
							t.Fatal(err)
						}
						gop, got, z, err := c.recv()
						if err != nil {
							t.Fatalf("size %d op %v: %v", n, op, err)
						}
						if gop != op || !bytes.Equal(got, msg) {
							t.Fatalf("size %d op %v: echo differs (len %d, want %d)", n, op, len(got), len(msg))
						}
						if z != (n >= DefaultDeflateThreshold && op == ws.OpText) && op == ws.OpText {
							t.Fatalf("size %d: compressed=%v", n, z)
						}
						sent++
						if z {
							compressed++
						}
					}
				}
			}
			// The counters move just after the write the client read.
			waitFor(t, "deflate stats", func() bool {
				st := srv.Stats()
				return st.Deflate.Inflated == uint64(sent) && st.Deflate.Deflated == uint64(compressed)
			})
			st := srv.Stats()
			if st.Deflate.InflatedBytesOut <= st.Deflate.InflatedBytesIn || st.Deflate.DeflatedBytesOut >= st.Deflate.DeflatedBytesIn {
				t.Fatalf("stats %+v", st.Deflate)
			}
		})
	}
}

// A server write below the threshold, a control frame, and a prepared
// frame go out uncompressed; so does a message that would not shrink.
func TestDeflateOutboundPlain(t *testing.T) {
	h := newRecorder()
	h.onMsg = func(c *Conn, typ MessageType, data []byte) {
		_ = c.WriteText([]byte("short"))
		_ = c.Ping([]byte("p"))
		_ = c.WritePrepared(codec.NewPreparedFrame(codec.OpText, bytes.Repeat([]byte("a"), 500)))
		random := make([]byte, 1000)
		rand.New(rand.NewSource(1)).Read(random)
		_ = c.WriteBinary(random)
		_ = c.WriteText(bytes.Repeat([]byte("b"), 500))
	}
	_, addr := deflateServer(t, codec.DeflateContextTakeover, h, nil)
	c := dialDeflate(t, addr, "permessage-deflate; client_max_window_bits")
	if err := c.send(ws.OpText, []byte("go"), 1); err != nil {
		t.Fatal(err)
	}
	want := []bool{false, false, false, true}
	for i, w := range want {
		_, msg, z, err := c.recv()
		if err != nil || z != w {
			t.Fatalf("message %d (%d bytes): compressed=%v err=%v", i, len(msg), z, err)
		}
	}
}

func TestDeflateBomb(t *testing.T) {
	h := newRecorder()
	srv, addr := deflateServer(t, codec.DeflateNoContextTakeover, h, func(c *Config) {
		c.MaxMessageSize = 64 << 10
	})
	bomb := pmd.Deflate(nil, make([]byte, 32<<20), nil) // 32 MiB of zeros
	if len(bomb) > 64<<10 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	c := dialDeflate(t, addr, "permessage-deflate")
	h.nextOpen(t)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := c.sendRaw(ws.OpBinary, bomb, 1); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := c.ExpectClose(5 * time.Second); code != 1009 {
		t.Fatalf("close %d, want 1009", code)
	}
	_ = c.Close()
	ce := h.nextClose(t)
	runtime.ReadMemStats(&after)
	if ce.Code != 1009 {
		t.Fatalf("OnClose %v", ce)
	}
	if st := srv.Stats(); st.Deflate.TooBig != 1 || st.CloseCauses["message_too_big"] != 1 {
		t.Fatalf("stats %+v %v", st.Deflate, st.CloseCauses)
	}
	// The bomb cost at most about the limit (plus a pooled decompressor),
	// not its 32 MiB: ~270 KB when run alone. TotalAlloc is process-wide
	// and servers of earlier tests may still be winding down, so the bound
	// is half the inflated size, which a bomb inflated whole would pass.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Fatalf("the bomb allocated %d bytes", alloc)
	} else {
		t.Logf("bomb of %d bytes (32 MiB inflated) cost %d bytes allocated", len(bomb), alloc)
	}
}

func TestDeflateProtocolErrors(t *testing.T) {
	compressedText := pmd.Deflate(nil, []byte(strings.Repeat("x", 200)), nil)
	badUTF8 := pmd.Deflate(nil, append([]byte(strings.Repeat("x", 200)), 0xff, 0xfe), nil)
	for _, tc := range []struct {
		name  string
		mode  codec.DeflateMode
		frame []byte
		want  uint16
	}{
		{"rsv1 on ping", codec.DeflateNoContextTakeover, wstest.EncodeFrame(ws.OpPing, true, 4, true, []byte("p")), 1002},
		{"rsv1 on continuation", codec.DeflateNoContextTakeover, append(
			wstest.EncodeFrame(ws.OpText, false, 4, true, compressedText[:5]),
			wstest.EncodeFrame(ws.OpContinuation, true, 4, true, compressedText[5:])...), 1002},
		{"rsv2", codec.DeflateNoContextTakeover, wstest.EncodeFrame(ws.OpText, true, 2, true, compressedText), 1002},
		{"rsv1 not negotiated", codec.DeflateOff, wstest.EncodeFrame(ws.OpText, true, 4, true, compressedText), 1002},
		{"corrupt", codec.DeflateNoContextTakeover, wstest.EncodeFrame(ws.OpBinary, true, 4, true, []byte{0xff, 0xff, 0xff, 0xff}), 1007},
		{"invalid utf-8 after inflation", codec.DeflateNoContextTakeover, wstest.EncodeFrame(ws.OpText, true, 4, true, badUTF8), 1007},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := deflateServer(t, tc.mode, newRecorder(), nil)
			c := dialDeflate(t, addr, "permessage-deflate")
			if err := c.WriteRaw(tc.frame); err != nil {
				t.Fatal(err)
			}
			if code, _, _ := c.ExpectClose(5 * time.Second); code != tc.want {
				t.Fatalf("close %d, want %d", code, tc.want)
			}
		})
	}
}

// The net/http path negotiates and compresses as the engine's listener does.
func TestDeflateNetHTTP(t *testing.T) {
	for _, offer := range []string{"permessage-deflate", "permessage-deflate; client_max_window_bits=10"} {
		t.Run(offer, func(t *testing.T) {
			_, addr := startMounted(t, newRecorder(), func(c *Config) {
				c.Deflate = codec.DeflatePolicy{Mode: codec.DeflateContextTakeover}
			}, nil)
			c := dialDeflatePath(t, addr, "/ws", offer)
			if c.Response.Header.Get("Sec-WebSocket-Extensions") == "" {
				t.Fatal("not negotiated")
			}
			for i := 0; i < 5; i++ {
				msg := payloadOf(2000, int64(i), false)
				if err := c.send(ws.OpText, msg, 2); err != nil {
					t.Fatal(err)
				}
				if _, got, z, err := c.recv(); err != nil || !z || !bytes.Equal(got, msg) {
					t.Fatalf("echo %d: compressed=%v err=%v", i, z, err)
				}
			}
		})
	}
}

// TestDeflateInteropPython echoes through Python's websockets client, which
// offers permessage-deflate (client_max_window_bits) by default.
func TestDeflateInteropPython(t *testing.T) {
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import websockets").Run(); err != nil {
		t.Skip("python3-websockets not installed (Debian; /usr/bin/python3 -c 'import websockets' failed)")
	}
	script := `
import asyncio, sys, websockets
async def main():
    async with websockets.connect(sys.argv[1], max_size=None) as ws:
        print(ws.response_headers.get("Sec-WebSocket-Extensions"))
        for i, n in enumerate([16, 200, 5000, 70000, 262144]):
            msg = ('{"n":%d,"text":"hello world"},' % i) * (n // 28 + 1)
            msg = msg[:n]
            await ws.send(msg)
            if await ws.recv() != msg: sys.exit("text %d differs" % n)
            await ws.send(msg.encode())
            if await ws.recv() != msg.encode(): sys.exit("binary %d differs" % n)
        print("ok")
asyncio.run(main())
`
	for _, tc := range []struct {
		name string
		mode codec.DeflateMode
	}{{"no context takeover", codec.DeflateNoContextTakeover}, {"context takeover", codec.DeflateContextTakeover}} {
		t.Run(tc.name, func(t *testing.T) {
			srv, addr := deflateServer(t, tc.mode, newRecorder(), nil)
			cmd := exec.Command(python, "-c", script, "ws://"+addr+"/")
			cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "ok") || !strings.Contains(string(out), "permessage-deflate") {
				t.Fatalf("python: %v\n%s", err, out)
			}
			if st := srv.Stats(); st.Deflate.Inflated == 0 || st.Deflate.Deflated == 0 {
				t.Fatalf("stats %+v\n%s", st.Deflate, out)
			}
			t.Logf("%s", strings.TrimSpace(string(out)))
		})
	}
}

// TestDeflateBudget: a compressed message's inflated bytes count in the
// server-wide inbound budget while it is delivered. One that would pass
// the budget (though within MaxMessageSize) is closed 1013; one that fits
// is delivered, counted in the peak, and given back afterwards.
func TestDeflateBudget(t *testing.T) {
	const budget = 256 << 10
	h := newRecorder()
	held := make(chan int64, 1)
	var srvp atomic.Pointer[Server]
	h.onMsg = func(c *Conn, typ MessageType, data []byte) {
		held <- srvp.Load().Stats().InboundBuffered
		_ = c.WriteMessage(typ, data)
	}
	srv, addr := deflateServer(t, codec.DeflateNoContextTakeover, h, func(c *Config) {
		c.MaxMessageSize = 1 << 20
		c.InboundBudget = budget
	})
	srvp.Store(srv)
	for _, tc := range []struct {
		name string
		size int
		want int // close code; 0: echoed
	}{
		{"fits", 100 << 10, 0},
		{"inflates past the budget", 512 << 10, 1013},
		{"fits after a refusal", budget - 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialDeflate(t, addr, "permessage-deflate")
			h.nextOpen(t)
			msg := bytes.Repeat([]byte("budget "), tc.size/7+1)[:tc.size]
			if err := c.send(ws.OpText, msg, 1); err != nil {
				t.Fatal(err)
			}
			if tc.want != 0 {
				if code, _, _ := c.ExpectClose(5 * time.Second); int(code) != tc.want {
					t.Fatalf("close %d, want %d", code, tc.want)
				}
				_ = c.Close()
				if ce := h.nextClose(t); int(ce.Code) != tc.want {
					t.Fatalf("OnClose %v", ce)
				}
				return
			}
			_, got, _, err := c.recv()
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("echo: %v (len %d)", err, len(got))
			}
			if n := <-held; n < int64(tc.size) {
				t.Fatalf("InboundBuffered during OnMessage %d, want >= %d", n, tc.size)
			}
			_ = c.Close()
			h.nextClose(t)
		})
	}
	st := srv.Stats()
	if st.BudgetRefused != 1 || st.CloseCauses["inbound_budget"] != 1 || st.InboundBuffered != 0 || st.InboundBufferedPeak < 100<<10 {
		t.Fatalf("stats: refused %d causes %v buffered %d peak %d", st.BudgetRefused, st.CloseCauses, st.InboundBuffered, st.InboundBufferedPeak)
	}
}
