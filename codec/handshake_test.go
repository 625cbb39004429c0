package codec

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// hsCRLF turns a head written with "\n" line ends into one with CRLF.
func hsCRLF(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

// Captured-style opening handshakes from real clients: header order, case and
// values as those clients send them.
var hsRealClients = []struct {
	name, key, protocol, extensions string
	head                            []byte
}{
	{
		name:       "Chrome",
		key:        "dGhlIHNhbXBsZSBub25jZQ==",
		extensions: "permessage-deflate; client_max_window_bits",
		head: hsCRLF("GET /chat?room=1 HTTP/1.1\n" +
			"Host: localhost:8080\n" +
			"Connection: Upgrade\n" +
			"Pragma: no-cache\n" +
			"Cache-Control: no-cache\n" +
			"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\n" +
			"Upgrade: websocket\n" +
			"Origin: http://localhost:8080\n" +
			"Sec-WebSocket-Version: 13\n" +
			"Accept-Encoding: gzip, deflate, br, zstd\n" +
			"Accept-Language: en-US,en;q=0.9\n" +
			"Cookie: session=abc123; theme=dark\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n" +
			"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\n" +
			"\n"),
	},
	{
		name:       "Firefox",
		key:        "x3JJHMbDL1EzLkh9GBhXDw==",
		protocol:   "chat, superchat",
		extensions: "permessage-deflate",
		head: hsCRLF("GET /chat HTTP/1.1\n" +
			"Host: localhost:8080\n" +
			"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0\n" +
			"Accept: */*\n" +
			"Accept-Language: en-US,en;q=0.5\n" +
			"Accept-Encoding: gzip, deflate, br, zstd\n" +
			"Sec-WebSocket-Version: 13\n" +
			"Origin: http://localhost:8080\n" +
			"Sec-WebSocket-Protocol: chat, superchat\n" +
			"Sec-WebSocket-Extensions: permessage-deflate\n" +
			"Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\n" +
			"Connection: keep-alive, Upgrade\n" +
			"Sec-Fetch-Dest: empty\n" +
			"Sec-Fetch-Mode: websocket\n" +
			"Sec-Fetch-Site: same-origin\n" +
			"Pragma: no-cache\n" +
			"Cache-Control: no-cache\n" +
			"Upgrade: websocket\n" +
			"\n"),
	},
	{
		name: "Python websocket-client",
		key:  "AQIDBAUGBwgJCgsMDQ4PEA==",
		head: hsCRLF("GET /ws HTTP/1.1\n" +
			"Upgrade: websocket\n" +
			"Host: 127.0.0.1:8080\n" +
			"Origin: http://127.0.0.1:8080\n" +
			"Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\n" +
			"Sec-WebSocket-Version: 13\n" +
			"Connection: Upgrade\n" +
			"\n"),
	},
	{
		name:       "Python websockets",
		key:        "E4WSEcseoWr4csPLS2QJHA==",
		extensions: "permessage-deflate; client_max_window_bits",
		head: hsCRLF("GET /ws HTTP/1.1\n" +
			"Host: 127.0.0.1:8080\n" +
			"Upgrade: websocket\n" +
			"Connection: Upgrade\n" +
			"Sec-WebSocket-Key: E4WSEcseoWr4csPLS2QJHA==\n" +
			"Sec-WebSocket-Version: 13\n" +
			"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\n" +
			"User-Agent: Python/3.12 websockets/13.1\n" +
			"\n"),
	},
	{
		name:       "Node ws",
		key:        "uRovscZjNol/umbTt5uKmw==",
		extensions: "permessage-deflate; client_max_window_bits",
		head: hsCRLF("GET / HTTP/1.1\n" +
			"Sec-WebSocket-Version: 13\n" +
			"Sec-WebSocket-Key: uRovscZjNol/umbTt5uKmw==\n" +
			"Connection: Upgrade\n" +
			"Upgrade: websocket\n" +
			"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\n" +
			"Host: localhost:8080\n" +
			"\n"),
	},
	{
		name:     "Go gorilla",
		key:      "k1lNdKEwWKc+6B3Mc3UR8w==",
		protocol: "graphql-ws",
		head: hsCRLF("GET /graphql HTTP/1.1\n" +
			"Host: api.example.com\n" +
			"User-Agent: Go-http-client/1.1\n" +
			"Connection: Upgrade\n" +
			"Sec-WebSocket-Key: k1lNdKEwWKc+6B3Mc3UR8w==\n" +
			"Sec-WebSocket-Protocol: graphql-ws\n" +
			"Sec-WebSocket-Version: 13\n" +
			"Upgrade: websocket\n" +
			"\n"),
	},
}

// hsValid is a minimal valid upgrade request; the rule tests edit it.
const hsValid = "GET /chat HTTP/1.1\n" +
	"Host: server.example.com\n" +
	"Upgrade: websocket\n" +
	"Connection: Upgrade\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n" +
	"Origin: http://example.com\n" +
	"Sec-WebSocket-Protocol: chat, superchat\n" +
	"Sec-WebSocket-Version: 13\n" +
	"\n"

// hsEdit returns hsValid with the line starting with prefix replaced by line
// (line "" deletes it), in CRLF form.
func hsEdit(t testing.TB, prefix, line string) []byte {
	t.Helper()
	lines := strings.SplitAfter(hsValid, "\n")
	found := false
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			found = true
			if line == "" {
				lines[i] = ""
			} else {
				lines[i] = line + "\n"
			}
			break
		}
	}
	if !found {
		t.Fatalf("no line %q in hsValid", prefix)
	}
	return hsCRLF(strings.Join(lines, ""))
}

