package wstest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// serve runs h on each connection accepted on 127.0.0.1:0, one goroutine per
// connection, and returns the listening address.
func serve(t *testing.T, h func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				h(c)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

func dial(t *testing.T, addr string, opts *DialOptions) *Client {
	t.Helper()
	c, err := Dial(addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func dialRaw(t *testing.T, addr string) *Client {
	t.Helper()
	c, err := DialRaw(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// echo upgrades and echoes data messages, answering control frames with
// wsutil. The message "close-me" makes it send a close frame 4000 "bye", wait
// for the answer and close the connection.
func echo(c net.Conn) {
	_, err := ws.Upgrade(c)
	if err != nil {
		return
	}
	echoLoop(c)
}

func echoLoop(c net.Conn) {
	for {
		p, op, err := wsutil.ReadClientData(c)
		if err != nil {
			return
		}
		if string(p) == "close-me" {
			ws.WriteFrame(c, ws.NewCloseFrame(ws.NewCloseFrameBody(4000, "bye")))
			for {
				h, err := ws.ReadHeader(c)
				if err != nil {
					return
				}
				io.CopyN(io.Discard, c, h.Length)
				if h.OpCode == ws.OpClose {
					return
				}
			}
		}
		wsutil.WriteServerMessage(c, op, p)
	}
}

func readMessage(t *testing.T, c *Client, wantOp ws.OpCode, want string) {
	t.Helper()
	op, p, err := c.ReadMessage(0)
	if err != nil {
		t.Fatal(err)
	}
	if op != wantOp || string(p) != want {
		t.Fatalf("got op %d %q, want op %d %q", op, p, wantOp, want)
	}
}

func TestEcho(t *testing.T) {
	c := dial(t, serve(t, echo), nil)
	if c.Response.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", c.Response.StatusCode)
	}
	if err := c.WriteText("hello"); err != nil {
		t.Fatal(err)
	}
	readMessage(t, c, ws.OpText, "hello")

	for _, n := range []int{0, 125, 126, 65535, 65536, 200000} {
		p := bytes.Repeat([]byte{0, 1, 0xfe, 0xff}, n/4+1)[:n]
		if err := c.WriteBinary(p); err != nil {
			t.Fatal(err)
		}
		readMessage(t, c, ws.OpBinary, string(p))
	}
	if err := c.ExpectSilence(50 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
}

func TestClientFragmentsWithPing(t *testing.T) {
	c := dial(t, serve(t, echo), nil)
	frames := []struct {
		op      ws.OpCode
		fin     bool
		payload string
	}{
		{
			op:      ws.OpText,
			payload: "hel",
		},
		{
			op:      ws.OpPing,
			fin:     true,
			payload: "x",
		},
		{
			op:      ws.OpContinuation,
			fin:     true,
			payload: "lo",
		},
	}
	for _, f := range frames {
		if err := c.WriteFrame(f.op, f.fin, []byte(f.payload)); err != nil {
			t.Fatal(err)
		}
	}
	f, err := c.ReadFrame(0)
	if err != nil {
		t.Fatal(err)
	}
	if f.Op != ws.OpPong || !f.Fin || f.Masked || f.Rsv != 0 || string(f.Payload) != "x" {
		t.Fatalf("got %+v, want an unmasked pong \"x\"", f)
	}
	readMessage(t, c, ws.OpText, "hello")
}

// TestServerFragmentsWithPing checks that ReadMessage reassembles a message
// with a ping between its fragments and answers the ping with a masked pong.
func TestServerFragmentsWithPing(t *testing.T) {
	addr := serve(t, func(c net.Conn) {
		if _, err := ws.Upgrade(c); err != nil {
			return
		}
		var out bytes.Buffer
		ws.WriteFrame(&out, ws.NewFrame(ws.OpText, false, []byte("ab")))
		ws.WriteFrame(&out, ws.NewPingFrame([]byte("p")))
		ws.WriteFrame(&out, ws.NewFrame(ws.OpContinuation, true, []byte("cd")))
		c.Write(out.Bytes())
		h, err := ws.ReadHeader(c)
		if err != nil {
			return
		}
		p := make([]byte, h.Length)
		io.ReadFull(c, p)
		ws.Cipher(p, h.Mask, 0)
		reply := "ok"
		if h.OpCode != ws.OpPong || !h.Masked || !h.Fin || string(p) != "p" {
			reply = fmt.Sprintf("bad %+v %q", h, p)
		}
		wsutil.WriteServerText(c, []byte(reply))
		io.Copy(io.Discard, c)
	})
	c := dial(t, addr, nil)
	readMessage(t, c, ws.OpText, "abcd")
	readMessage(t, c, ws.OpText, "ok")
}

func TestCloseHandshake(t *testing.T) {
	addr := serve(t, echo)

	t.Run("client", func(t *testing.T) {
		c := dial(t, addr, nil)
		if err := c.WriteClose(1000, "done"); err != nil {
			t.Fatal(err)
		}
		// wsutil echoes the code only.
		code, reason, err := c.ExpectClose(0)
		if err != nil || code != 1000 || reason != "" {
			t.Fatalf("got %d %q %v", code, reason, err)
		}
	})
	t.Run("server", func(t *testing.T) {
		c := dial(t, addr, nil)
		if err := c.WriteText("close-me"); err != nil {
			t.Fatal(err)
		}
		code, reason, err := c.ExpectClose(0)
		if err != nil || code != 4000 || reason != "bye" {
			t.Fatalf("got %d %q %v", code, reason, err)
		}
	})
	t.Run("ReadMessage", func(t *testing.T) {
		c := dial(t, addr, nil)
		if err := c.WriteText("close-me"); err != nil {
			t.Fatal(err)
		}
		_, _, err := c.ReadMessage(0)
		var ce *CloseError
		if !errors.As(err, &ce) || ce.Code != 4000 || ce.Reason != "bye" {
			t.Fatalf("got %v, want close 4000 bye", err)
		}
		if err := c.WriteClose(0, ""); err != nil {
			t.Fatal(err)
		}
		if err := c.ExpectEOF(0); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		c := dial(t, addr, nil)
		if err := c.WriteClose(0, ""); err != nil {
			t.Fatal(err)
		}
		code, reason, err := c.ExpectClose(0)
		if err != nil || code != 1005 || reason != "" {
			t.Fatalf("got %d %q %v", code, reason, err)
		}
	})
}

// TestRawFrames checks the exact bytes of unmasked frames and the bits of
// masked ones as the server sees them.
func TestRawFrames(t *testing.T) {
	got := make(chan []byte, 1)
	frames := make(chan ws.Frame, 2)
	addr := serve(t, func(c net.Conn) {
		if _, err := ws.Upgrade(c); err != nil {
			return
		}
		p := make([]byte, 4)
		if _, err := io.ReadFull(c, p); err != nil {
			return
		}
		got <- p
		for range 2 {
			h, err := ws.ReadHeader(c)
			if err != nil {
				return
			}
			f := ws.Frame{Header: h, Payload: make([]byte, h.Length)}
			if _, err := io.ReadFull(c, f.Payload); err != nil {
				return
			}
			ws.Cipher(f.Payload, h.Mask, 0) // keep Header.Masked as received
			frames <- f
		}
		io.Copy(io.Discard, c)
	})
	c := dial(t, addr, nil)
	if err := c.WriteFrameOpts(ws.OpText, true, 4, false, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if p, want := <-got, []byte{0xc1, 0x02, 'h', 'i'}; !bytes.Equal(p, want) {
		t.Fatalf("unmasked frame: got % x, want % x", p, want)
	}
	if err := c.WriteFrameOpts(ws.OpBinary, false, 3, true, []byte("yo")); err != nil {
		t.Fatal(err)
	}
	// A frame split over writes, with an out-of-range opcode and a 126-byte
	// control frame, none of which the client refuses to send.
	b := EncodeFrame(ws.OpPing, true, 0, true, bytes.Repeat([]byte("z"), 126))
	if err := c.WriteDribble(b, 50, time.Millisecond); err != nil {
		t.Fatal(err)
	}

	f := <-frames
	if f.Header.OpCode != ws.OpBinary || f.Header.Fin || f.Header.Rsv != 3 ||
		!f.Header.Masked || string(f.Payload) != "yo" {
		t.Fatalf("got %+v %q", f.Header, f.Payload)
	}
	f = <-frames
	if f.Header.OpCode != ws.OpPing || f.Header.Length != 126 || !f.Header.Masked ||
		!bytes.Equal(f.Payload, bytes.Repeat([]byte("z"), 126)) {
		t.Fatalf("got %+v %q", f.Header, f.Payload)
	}
}

func TestEncodeFrameLengths(t *testing.T) {
	for _, n := range []int{0, 125, 126, 65535, 65536} {
		p := bytes.Repeat([]byte{7}, n)
		for _, masked := range []bool{false, true} {
			b := EncodeFrame(ws.OpBinary, true, 0, masked, p)
			h, err := ws.ReadHeader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			rest := b[ws.HeaderSize(h):]
			if h.Length != int64(n) || h.Masked != masked || len(rest) != n {
				t.Fatalf("n=%d masked=%v: header %+v, %d bytes after it", n, masked, h, len(rest))
			}
			if masked {
				ws.Cipher(rest, h.Mask, 0)
			}
			if !bytes.Equal(rest, p) || bytes.Count(p, []byte{7}) != n {
				t.Fatalf("n=%d masked=%v: payload mismatch or input changed", n, masked)
			}
		}
	}
}

func TestHandshakeError(t *testing.T) {
	cases := []struct {
		name     string
		response string
	}{
		{
			name:     "content-length",
			response: "HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\nX-Why: nope\r\n\r\nno way",
		},
		{
			name:     "chunked",
			response: "HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\nX-Why: nope\r\n\r\n3\r\nno \r\n3\r\nway\r\n0\r\n\r\n",
		},
		{
			name:     "close-delimited",
			response: "HTTP/1.1 403 Forbidden\r\nX-Why: nope\r\n\r\nno way",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := serve(t, func(c net.Conn) {
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				io.WriteString(c, tc.response)
			})
			c, err := Dial(addr, nil)
			var he *HandshakeError
			if !errors.As(err, &he) {
				if c != nil {
					c.Close()
				}
				t.Fatalf("got %v, want a *HandshakeError", err)
			}
			if he.Status != 403 || he.Body != "no way" || he.Header.Get("X-Why") != "nope" {
				t.Fatalf("got %+v", he)
			}
		})
	}
}

// TestBytesBehindHead checks that a frame sent in the same write as the 101
// response is not lost, and that a bad accept value is refused.
func TestBytesBehindHead(t *testing.T) {
	server := func(accept func(key string) string) func(net.Conn) {
		return func(c net.Conn) {
			req, err := http.ReadRequest(bufio.NewReader(c))
			if err != nil {
				return
			}
			head := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
				"Connection: Upgrade\r\nSec-WebSocket-Accept: " +
				accept(req.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n"
			out := append([]byte(head), ws.MustCompileFrame(ws.NewTextFrame([]byte("early")))...)
			c.Write(out)
			io.Copy(io.Discard, c)
		}
	}
	c := dial(t, serve(t, server(AcceptKey)), nil)
	if !bytes.HasPrefix(c.ResponseHead, []byte("HTTP/1.1 101 ")) ||
		!bytes.HasSuffix(c.ResponseHead, []byte(AcceptKey(c.Key)+"\r\n\r\n")) {
		t.Fatalf("response head %q", c.ResponseHead)
	}
	readMessage(t, c, ws.OpText, "early")

	bad := func(key string) string { return AcceptKey(key + "x") }
	c, err := Dial(serve(t, server(bad)), nil)
	if err == nil {
		c.Close()
		t.Fatal("Dial accepted a wrong Sec-WebSocket-Accept")
	}
}

func TestDialOptions(t *testing.T) {
	type seen struct {
		uri, origin, remote string
	}
	got := make(chan seen, 1)
	addr := serve(t, func(c net.Conn) {
		var s seen
		u := ws.Upgrader{
			Protocol: func(p []byte) bool { return string(p) == "chat" },
			OnRequest: func(uri []byte) error {
				s.uri = string(uri)
				return nil
			},
			OnHeader: func(key, value []byte) error {
				if http.CanonicalHeaderKey(string(key)) == "Origin" {
					s.origin = string(value)
				}
				return nil
			},
		}
		if _, err := u.Upgrade(c); err != nil {
			return
		}
		s.remote, _, _ = net.SplitHostPort(c.RemoteAddr().String())
		got <- s
		echoLoop(c)
	})
	c := dial(t, addr, &DialOptions{
		Path: "/room?x=1",
		Header: http.Header{
			"Origin":                 {"http://example.test"},
			"Sec-WebSocket-Protocol": {"other, chat"},
		},
		Timeout:   2 * time.Second,
		LocalAddr: "127.0.0.2",
	})
	want := seen{
		uri:    "/room?x=1",
		origin: "http://example.test",
		remote: "127.0.0.2",
	}
	if s := <-got; s != want {
		t.Fatalf("server saw %+v, want %+v", s, want)
	}
	if p := c.Response.Header.Get("Sec-WebSocket-Protocol"); p != "chat" {
		t.Fatalf("subprotocol %q", p)
	}
	if err := c.WriteText("hi"); err != nil {
		t.Fatal(err)
	}
	readMessage(t, c, ws.OpText, "hi")
}

func TestRawRequests(t *testing.T) {
	addr := serve(t, echo)

	t.Run("dribble", func(t *testing.T) {
		c := dialRaw(t, addr)
		req := []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if err := c.WriteDribble(req, 3, 2*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		resp, _, err := c.ReadHTTPResponse(0)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if err := c.ExpectEOF(0); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		c := dialRaw(t, addr)
		if err := c.WriteRaw([]byte("\x00\xff\x81\x85garbage\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		if err := c.ExpectEOF(0); err != nil {
			t.Fatal(err)
		}
	})
}

func TestTimeouts(t *testing.T) {
	c := dial(t, serve(t, echo), nil)
	if err := c.ExpectSilence(20 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := c.ExpectEOF(20 * time.Millisecond); err == nil {
		t.Fatal("ExpectEOF passed on an open connection")
	}
	if _, err := c.ReadFrame(20 * time.Millisecond); !isTimeout(err) {
		t.Fatalf("got %v, want a timeout", err)
	}
	// The connection is still usable after a timeout between frames.
	if err := c.WriteText("still here"); err != nil {
		t.Fatal(err)
	}
	readMessage(t, c, ws.OpText, "still here")
}

// TestReadFrameBuf reads frames into one reused buffer: a compressed (RSV1)
// frame reported as sent, a larger frame that outgrows the buffer, and an
// empty one.
func TestReadFrameBuf(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 70000)
	addr := serve(t, func(c net.Conn) {
		if _, err := ws.Upgrade(c); err != nil {
			return
		}
		ws.WriteHeader(c, ws.Header{Fin: true, Rsv: ws.Rsv(true, false, false), OpCode: ws.OpBinary, Length: 5})
		c.Write([]byte("small"))
		ws.WriteFrame(c, ws.NewBinaryFrame(big))
		ws.WriteFrame(c, ws.NewTextFrame(nil))
		io.Copy(io.Discard, c)
	})
	c := dial(t, addr, nil)
	buf := make([]byte, 0, 16)
	tests := []struct {
		op   ws.OpCode
		rsv  byte
		want []byte
	}{
		{ws.OpBinary, 4, []byte("small")},
		{ws.OpBinary, 0, big},
		{ws.OpText, 0, []byte{}},
	}
	for i, tt := range tests {
		f, err := c.ReadFrameBuf(0, buf)
		if err != nil {
			t.Fatal(i, err)
		}
		if f.Op != tt.op || f.Rsv != tt.rsv || !f.Fin || f.Masked || !bytes.Equal(f.Payload, tt.want) {
			t.Fatalf("frame %d: op %d rsv %d fin %v masked %v, %d bytes", i, f.Op, f.Rsv, f.Fin, f.Masked, len(f.Payload))
		}
		if i == 0 && &f.Payload[0] != &buf[:1][0] {
			t.Error("a payload that fits was not read into buf")
		}
		buf = f.Payload
	}
}
