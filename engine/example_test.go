package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
)

// An echo server: every message goes back to its sender.
func Example_echo() {
	cfg := engine.DefaultConfig("127.0.0.1:0")
	srv, err := engine.New(cfg, engine.Handlers{
		Message: func(c *engine.Conn, typ engine.MessageType, data []byte) {
			_ = c.WriteMessage(typ, data) // data is valid only during this call
		},
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = srv.Run(ctx) }()

	conn, r, _, err := dialWebSocket(srv.Addr(), "")
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	_ = writeText(conn, "hello")
	_, msg, _ := readFrame(r)
	fmt.Println(string(msg))
	// Output: hello
}

// The upgrade hook authenticates before the 101 and picks a subprotocol.
func ExampleUpgradeFunc() {
	cfg := engine.DefaultConfig("127.0.0.1:0")
	cfg.Upgrade = func(r *engine.UpgradeRequest, resp *engine.UpgradeResponse) error {
		token, ok := r.Cookie("session")
		if !ok || string(token) != "secret" {
			return &engine.HTTPError{Status: 401, Body: "login first\n"}
		}
		if r.HasProtocol("chat.v1") {
			resp.Protocol = "chat.v1"
		}
		resp.Value = "alice" // becomes Conn.Value()
		return nil
	}
	srv, _ := engine.New(cfg, engine.Handlers{
		Open: func(c *engine.Conn) { _ = c.WriteText([]byte("welcome " + c.Value().(string))) },
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = srv.Run(ctx) }()

	// Without the cookie: refused before the upgrade.
	conn, _, resp, err := dialWebSocket(srv.Addr(), "")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	conn.Close()
	fmt.Print(resp.StatusCode, " ", string(body))

	// With it: upgraded, and the connection knows who it is.
	conn, r, resp, err := dialWebSocket(srv.Addr(), "session=secret")
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	_, msg, _ := readFrame(r)
	fmt.Println(resp.StatusCode, string(msg))
	// Output:
	// 401 login first
	// 101 welcome alice
}

// Writes from any goroutine are safe; Close starts the close handshake.
func ExampleConn_Close() {
	opened := make(chan *engine.Conn, 1)
	srv, _ := engine.New(engine.DefaultConfig("127.0.0.1:0"), engine.Handlers{
		Open: func(c *engine.Conn) { opened <- c },
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = srv.Run(ctx) }()

	conn, r, _, err := dialWebSocket(srv.Addr(), "")
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	c := <-opened
	_ = c.WriteText([]byte("bye soon")) // from another goroutine: handed to the loop
	_ = c.Close(codec.CloseNormal, "done")
	_, msg, _ := readFrame(r)
	h, payload, _ := readFrame(r)
	code, reason, _ := codec.ParseClosePayload(payload)
	fmt.Println(string(msg), h.OpCode == codec.OpClose, code, string(reason))
	// Output: bye soon true 1000 done
}

// dialWebSocket is a minimal client made of net, net/http and the codec,
// enough for these examples (a real client would use a WebSocket client
// library): it sends an upgrade request, with a Cookie header when cookie
// is set, and reads the response head.
func dialWebSocket(addr, cookie string) (net.Conn, *bufio.Reader, *http.Response, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, nil, nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	if cookie != "" {
		req += "Cookie: " + cookie + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		conn.Close()
		return nil, nil, nil, err
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		conn.Close()
		return nil, nil, nil, err
	}
	return conn, r, resp, nil
}

// writeText sends one text message; a client masks what it sends.
func writeText(conn net.Conn, text string) error {
	_, err := conn.Write(codec.AppendMaskedFrame(nil, codec.OpText, true, []byte(text), [4]byte{7, 7, 7, 7}))
	return err
}

// readFrame reads one frame from the server (servers do not mask).
func readFrame(r *bufio.Reader) (codec.Header, []byte, error) {
	for n := 2; n <= 14; n++ { // a header takes 2 to 14 bytes
		p, err := r.Peek(n)
		if err != nil {
			return codec.Header{}, nil, err
		}
		h, size, err := codec.ParseHeader(p)
		if err != nil {
			return codec.Header{}, nil, err
		}
		if size == 0 {
			continue // needs more bytes
		}
		_, _ = r.Discard(size)
		payload := make([]byte, h.Length)
		_, err = io.ReadFull(r, payload)
		return h, payload, err
	}
	return codec.Header{}, nil, io.ErrUnexpectedEOF
}