// hsParse runs HeadEnd on head (which must hold exactly one head) and
// ParseRequest on what it delimited.
func hsParse(t testing.TB, head []byte) (*Request, error) {
	t.Helper()
	end, _, err := HeadEnd(head, 0, 0)
	if err != nil {
		t.Fatalf("HeadEnd: %v", err)
	}
	if end != len(head) {
		t.Fatalf("HeadEnd = %d, want %d", end, len(head))
	}
	var r Request
	err = ParseRequest(head, &r)
	return &r, err
}

// hsWantAccept computes Sec-WebSocket-Accept independently of PutAcceptKey.
func hsWantAccept(key string) string {
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func hsCollect(seq func(func([]byte) bool)) []string {
	var out []string
	for v := range seq {
		out = append(out, string(v))
	}
	return out
}

// TestRFC6455_4_2_1_RealClients: handshakes as Chrome, Firefox, Python
// websocket-client and websockets, Node ws and gorilla send them parse,
// validate, and get the Sec-WebSocket-Accept that gobwas/ws computes too.
func TestRFC6455_4_2_1_RealClients(t *testing.T) {
	for _, c := range hsRealClients {
		t.Run(c.name, func(t *testing.T) {
			r, err := hsParse(t, c.head)
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			if err := r.ValidateUpgrade(); err != nil {
				t.Fatalf("ValidateUpgrade: %v", err)
			}
			if !r.IsUpgrade() {
				t.Error("IsUpgrade = false")
			}
			if string(r.Key) != c.key {
				t.Errorf("Key = %q, want %q", r.Key, c.key)
			}
			if got := strings.Join(hsCollect(r.Protocols()), ", "); got != c.protocol {
				t.Errorf("Protocols = %q, want %q", got, c.protocol)
			}
			if got := strings.Join(hsCollect(r.Extensions()), ", "); got != c.extensions {
				t.Errorf("Extensions = %q, want %q", got, c.extensions)
			}
			resp := AppendUpgradeResponse(nil, r.Key, "", nil)
			want := "Sec-WebSocket-Accept: " + hsWantAccept(c.key) + "\r\n"
			if !bytes.Contains(resp, []byte(want)) {
				t.Errorf("response %q lacks %q", resp, want)
			}

			// gobwas/ws, given exactly the head, must agree on the accept key.
			var out bytes.Buffer
			rw := struct {
				io.Reader
				io.Writer
			}{bytes.NewReader(c.head), &out}
			if _, err := ws.Upgrade(rw); err != nil {
				t.Fatalf("gobwas ws.Upgrade: %v", err)
			}
			if !bytes.Contains(out.Bytes(), []byte(want)) {
				t.Errorf("gobwas response %q lacks %q", out.Bytes(), want)
			}
		})
	}
}

// TestRFC6455_4_2_1_RequestLine: "GET SP request-target SP HTTP/1.1 CRLF".
func TestRFC6455_4_2_1_RequestLine(t *testing.T) {
	cases := []struct {
		line string
		err  error
		path string
		raw  string // "<nil>" for a nil RawQuery
	}{
		{"GET /chat HTTP/1.1", nil, "/chat", "<nil>"},
		{"GET / HTTP/1.1", nil, "/", "<nil>"},
		{"GET /a/b?x=1&y=%20 HTTP/1.1", nil, "/a/b", "x=1&y=%20"},
		{"GET /a? HTTP/1.1", nil, "/a", ""},
		{"GET /a?b?c HTTP/1.1", nil, "/a", "b?c"},
		{"GET http://h.example/a?q HTTP/1.1", nil, "http://h.example/a", "q"},
		{"GET /caf\xc3\xa9 HTTP/1.1", nil, "/caf\xc3\xa9", "<nil>"}, // obs-text tolerated
		{"GET /chat HTTP/1.0", ErrHTTPVersion, "", ""},
		{"GET /chat HTTP/2.0", ErrHTTPVersion, "", ""},
		{"GET /chat HTTP/0.9", ErrHTTPVersion, "", ""},
		{"GET /chat http/1.1", ErrMalformedRequest, "", ""},
		{"GET /chat HTTP/1.1 ", ErrMalformedRequest, "", ""},
		{"GET /chat HTTP/11", ErrMalformedRequest, "", ""},
		{"GET /chat HTTP/1.10", ErrMalformedRequest, "", ""},
		{"GET /chat", ErrMalformedRequest, "", ""},
		{"GET  /chat HTTP/1.1", ErrMalformedRequest, "", ""},
		{"GET /chat  HTTP/1.1", ErrMalformedRequest, "", ""},
		{" GET /chat HTTP/1.1", ErrMalformedRequest, "", ""},
		{"GET\t/chat HTTP/1.1", ErrMalformedRequest, "", ""},
		{"GET /ch\x00at HTTP/1.1", ErrMalformedRequest, "", ""},
		{"GET /ch\x7fat HTTP/1.1", ErrMalformedRequest, "", ""},
		{"GET /chat HTTP/1.1\r", ErrMalformedRequest, "", ""},
		{"G(T /chat HTTP/1.1", ErrMalformedRequest, "", ""},
		{"", ErrMalformedRequest, "", ""},
	}
	for _, c := range cases {
		t.Run(c.line, func(t *testing.T) {
			head := []byte(c.line + "\r\nHost: h\r\n\r\n")
			var r Request
			err := ParseRequest(head, &r)
			if err != c.err {
				t.Fatalf("ParseRequest = %v, want %v", err, c.err)
			}
			if err != nil {
				if r.Method != nil || r.Head() != nil || r.Header("Host") != nil {
					t.Error("Request not zero after a failed parse")
				}
				return
			}
			if string(r.Path) != c.path {
				t.Errorf("Path = %q, want %q", r.Path, c.path)
			}
			raw := string(r.RawQuery)
			if r.RawQuery == nil {
				raw = "<nil>"
			}
			if raw != c.raw {
				t.Errorf("RawQuery = %q, want %q", raw, c.raw)
			}
			if got := string(r.Path); r.RawQuery != nil {
				got += "?" + string(r.RawQuery)
				if got != string(r.URI) {
					t.Errorf("Path?RawQuery = %q, URI %q", got, r.URI)
				}
			}
		})
	}
}

// TestRFC9112_HeaderSyntax: the structural rules ParseRequest enforces on
// header lines (RFC 9112 §2.2, §3.2, §5; RFC 9110 §5.5).
func TestRFC9112_HeaderSyntax(t *testing.T) {
	cases := []struct {
		name string
		head string
		err  error
	}{
		{"no headers", "GET / HTTP/1.1\r\n\r\n", nil},
		{"empty value", "GET / HTTP/1.1\r\nX-Empty:\r\nHost: h\r\n\r\n", nil},
		{"tab OWS", "GET / HTTP/1.1\r\nHost:\th\t\r\n\r\n", nil},
		{"obs-text value", "GET / HTTP/1.1\r\nX-Name: J\xc3\xbcrgen\r\n\r\n", nil},
		{"odd token name", "GET / HTTP/1.1\r\nX!#$%&'*+-.^_`|~1: v\r\n\r\n", nil},
		{"colon in value", "GET / HTTP/1.1\r\nHost: h:80\r\n\r\n", nil},
		{"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", ErrMalformedRequest},
		{"no colon", "GET / HTTP/1.1\r\nHost h\r\n\r\n", ErrMalformedRequest},
		{"empty name", "GET / HTTP/1.1\r\n: h\r\n\r\n", ErrMalformedRequest},
		{"obs-fold", "GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n", ErrMalformedRequest},
		{"obs-fold tab", "GET / HTTP/1.1\r\nX-A: a\r\n\tb\r\n\r\n", ErrMalformedRequest},
		{"leading space line", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", ErrMalformedRequest},
		{"bare LF line end", "GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", ErrMalformedRequest},
		{"bare CR in value", "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", ErrMalformedRequest},
		{"NUL in value", "GET / HTTP/1.1\r\nHost: h\x00\r\n\r\n", ErrMalformedRequest},
		{"control in value", "GET / HTTP/1.1\r\nHost: h\x1b[0m\r\n\r\n", ErrMalformedRequest},
		{"DEL in value", "GET / HTTP/1.1\r\nHost: h\x7f\r\n\r\n", ErrMalformedRequest},
		{"bad byte in name", "GET / HTTP/1.1\r\nHo(st: h\r\n\r\n", ErrMalformedRequest},
		{"non-ASCII name", "GET / HTTP/1.1\r\nH\xc3\xb6st: h\r\n\r\n", ErrMalformedRequest},
		{"two Host lines", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", ErrMalformedRequest},
		{"bytes after the head", "GET / HTTP/1.1\r\nHost: a\r\n\r\nX", ErrMalformedRequest},
		{"two heads", "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n\r\n", ErrMalformedRequest},
		{"no final blank line", "GET / HTTP/1.1\r\nHost: a\r\n", ErrMalformedRequest},
		{"LF LF end", "GET / HTTP/1.1\nHost: a\n\n", ErrMalformedRequest},
		{"leading CRLF", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", ErrMalformedRequest},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\n", ErrHTTPVersion},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r Request
			if err := ParseRequest([]byte(c.head), &r); err != c.err {
				t.Fatalf("ParseRequest = %v, want %v", err, c.err)
			}
		})
	}
}

// hsRuleCase is one request and the ValidateUpgrade result it must give.
type hsRuleCase struct {
	name   string
	prefix string // line of hsValid to replace
	line   string // replacement; "" deletes the line
	err    error
}

func hsRunRules(t *testing.T, cases []hsRuleCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := hsParse(t, hsEdit(t, c.prefix, c.line))
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			if err := r.ValidateUpgrade(); err != c.err {
				t.Fatalf("ValidateUpgrade = %v, want %v", err, c.err)
			}
		})
	}
}

