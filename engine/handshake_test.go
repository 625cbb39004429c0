package engine

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// Handshake errors get the right HTTP status and the connection closes.
func TestHandshakeRejections(t *testing.T) {
	_, addr := startServer(t, newRecorder(), func(c *Config) {
		c.MaxHeadSize = 1024
		c.Upgrade = func(r *UpgradeRequest, resp *UpgradeResponse) error {
			if tok, _ := r.Cookie("token"); string(tok) == "bad" {
				return &HTTPError{Status: 401, Header: []codec.HeaderField{{Name: "WWW-Authenticate", Value: "Bearer"}}, Body: "no\n"}
			}
			if string(r.Path) == "/forbidden" {
				return errors.New("nope")
			}
			return nil
		}
	})
	base := func(extra string) string {
		return "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" + extra + "\r\n"
	}
	cases := []struct {
		name    string
		request string
		status  int
		header  [2]string
	}{
		{"RFC6455_4_2_2_WrongVersion", base("Sec-WebSocket-Version: 8\r\n"), 426, [2]string{"Sec-WebSocket-Version", "13"}},
		{"RFC6455_4_2_1_MissingKey", "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n", 400, [2]string{}},
		{"RFC6455_4_2_1_ShortKey", strings.Replace(base("Sec-WebSocket-Version: 13\r\n"), "dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ=", 1), 400, [2]string{}},
		{"RFC6455_4_2_1_PostMethod", strings.Replace(base("Sec-WebSocket-Version: 13\r\n"), "GET", "POST", 1), 405, [2]string{}},
		{"RFC6455_4_2_1_HTTP10", strings.Replace(base("Sec-WebSocket-Version: 13\r\n"), "HTTP/1.1", "HTTP/1.0", 1), 505, [2]string{}},
		{"HeadTooLarge", base("Sec-WebSocket-Version: 13\r\nX-Pad: " + strings.Repeat("a", 2000) + "\r\n"), 431, [2]string{}},
		{"PlainHTTP", "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 426, [2]string{"Upgrade", "websocket"}},
		{"OriginMismatch", base("Sec-WebSocket-Version: 13\r\nOrigin: https://evil.example\r\n"), 403, [2]string{}},
		{"HookRejectsWithStatus", base("Sec-WebSocket-Version: 13\r\nCookie: a=1; token=bad\r\n"), 401, [2]string{"WWW-Authenticate", "Bearer"}},
		{"HookRejectsWithError", strings.Replace(base("Sec-WebSocket-Version: 13\r\n"), "GET /", "GET /forbidden", 1), 403, [2]string{}},
		{"Garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", 400, [2]string{}},
		{"TLSHelloWithoutBlankLine", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400, [2]string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			if err := c.WriteRaw([]byte(tc.request)); err != nil {
				t.Fatal(err)
			}
			resp, _, err := c.ReadHTTPResponse(5 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.header[0] != "" && resp.Header.Get(tc.header[0]) != tc.header[1] {
				t.Fatalf("header %s = %q, want %q", tc.header[0], resp.Header.Get(tc.header[0]), tc.header[1])
			}
			if err := c.ExpectEOF(5 * time.Second); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The upgrade hook sees path, query, cookies, headers and offered
// subprotocols before the 101, and its choices reach the client and Conn.
func TestUpgradeHookAcceptsWithProtocolAndHeaders(t *testing.T) {
	rec := newRecorder()
	type seen struct{ path, query, cookie, origin, custom string }
	got := make(chan seen, 1)
	_, addr := startServer(t, rec, func(c *Config) {
		c.KeepHeaders = []string{"X-User"}
		c.AllowedOrigins = []string{"https://app.example"}
		c.Upgrade = func(r *UpgradeRequest, resp *UpgradeResponse) error {
			tok, _ := r.Cookie("session")
			got <- seen{string(r.Path), string(r.RawQuery), string(tok), string(r.Origin), string(r.Header("X-User"))}
			if r.HasProtocol("chat.v2") {
				resp.Protocol = "chat.v2"
			}
			resp.Header = []codec.HeaderField{{Name: "X-Node", Value: "n1"}, {Name: "Bad\r\nInjected", Value: "x"}}
			resp.Value = "user-7"
			return nil
		}
	})
	c := dial(t, addr, &wstest.DialOptions{Path: "/room/5?x=1&y=2", Header: http.Header{
		"Cookie":                 {"a=1; session=abc"},
		"Origin":                 {"https://app.example"},
		"X-User":                 {"ann"},
		"Sec-WebSocket-Protocol": {"chat.v1, chat.v2"},
	}})
	s := <-got
	if s != (seen{"/room/5", "x=1&y=2", "abc", "https://app.example", "ann"}) {
		t.Fatalf("hook saw %+v", s)
	}
	if p := c.Response.Header.Get("Sec-WebSocket-Protocol"); p != "chat.v2" {
		t.Fatalf("protocol %q", p)
	}
	if c.Response.Header.Get("X-Node") != "n1" || strings.Contains(string(c.ResponseHead), "Injected") {
		t.Fatalf("response head %q", c.ResponseHead)
	}
	sc := rec.nextOpen(t)
	if sc.Path() != "/room/5" || sc.RawQuery() != "x=1&y=2" || sc.Protocol() != "chat.v2" || sc.Header("x-user") != "ann" || sc.Value() != "user-7" {
		t.Fatalf("conn info: %q %q %q %q %v", sc.Path(), sc.RawQuery(), sc.Protocol(), sc.Header("x-user"), sc.Value())
	}
}

// Origin equal to Host passes (same-origin browser page); none passes.
func TestOriginSameHostAllowed(t *testing.T) {
	_, addr := startServer(t, newRecorder(), nil)
	dial(t, addr, &wstest.DialOptions{Header: http.Header{"Origin": {"http://" + addr}}})
	dial(t, addr, nil)
}

// A request dribbled byte by byte completes the handshake (well within the
// timeout) and a client that sends nothing is closed at HandshakeTimeout.
func TestHandshakeDribbleAndTimeout(t *testing.T) {
	srv, addr := startServer(t, newRecorder(), func(c *Config) { c.HandshakeTimeout = 400 * time.Millisecond })
	c := dialRaw(t, addr)
	if err := c.WriteDribble([]byte(upgradeRequest), 7, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if st, _, err := readUpgradeResponse(c); err != nil || st != 101 {
		t.Fatalf("dribbled request: %d %v", st, err)
	}
	silent := dialRaw(t, addr)
	start := time.Now()
	if err := silent.ExpectEOF(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 350*time.Millisecond || el > 3*time.Second {
		t.Fatalf("silent client closed after %v, want about 400ms", el)
	}
	// Slowloris: one byte every 50ms never completes before the timeout.
	slow := dialRaw(t, addr)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = slow.WriteDribble([]byte(upgradeRequest), 1, 50*time.Millisecond)
	}()
	if err := slow.ExpectEOF(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	_ = slow.Close()
	<-done
	waitFor(t, "handshake timeout counted", func() bool { return srv.Stats().Rejected["handshake_timeout"] >= 2 })
}
