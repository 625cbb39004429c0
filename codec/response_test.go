package codec

import (
	"bufio"
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestRFC6455_4_2_2_AcceptKey: Sec-WebSocket-Accept is
// base64(SHA-1(key + GUID)); the RFC's own sample (§1.3, §4.2.2) first.
func TestRFC6455_4_2_2_AcceptKey(t *testing.T) {
	cases := []struct{ key, accept string }{
		{"dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
		{"x3JJHMbDL1EzLkh9GBhXDw==", "HSmrc0sMlYUkAGmm5OPpG2HaGWk="}, // the widely quoted Wikipedia sample
		{"", hsWantAccept("")},
		{strings.Repeat("k", 64), hsWantAccept(strings.Repeat("k", 64))},
		{strings.Repeat("k", 65), hsWantAccept(strings.Repeat("k", 65))},
		{strings.Repeat("k", 1000), hsWantAccept(strings.Repeat("k", 1000))},
	}
	for _, c := range cases {
		dst := bytes.Repeat([]byte{'#'}, 30)
		PutAcceptKey(dst, []byte(c.key))
		if string(dst[:28]) != c.accept {
			t.Errorf("PutAcceptKey(%.30q) = %q, want %q", c.key, dst[:28], c.accept)
		}
		if string(dst[28:]) != "##" {
			t.Errorf("PutAcceptKey wrote past dst[:28]: %q", dst)
		}
	}
	for _, c := range hsRealClients {
		var dst [AcceptKeySize]byte
		PutAcceptKey(dst[:], []byte(c.key))
		if string(dst[:]) != hsWantAccept(c.key) {
			t.Errorf("%s: %q", c.name, dst[:])
		}
	}
	key := []byte("dGhlIHNhbXBsZSBub25jZQ==")
	var dst [AcceptKeySize]byte
	if a := testing.AllocsPerRun(100, func() { PutAcceptKey(dst[:], key) }); a != 0 {
		t.Errorf("PutAcceptKey: %v allocs", a)
	}
	defer func() {
		if recover() == nil {
			t.Error("PutAcceptKey into 27 bytes did not panic")
		}
	}()
	PutAcceptKey(make([]byte, 27), key)
}

// TestRFC6455_4_2_2_UpgradeResponse: the exact bytes of the 101 response.
func TestRFC6455_4_2_2_UpgradeResponse(t *testing.T) {
	key := []byte("dGhlIHNhbXBsZSBub25jZQ==")
	got := AppendUpgradeResponse([]byte("prefix|"), key, "chat", []HeaderField{
		{"Sec-WebSocket-Extensions", "permessage-deflate; server_no_context_takeover"},
		{"X-Server", "switchboard"},
	})
	want := "prefix|" +
		"HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
		"Sec-WebSocket-Protocol: chat\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n" +
		"X-Server: switchboard\r\n" +
		"\r\n"
	if string(got) != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}

	got = AppendUpgradeResponse(nil, key, "", nil)
	want = "HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
		"\r\n"
	if string(got) != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}

	// The response parses as an HTTP response.
	resp, err := http.ReadResponse(hsBufReader(got), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("parsed: %d %v", resp.StatusCode, resp.Header)
	}

	buf := make([]byte, 0, 512)
	extra := []HeaderField{{"Sec-WebSocket-Extensions", "permessage-deflate"}}
	if a := testing.AllocsPerRun(100, func() { buf = AppendUpgradeResponse(buf[:0], key, "chat", extra) }); a != 0 {
		t.Errorf("AppendUpgradeResponse into a reused buffer: %v allocs", a)
	}
}

// TestUpgradeResponseInjection: header fields that could split the response
// or contradict its framing are skipped; the rest are kept.
func TestUpgradeResponseInjection(t *testing.T) {
	key := []byte("dGhlIHNhbXBsZSBub25jZQ==")
	got := string(AppendUpgradeResponse(nil, key, "chat\r\nX-Evil: 1", []HeaderField{
		{"X-Ok", "fine"},
		{"X-Evil", "a\r\nSet-Cookie: stolen=1"},
		{"X-Evil-LF", "a\nb"},
		{"X-Evil-CR", "a\rb"},
		{"X-Evil-NUL", "a\x00b"},
		{"X-Evil\r\nSet-Cookie", "x"},
		{"Bad Name", "x"},
		{"", "x"},
		{"Bad:Name", "x"},
		{"connection", "close"},
		{"Upgrade", "h2c"},
		{"Sec-WebSocket-Accept", "forged"},
		{"Content-Length", "5"},
		{"Transfer-Encoding", "chunked"},
		{"X-Tab", "a\tb"},
		{"X-Utf8", "J\u00fcrgen"},
	}))
	want := "HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
		"X-Ok: fine\r\n" +
		"X-Tab: a\tb\r\n" +
		"X-Utf8: J\u00fcrgen\r\n" +
		"\r\n"
	if got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	// A protocol that is not a token is dropped; extra may then carry one.
	got = string(AppendUpgradeResponse(nil, key, "a b", []HeaderField{{"Sec-WebSocket-Protocol", "x"}}))
	if !strings.Contains(got, "\r\nSec-WebSocket-Protocol: x\r\n") || strings.Count(got, "Sec-WebSocket-Protocol") != 1 {
		t.Errorf("got %q", got)
	}
	// With a protocol set, an extra Sec-WebSocket-Protocol is dropped.
	got = string(AppendUpgradeResponse(nil, key, "chat", []HeaderField{{"Sec-WebSocket-Protocol", "x"}}))
	if strings.Count(got, "Sec-WebSocket-Protocol") != 1 || !strings.Contains(got, "Sec-WebSocket-Protocol: chat\r\n") {
		t.Errorf("got %q", got)
	}
}