// TestRFC6455_4_2_1_Method: "An HTTP/1.1 or higher GET request".
func TestRFC6455_4_2_1_Method(t *testing.T) {
	hsRunRules(t, []hsRuleCase{
		{"GET", "GET ", "GET /chat HTTP/1.1", nil},
		{"POST", "GET ", "POST /chat HTTP/1.1", ErrMethodNotAllowed},
		{"HEAD", "GET ", "HEAD /chat HTTP/1.1", ErrMethodNotAllowed},
		{"CONNECT", "GET ", "CONNECT /chat HTTP/1.1", ErrMethodNotAllowed},
		{"lower-case get", "GET ", "get /chat HTTP/1.1", ErrMethodNotAllowed}, // methods are case-sensitive
	})
}

// TestRFC6455_4_2_1_Host: "A |Host| header field containing the server's
// authority".
func TestRFC6455_4_2_1_Host(t *testing.T) {
	hsRunRules(t, []hsRuleCase{
		{"present", "Host:", "Host: server.example.com:8080", nil},
		{"lower-case name", "Host:", "host: server.example.com", nil},
		{"missing", "Host:", "", ErrMissingHost},
		{"empty", "Host:", "Host:   ", ErrMissingHost},
	})
	r, err := hsParse(t, hsEdit(t, "Host:", "HOST:  server.example.com:8080  "))
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Host) != "server.example.com:8080" {
		t.Errorf("Host = %q", r.Host)
	}
}

// TestRFC6455_4_2_1_Upgrade: "An |Upgrade| header field containing the value
// "websocket", treated as an ASCII case-insensitive value".
func TestRFC6455_4_2_1_Upgrade(t *testing.T) {
	hsRunRules(t, []hsRuleCase{
		{"websocket", "Upgrade:", "Upgrade: websocket", nil},
		{"WebSocket", "Upgrade:", "Upgrade: WebSocket", nil},
		{"WEBSOCKET", "Upgrade:", "upgrade: WEBSOCKET", nil},
		{"in a list", "Upgrade:", "Upgrade: h2c, websocket", nil},
		{"missing", "Upgrade:", "", ErrNotUpgrade},
		{"other protocol", "Upgrade:", "Upgrade: h2c", ErrNotUpgrade},
		{"prefix only", "Upgrade:", "Upgrade: websock", ErrNotUpgrade},
		{"substring", "Upgrade:", "Upgrade: websockets", ErrNotUpgrade},
		{"empty", "Upgrade:", "Upgrade:", ErrNotUpgrade},
	})
}

// TestRFC6455_4_2_1_Connection: "A |Connection| header field that includes the
// token "Upgrade", treated as an ASCII case-insensitive value".
func TestRFC6455_4_2_1_Connection(t *testing.T) {
	hsRunRules(t, []hsRuleCase{
		{"Chrome", "Connection:", "Connection: Upgrade", nil},
		{"Firefox", "Connection:", "Connection: keep-alive, Upgrade", nil},
		{"lower-case", "Connection:", "connection: upgrade", nil},
		{"no spaces", "Connection:", "Connection: keep-alive,UPGRADE,close", nil},
		{"empty elements", "Connection:", "Connection: ,, upgrade ,", nil},
		{"several lines", "Connection:", "Connection: keep-alive\nConnection: Upgrade", nil},
		{"missing", "Connection:", "", ErrMissingConnUpgrade},
		{"keep-alive only", "Connection:", "Connection: keep-alive", ErrMissingConnUpgrade},
		{"not a token match", "Connection:", "Connection: upgraded", ErrMissingConnUpgrade},
		{"inside a token", "Connection:", "Connection: keep-alive-upgrade", ErrMissingConnUpgrade},
	})
}

// TestRFC6455_4_2_1_Version: "A |Sec-WebSocket-Version| header field, with a
// value of 13".
func TestRFC6455_4_2_1_Version(t *testing.T) {
	hsRunRules(t, []hsRuleCase{
		{"13", "Sec-WebSocket-Version:", "Sec-WebSocket-Version: 13", nil},
		{"13 with OWS", "Sec-WebSocket-Version:", "sec-websocket-version:\t13 ", nil},
		{"missing", "Sec-WebSocket-Version:", "", ErrBadVersion},
		{"8", "Sec-WebSocket-Version:", "Sec-WebSocket-Version: 8", ErrBadVersion},
		{"list", "Sec-WebSocket-Version:", "Sec-WebSocket-Version: 13, 8", ErrBadVersion},
		{"013", "Sec-WebSocket-Version:", "Sec-WebSocket-Version: 013", ErrBadVersion},
		{"twice", "Sec-WebSocket-Version:", "Sec-WebSocket-Version: 13\nSec-WebSocket-Version: 13", ErrBadVersion},
	})
}

// TestRFC6455_4_2_1_Key: "A |Sec-WebSocket-Key| header field with a
// base64-encoded value that, when decoded, is 16 bytes in length".
func TestRFC6455_4_2_1_Key(t *testing.T) {
	hsRunRules(t, []hsRuleCase{
		{"RFC sample", "Sec-WebSocket-Key:", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", nil},
		{"with OWS", "Sec-WebSocket-Key:", "Sec-WebSocket-Key:   dGhlIHNhbXBsZSBub25jZQ==\t", nil},
		{"+ and /", "Sec-WebSocket-Key:", "Sec-WebSocket-Key: +/+/+/+/+/+/+/+/+/+/+w==", nil},
		{"missing", "Sec-WebSocket-Key:", "", ErrBadKey},
		{"empty", "Sec-WebSocket-Key:", "Sec-WebSocket-Key:", ErrBadKey},
		{"15 bytes", "Sec-WebSocket-Key:", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA", ErrBadKey},
		{"17 bytes", "Sec-WebSocket-Key:", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=", ErrBadKey},
		{"unpadded", "Sec-WebSocket-Key:", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ", ErrBadKey},
		{"URL alphabet", "Sec-WebSocket-Key:", "Sec-WebSocket-Key: -_-_-_-_-_-_-_-_-_-_-w==", ErrBadKey},
		{"bad char", "Sec-WebSocket-Key:", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j*Q==", ErrBadKey},
		{"inner space", "Sec-WebSocket-Key:", "Sec-WebSocket-Key: dGhlIHNhbXBs ZSBub25jZQ==", ErrBadKey},
		{"too long", "Sec-WebSocket-Key:", "Sec-WebSocket-Key: " + strings.Repeat("A", 4000), ErrBadKey},
		{"twice", "Sec-WebSocket-Key:", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", ErrBadKey},
	})
}

// TestRFC6455_4_2_1_Order: ValidateUpgrade reports the first failing rule in
// the order of §4.2.1.
func TestRFC6455_4_2_1_Order(t *testing.T) {
	all := hsCRLF("POST /chat HTTP/1.1\nSec-WebSocket-Version: 8\nSec-WebSocket-Key: x\n\n")
	steps := []struct {
		add string
		err error
	}{
		{"", ErrMethodNotAllowed},
		{"GET", ErrMissingHost},
		{"Host: h\r\n", ErrNotUpgrade},
		{"Upgrade: websocket\r\n", ErrMissingConnUpgrade},
		{"Connection: Upgrade\r\n", ErrBadVersion},
		{"Sec-WebSocket-Version: 13\r\n", ErrBadKey},
		{"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", nil},
	}
	head := string(all)
	for i, s := range steps {
		switch {
		case s.add == "GET":
			head = strings.Replace(head, "POST", "GET", 1)
		case strings.HasPrefix(s.add, "Sec-WebSocket-"):
			name := s.add[:strings.IndexByte(s.add, ':')]
			start := strings.Index(head, name)
			end := start + strings.Index(head[start:], "\r\n") + 2
			head = head[:start] + s.add + head[end:]
		case s.add != "":
			head = strings.Replace(head, "\r\n", "\r\n"+s.add, 1)
		}
		r, err := hsParse(t, []byte(head))
		if err != nil {
			t.Fatalf("step %d: ParseRequest: %v", i, err)
		}
		if err := r.ValidateUpgrade(); err != s.err {
			t.Fatalf("step %d: ValidateUpgrade = %v, want %v\n%s", i, err, s.err, head)
		}
	}
}

// TestRFC6455_4_2_1_PlainRequest: requests that are not upgrades parse, so the
// caller can serve them (health checks) or answer 426.
func TestRFC6455_4_2_1_PlainRequest(t *testing.T) {
	r, err := hsParse(t, hsCRLF("GET /healthz HTTP/1.1\nHost: h\nUser-Agent: curl/8.5.0\nAccept: */*\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r.IsUpgrade() {
		t.Error("IsUpgrade = true")
	}
	if string(r.Path) != "/healthz" || string(r.Method) != "GET" {
		t.Errorf("Method %q Path %q", r.Method, r.Path)
	}
	if err := r.ValidateUpgrade(); err != ErrNotUpgrade {
		t.Errorf("ValidateUpgrade = %v, want ErrNotUpgrade", err)
	}
	var zero Request
	if err := zero.ValidateUpgrade(); err != ErrMethodNotAllowed {
		t.Errorf("zero Request: ValidateUpgrade = %v", err)
	}
	if zero.Header("Host") != nil || zero.HasProtocol("x") || zero.IsUpgrade() {
		t.Error("zero Request reports headers")
	}
	for range zero.Cookies() {
		t.Error("zero Request yields cookies")
	}
}

// TestRFC6455_4_2_1_Origin: the |Origin| header field is exposed as sent.
func TestRFC6455_4_2_1_Origin(t *testing.T) {
	r, err := hsParse(t, hsCRLF(hsValid))
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Origin) != "http://example.com" {
		t.Errorf("Origin = %q", r.Origin)
	}
	r, err = hsParse(t, hsEdit(t, "Origin:", ""))
	if err != nil {
		t.Fatal(err)
	}
	if r.Origin != nil {
		t.Errorf("Origin = %q, want nil", r.Origin)
	}
}

// TestRFC6455_4_2_1_Protocols: |Sec-WebSocket-Protocol| lists, possibly over
// several lines.
func TestRFC6455_4_2_1_Protocols(t *testing.T) {
	head := hsCRLF("GET / HTTP/1.1\nHost: h\n" +
		"Sec-WebSocket-Protocol: chat, superchat\n" +
		"X-Other: v1.a\n" +
		"sec-websocket-protocol:  ,v2.b ,, mqtt\t\n" +
		"Sec-WebSocket-Protocol:\n\n")
	r, err := hsParse(t, head)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(hsCollect(r.Protocols()), "|")
	if want := "chat|superchat|v2.b|mqtt"; got != want {
		t.Errorf("Protocols = %q, want %q", got, want)
	}
	for p, want := range map[string]bool{"chat": true, "superchat": true, "v2.b": true, "mqtt": true,
		"Chat": false, "v1.a": false, "": false, "cha": false} {
		if r.HasProtocol(p) != want {
			t.Errorf("HasProtocol(%q) = %v", p, !want)
		}
	}
	// Stopping early works.
	n := 0
	for range r.Protocols() {
		n++
		break
	}
	if n != 1 {
		t.Errorf("break: %d iterations", n)
	}
}

// TestRFC6455_4_2_1_Extensions: |Sec-WebSocket-Extensions| offers with their
// parameters; commas inside quoted parameter values do not split.
func TestRFC6455_4_2_1_Extensions(t *testing.T) {
	head := hsCRLF("GET / HTTP/1.1\nHost: h\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, permessage-deflate\n" +
		"Sec-WebSocket-Extensions: x-foo; a=\"1,2\\\",3\"; b, x-bar\n\n")
	r, err := hsParse(t, head)
	if err != nil {
		t.Fatal(err)
	}
	got := hsCollect(r.Extensions())
	want := []string{"permessage-deflate; client_max_window_bits", "permessage-deflate", `x-foo; a="1,2\",3"; b`, "x-bar"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Extensions = %q, want %q", got, want)
	}
}

func TestRequestHeader(t *testing.T) {
	head := hsCRLF("GET / HTTP/1.1\nHost: h\n" +
		"X-Multi: one\n" +
		"x-multi:  two, three \n" +
		"X-Empty:\n" +
		"X-Ws: \t a b \t\n" +
		"\n")
	r, err := hsParse(t, head)
	if err != nil {
		t.Fatal(err)
	}
	if v := r.Header("X-MULTI"); string(v) != "one" {
		t.Errorf("Header(X-MULTI) = %q", v)
	}
	if v := r.Header("x-ws"); string(v) != "a b" {
		t.Errorf("Header(x-ws) = %q", v)
	}
	if v := r.Header("X-Empty"); v == nil || len(v) != 0 {
		t.Errorf("Header(X-Empty) = %#v, want empty non-nil", v)
	}
	if v := r.Header("X-Absent"); v != nil {
		t.Errorf("Header(X-Absent) = %q", v)
	}
	if v := r.Header("X-Multi "); v != nil {
		t.Errorf("Header with a space = %q", v)
	}
	if got := strings.Join(hsCollect(r.HeaderValues("X-Multi")), "|"); got != "one|two, three" {
		t.Errorf("HeaderValues = %q", got)
	}
	if !bytes.Equal(r.Head(), head) {
		t.Error("Head() differs")
	}
}

func TestRequestCookies(t *testing.T) {
	head := hsCRLF("GET / HTTP/1.1\nHost: h\n" +
		"Cookie: a=1; b=two words ;c=\"quoted\"; =skip; flag; d=x=y\n" +
		"cookie: a=second; e=\n" +
		"\n")
	r, err := hsParse(t, head)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for n, v := range r.Cookies() {
		got = append(got, string(n)+"="+string(v))
	}
	want := "a=1|b=two words|c=quoted|flag=|d=x=y|a=second|e="
	if strings.Join(got, "|") != want {
		t.Errorf("Cookies = %q, want %q", strings.Join(got, "|"), want)
	}
	for _, c := range []struct {
		name, val string
		ok        bool
	}{{"a", "1", true}, {"c", "quoted", true}, {"e", "", true}, {"flag", "", true}, {"A", "", false}, {"z", "", false}} {
		v, ok := r.Cookie(c.name)
		if ok != c.ok || string(v) != c.val {
			t.Errorf("Cookie(%q) = %q, %v; want %q, %v", c.name, v, ok, c.val, c.ok)
		}
	}
}

// TestHandshakeZeroAllocs: parsing, validating and reading headers allocate
// nothing.
func TestHandshakeZeroAllocs(t *testing.T) {
	head := hsRealClients[1].head // Firefox: protocols, extensions, many lines
	var r Request
	sink := 0
	allocs := testing.AllocsPerRun(200, func() {
		end, _, err := HeadEnd(head, 0, 0)
		if err != nil || end != len(head) {
			t.Fatal("HeadEnd", end, err)
		}
		if err := ParseRequest(head[:end], &r); err != nil {
			t.Fatal(err)
		}
		if err := r.ValidateUpgrade(); err != nil {
			t.Fatal(err)
		}
		sink += len(r.Header("User-Agent")) + len(r.Header("sec-fetch-mode"))
		for p := range r.Protocols() {
			sink += len(p)
		}
		for e := range r.Extensions() {
			sink += len(e)
		}
		for v := range r.HeaderValues("Accept") {
			sink += len(v)
		}
		if r.HasProtocol("superchat") {
			sink++
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocs per handshake, want 0", allocs)
	}
	head = hsRealClients[0].head // Chrome: cookies
	if err := ParseRequest(head, &r); err != nil {
		t.Fatal(err)
	}
	allocs = testing.AllocsPerRun(200, func() {
		for n, v := range r.Cookies() {
			sink += len(n) + len(v)
		}
		if v, ok := r.Cookie("theme"); ok {
			sink += len(v)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocs reading cookies, want 0", allocs)
	}
	if sink == 0 {
		t.Error("nothing read")
	}
}

// TestHeadEndTrailingBytes: bytes behind the blank line (frames sent in the
// same packet) are never part of the head.
func TestHeadEndTrailingBytes(t *testing.T) {
	head := hsCRLF(hsValid)
	frame := []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58} // masked "Hello"
	p := append(append([]byte{}, head...), frame...)
	p = append(p, "\r\n\r\n"...) // a later CRLFCRLF must not matter
	end, scanned, err := HeadEnd(p, 0, 0)
	if err != nil || end != len(head) || scanned != end {
		t.Fatalf("HeadEnd = %d, %d, %v; want %d", end, scanned, err, len(head))
	}
	var r Request
	if err := ParseRequest(p[:end], &r); err != nil {
		t.Fatal(err)
	}
	if err := r.ValidateUpgrade(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p[end:end+len(frame)], frame) {
		t.Error("frame bytes changed")
	}
}

// TestHeadEndEverySplit: every prefix of a head is need-more; with the from
// hint carried along, the complete head gives the same end as in one piece.
func TestHeadEndEverySplit(t *testing.T) {
	for _, c := range hsRealClients {
		head := c.head
		p := append(append([]byte{}, head...), 0x88, 0x80, 1, 2, 3, 4)
		for i := 0; i < len(head); i++ {
			end, scanned, err := HeadEnd(p[:i], 0, 0)
			if end != 0 || err != nil || scanned != i {
				t.Fatalf("%s: prefix %d: %d, %d, %v", c.name, i, end, scanned, err)
			}
		}
		// Grow byte by byte and by random-ish steps, passing scanned along.
		for _, step := range []int{1, 2, 3, 5, 7, 64} {
			from := 0
			var end int
			for n := 0; ; n = min(n+step, len(p)) {
				var err error
				end, from, err = HeadEnd(p[:n], from, 0)
				if err != nil {
					t.Fatal(err)
				}
				if end != 0 {
					if n < len(head) {
						t.Fatalf("%s step %d: end %d at %d bytes", c.name, step, end, n)
					}
					break
				}
				if n == len(p) {
					break
				}
			}
			if end != len(head) {
				t.Fatalf("%s step %d: end = %d, want %d", c.name, step, end, len(head))
			}
		}
	}
}

// TestHeadEndFromHint: a CRLFCRLF straddling two calls is found, wherever it
// is split, and bytes before from are not rescanned.
func TestHeadEndFromHint(t *testing.T) {
	head := hsCRLF(hsValid)
	for cut := len(head) - 4; cut < len(head); cut++ {
		end, scanned, err := HeadEnd(head[:cut], 0, 0)
		if end != 0 || err != nil || scanned != cut {
			t.Fatalf("cut %d: %d %d %v", cut, end, scanned, err)
		}
		end, _, err = HeadEnd(head, scanned, 0)
		if end != len(head) || err != nil {
			t.Fatalf("cut %d: end %d, %v; want %d", cut, end, err, len(head))
		}
	}
	// from is trusted: a terminator wholly before from-3 is not looked at.
	p := append(append([]byte{}, head...), "more"...)
	if end, _, _ := HeadEnd(p, len(p), 0); end != 0 {
		t.Errorf("from past the end: end = %d", end)
	}
	// Out-of-range hints are clamped.
	if end, _, _ := HeadEnd(head, -5, 0); end != len(head) {
		t.Errorf("negative from: end = %d", end)
	}
	if end, scanned, err := HeadEnd(head, 1<<30, 0); end != 0 || scanned != len(head) || err != nil {
		t.Errorf("huge from: %d %d %v", end, scanned, err)
	}
}

// TestHeadEndTooLarge: a head over the cap is ErrHeadTooLarge (431) whether
// no end is found within the cap or the end lies beyond it.
func TestHeadEndTooLarge(t *testing.T) {
	if ErrHeadTooLarge.Status != 431 {
		t.Fatalf("ErrHeadTooLarge.Status = %d", ErrHeadTooLarge.Status)
	}
	big := func(n int) []byte { // a head of exactly n bytes
		pre := "GET / HTTP/1.1\r\nX-Pad: "
		return []byte(pre + strings.Repeat("a", n-len(pre)-4) + "\r\n\r\n")
	}
	// Default cap.
	if end, _, err := HeadEnd(big(DefaultMaxHeadSize), 0, 0); end != DefaultMaxHeadSize || err != nil {
		t.Errorf("head of exactly the cap: %d, %v", end, err)
	}
	if end, _, err := HeadEnd(big(DefaultMaxHeadSize+1), 0, 0); end != 0 || !errors.Is(err, ErrHeadTooLarge) {
		t.Errorf("end beyond the cap: %d, %v", end, err)
	}
	noEnd := bytes.Repeat([]byte("a"), DefaultMaxHeadSize)
	if end, scanned, err := HeadEnd(noEnd, 0, -1); end != 0 || err != nil || scanned != len(noEnd) {
		t.Errorf("cap bytes, no end: %d %d %v", end, scanned, err)
	}
	noEnd = append(noEnd, 'a')
	if end, _, err := HeadEnd(noEnd, 0, 0); end != 0 || err != ErrHeadTooLarge {
		t.Errorf("no end within the cap: %d, %v", end, err)
	}
	// Growing input with the hint reaches the error too.
	from := 0
	var err error
	for n := 1; n <= len(noEnd) && err == nil; n += 100 {
		_, from, err = HeadEnd(noEnd[:n], from, 0)
	}
	if _, _, err = HeadEnd(noEnd, from, 0); err != ErrHeadTooLarge {
		t.Errorf("growing: %v", err)
	}

	// A custom cap.
	const limit = 256
	for _, c := range []struct {
		n   int
		end int
		err error
	}{{limit - 1, limit - 1, nil}, {limit, limit, nil}, {limit + 1, 0, ErrHeadTooLarge}, {4 * limit, 0, ErrHeadTooLarge}} {
		p := big(c.n)
		end, _, err := HeadEnd(p, 0, limit)
		if end != c.end || err != c.err {
			t.Errorf("cap %d, head %d: %d, %v; want %d, %v", limit, c.n, end, err, c.end, c.err)
		}
		// A head within the cap followed by more bytes is fine.
		p = append(p, bytes.Repeat([]byte{0x81}, 2*limit)...)
		end, _, err = HeadEnd(p, 0, limit)
		if end != c.end || err != c.err {
			t.Errorf("cap %d, head %d + frames: %d, %v; want %d, %v", limit, c.n, end, err, c.end, c.err)
		}
	}
	if end, _, err := HeadEnd(big(limit+1), 0, limit+1); end != limit+1 || err != nil {
		t.Errorf("custom cap + 1: %d, %v", end, err)
	}
}

// TestHeadEndRequiresCRLF: LF LF does not end a head.
func TestHeadEndRequiresCRLF(t *testing.T) {
	for _, s := range []string{"GET / HTTP/1.1\nHost: h\n\n", "GET / HTTP/1.1\r\nHost: h\n\r\n", "GET / HTTP/1.1\r\n\r"} {
		if end, scanned, err := HeadEnd([]byte(s), 0, 0); end != 0 || err != nil || scanned != len(s) {
			t.Errorf("%q: %d %d %v", s, end, scanned, err)
		}
	}
	if end, _, _ := HeadEnd(nil, 0, 0); end != 0 {
		t.Error("nil input")
	}
}

// TestRFC9110_5_5_FieldValueBytes: every byte value at every offset of a
// field value (the 8-byte fast path included): controls other than HTAB, and
// DEL, are rejected; VCHAR, SP, HTAB and obs-text are kept.
func TestRFC9110_5_5_FieldValueBytes(t *testing.T) {
	var r Request
	for c := 0; c < 256; c++ {
		ok := c == '\t' || c >= 0x20 && c != 0x7f
		for pos := 0; pos < 20; pos++ {
			v := []byte(strings.Repeat("v", 24))
			v[pos] = byte(c)
			head := append([]byte("GET / HTTP/1.1\r\nX-V: "), v...)
			head = append(head, "\r\nHost: h\r\n\r\n"...)
			err := ParseRequest(head, &r)
			if ok != (err == nil) {
				t.Fatalf("byte %#x at %d: %v", c, pos, err)
			}
			if ok && string(r.Header("X-V")) != string(httpTrimOWS(v)) {
				t.Fatalf("byte %#x at %d: Header = %q", c, pos, r.Header("X-V"))
			}
		}
	}
}
