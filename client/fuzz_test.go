package client

import (
	"bytes"
	"testing"
)

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 401 Unauthorized\r\nContent-Length: 3\r\n\r\nno\n"))
	f.Add([]byte("HTTP/1.0 200\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 101 X\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover, x\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 1010 \r\n\r\n"))
	f.Add([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
		"Sec-WebSocket-Protocol: chat.v2\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits=10\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		end := headEnd(data)
		if end == 0 {
			return
		}
		r, err := parseResponse(data[:end])
		if err != nil {
			return
		}
		if r.status < 100 || r.status > 999 {
			t.Fatalf("status %d", r.status)
		}
		for _, f := range r.fields {
			if !validToken(f[0]) || bytes.ContainsAny(f[1], "\r\n\x00") {
				t.Fatalf("bad field %q: %q", f[0], f[1])
			}
		}
		r.elements("Sec-WebSocket-Extensions", func(e []byte) {
			if len(e) == 0 {
				t.Fatal("empty element")
			}
		})
		_ = r.httpHeader()
		// What a hostile server's 101 can do to the negotiation: never
		// panic, and agree only to what was offered.
		for _, comp := range []Compression{CompressionOff, CompressionNoContextTakeover, CompressionContextTakeover} {
			cfg := &dialConfig{compression: comp, protocols: []string{"chat.v1", "chat.v2"}}
			var s session
			if err := cfg.checkUpgrade(&r, "dGhlIHNhbXBsZSBub25jZQ==", &s); err != nil {
				continue
			}
			if s.pmdOK && comp == CompressionOff {
				t.Fatal("deflate agreed without an offer")
			}
			if s.pmdOK && comp == CompressionNoContextTakeover && !s.pmd.ServerNoContextTakeover {
				t.Fatal("server context takeover accepted against the offer")
			}
			if s.protocol != "" && s.protocol != "chat.v1" && s.protocol != "chat.v2" {
				t.Fatalf("protocol %q not offered", s.protocol)
			}
		}
	})
}

func TestParseResponse(t *testing.T) {
	for _, tc := range []struct {
		in     string
		status int
		ok     bool
	}{
		{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", 101, true},
		{"HTTP/1.1 404\r\n\r\n", 404, true},
		{"HTTP/1.0 403 Forbidden\r\n\r\n", 403, true},
		{"HTTP/2 101 X\r\n\r\n", 0, false},
		{"HTTP/1.1 10x OK\r\n\r\n", 0, false},
		{"HTTP/1.1 099 OK\r\n\r\n", 0, false},
		{"HTTP/1.1 101 OK\r\nbad header\r\n\r\n", 0, false},
		{"HTTP/1.1 101 OK\r\nBad Name: v\r\n\r\n", 0, false},
		{"HTTP/1.1 101OK\r\n\r\n", 0, false},
		{"SSH-2.0-OpenSSH\r\n\r\n", 0, false},
	} {
		r, err := parseResponse([]byte(tc.in))
		if (err == nil) != tc.ok || (tc.ok && r.status != tc.status) {
			t.Errorf("%q: status %d err %v", tc.in, r.status, err)
		}
	}
	r, _ := parseResponse([]byte("HTTP/1.1 101 OK\r\nConnection: keep-alive, Upgrade\r\nX: \"a, b\", c\r\n\r\n"))
	var got []string
	r.elements("connection", func(e []byte) { got = append(got, string(e)) })
	r.elements("x", func(e []byte) { got = append(got, string(e)) })
	if want := []string{"keep-alive", "Upgrade", `"a, b"`, "c"}; len(got) != 4 || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("elements %q, want %q", got, want)
	}
}