func TestAppendResponse(t *testing.T) {
	got := string(AppendResponse(nil, 200, []HeaderField{{"X-A", "1"}, {"Content-Length", "999"}, {"X-B", "a\r\nb"}}, "", []byte("ok\n")))
	want := "HTTP/1.1 200 OK\r\n" +
		"X-A: 1\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Length: 3\r\n" +
		"Connection: close\r\n" +
		"\r\n" +
		"ok\n"
	if got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	got = string(AppendResponse(nil, 404, nil, "application/json", []byte(`{}`)))
	want = "HTTP/1.1 404 Not Found\r\n" +
		"Content-Type: application/json\r\n" +
		"Content-Length: 2\r\n" +
		"Connection: close\r\n" +
		"\r\n" +
		"{}"
	if got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	// Unsafe content type, unknown and out-of-range status codes.
	got = string(AppendResponse(nil, 299, nil, "text/html\r\nX: y", nil))
	if !strings.HasPrefix(got, "HTTP/1.1 299 status code 299\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 0\r\n") {
		t.Errorf("got %q", got)
	}
	for _, s := range []int{0, -1, 99, 1000} {
		if got := string(AppendResponse(nil, s, nil, "", nil)); !strings.HasPrefix(got, "HTTP/1.1 500 Internal Server Error\r\n") {
			t.Errorf("status %d: %q", s, got)
		}
	}
	// The reason phrases are net/http's.
	for code := 100; code <= 999; code++ {
		if got, want := httpStatusText(code), http.StatusText(code); got != want {
			t.Errorf("httpStatusText(%d) = %q, want %q", code, got, want)
		}
	}
	// Every response parses with net/http, body included.
	for _, code := range []int{200, 400, 426, 431, 503} {
		raw := AppendResponse(nil, code, []HeaderField{{"Retry-After", "5"}}, "", []byte("body"))
		resp, err := http.ReadResponse(hsBufReader(raw), nil)
		if err != nil {
			t.Fatalf("%d: %v", code, err)
		}
		b := make([]byte, 10)
		n, _ := resp.Body.Read(b)
		if resp.StatusCode != code || string(b[:n]) != "body" || resp.Header.Get("Retry-After") != "5" || !resp.Close {
			t.Errorf("%d: parsed %d %q %v", code, resp.StatusCode, b[:n], resp.Header)
		}
	}
	buf := make([]byte, 0, 512)
	body := []byte("hello")
	if a := testing.AllocsPerRun(100, func() { buf = AppendResponse(buf[:0], 503, nil, "", body) }); a != 0 {
		t.Errorf("AppendResponse: %v allocs", a)
	}
}

// TestRFC6455_4_4_HandshakeErrors: the response for each handshake error;
// a version mismatch names the supported version (§4.4), a 426 names the
// protocol to upgrade to (RFC 9110 §15.5.22).
func TestRFC6455_4_4_HandshakeErrors(t *testing.T) {
	cases := []struct {
		err     *Error
		status  string
		special string
	}{
		{ErrHeadTooLarge, "431 Request Header Fields Too Large", ""},
		{ErrMalformedRequest, "400 Bad Request", ""},
		{ErrMethodNotAllowed, "405 Method Not Allowed", ""},
		{ErrHTTPVersion, "505 HTTP Version Not Supported", ""},
		{ErrMissingHost, "400 Bad Request", ""},
		{ErrNotUpgrade, "426 Upgrade Required", "Upgrade: websocket\r\n"},
		{ErrMissingConnUpgrade, "400 Bad Request", ""},
		{ErrBadVersion, "426 Upgrade Required", "Sec-WebSocket-Version: 13\r\n"},
		{ErrBadKey, "400 Bad Request", ""},
	}
	for _, c := range cases {
		got := string(AppendHandshakeError(nil, c.err, nil))
		body := c.err.Reason + "\n"
		want := "HTTP/1.1 " + c.status + "\r\n" +
			c.special +
			"Content-Type: text/plain; charset=utf-8\r\n" +
			"Content-Length: " + strconv.Itoa(len(body)) + "\r\n" +
			"Connection: close\r\n" +
			"\r\n" + body
		if got != want {
			t.Errorf("%v:\ngot  %q\nwant %q", c.err, got, want)
		}
	}
	// Extra headers are kept, and cannot duplicate the special one.
	got := string(AppendHandshakeError(nil, ErrBadVersion, []HeaderField{
		{"sec-websocket-version", "8"}, {"X-Request-Id", "42"}, {"Connection", "keep-alive"}}))
	want := "HTTP/1.1 426 Upgrade Required\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"X-Request-Id: 42\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Length: " + strconv.Itoa(len(ErrBadVersion.Reason)+1) + "\r\n" +
		"Connection: close\r\n" +
		"\r\n" + ErrBadVersion.Reason + "\n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// Not a handshake error: 500.
	for _, e := range []*Error{nil, {Code: CloseProtocolError, Reason: "x"}} {
		got := string(AppendHandshakeError(nil, e, nil))
		if !strings.HasPrefix(got, "HTTP/1.1 500 Internal Server Error\r\n") || !strings.HasSuffix(got, "\r\n\r\ninternal server error\n") {
			t.Errorf("%v: %q", e, got)
		}
	}
	buf := make([]byte, 0, 512)
	if a := testing.AllocsPerRun(100, func() { buf = AppendHandshakeError(buf[:0], ErrBadVersion, nil) }); a != 0 {
		t.Errorf("AppendHandshakeError: %v allocs", a)
	}
}

func hsBufReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }
