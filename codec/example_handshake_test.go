package codec_test

import (
	"fmt"
	"strings"

	"github.com/switchboard-ws/switchboard/codec"
)

// A server-side opening handshake over bytes that arrive in two reads, the
// second carrying the client's first frame right behind the head.
func ExampleParseRequest() {
	reads := []string{
		"GET /chat?room=42 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n",
		"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n" +
			"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", // masked text frame "Hello"
	}
	var (
		in      []byte // bytes received so far
		scanned int
		req     codec.Request
		out     []byte
	)
	for _, rd := range reads {
		in = append(in, rd...)
		end, s, err := codec.HeadEnd(in, scanned, codec.DefaultMaxHeadSize)
		if err != nil {
			out = codec.AppendHandshakeError(out, err.(*codec.Error), nil)
			break
		}
		if end == 0 {
			scanned = s
			fmt.Println("need more bytes")
			continue
		}
		if err := codec.ParseRequest(in[:end], &req); err != nil {
			out = codec.AppendHandshakeError(out, err.(*codec.Error), nil)
			break
		}
		if err := req.ValidateUpgrade(); err != nil {
			out = codec.AppendHandshakeError(out, err.(*codec.Error), nil)
			break
		}
		fmt.Printf("path %s, query %s\n", req.Path, req.RawQuery)
		protocol := ""
		if req.HasProtocol("chat") {
			protocol = "chat"
		}
		out = codec.AppendUpgradeResponse(out, req.Key, protocol, nil)
		fmt.Printf("%d frame bytes follow the head\n", len(in)-end)
	}
	fmt.Print(strings.ReplaceAll(string(out), "\r\n", "\n"))
	// Output:
	// need more bytes
	// path /chat, query room=42
	// 11 frame bytes follow the head
	// HTTP/1.1 101 Switching Protocols
	// Upgrade: websocket
	// Connection: Upgrade
	// Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
	// Sec-WebSocket-Protocol: chat
}

func ExampleRequest_Cookie() {
	head := []byte("GET /ws HTTP/1.1\r\nHost: example.com\r\nCookie: theme=dark; session=\"s3cr3t\"\r\n\r\n")
	var req codec.Request
	if err := codec.ParseRequest(head, &req); err != nil {
		panic(err)
	}
	session, ok := req.Cookie("session")
	fmt.Printf("%s %v\n", session, ok)
	_, ok = req.Cookie("missing")
	fmt.Println(ok)
	for name, value := range req.Cookies() {
		fmt.Printf("%s=%s\n", name, value)
	}
	// Output:
	// s3cr3t true
	// false
	// theme=dark
	// session=s3cr3t
}

func ExampleAppendHandshakeError() {
	head := []byte("GET /ws HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	var req codec.Request
	if err := codec.ParseRequest(head, &req); err != nil {
		panic(err)
	}
	err := req.ValidateUpgrade()
	fmt.Println(err)
	resp := codec.AppendHandshakeError(nil, err.(*codec.Error), []codec.HeaderField{{Name: "X-Request-Id", Value: "42"}})
	fmt.Print(strings.ReplaceAll(string(resp), "\r\n", "\n"))
	// Output:
	// websocket handshake: 426 unsupported Sec-WebSocket-Version: 13 required
	// HTTP/1.1 426 Upgrade Required
	// Sec-WebSocket-Version: 13
	// X-Request-Id: 42
	// Content-Type: text/plain; charset=utf-8
	// Content-Length: 47
	// Connection: close
	//
	// unsupported Sec-WebSocket-Version: 13 required
}
