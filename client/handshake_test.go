package client

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
)

func TestHandshakeOptions(t *testing.T) {
	cfg := engine.DefaultConfig("127.0.0.1:0")
	cfg.EventLoops = 1
	cfg.Upgrade = func(r *engine.UpgradeRequest, resp *engine.UpgradeResponse) error {
		if string(r.Header("Authorization")) != "Bearer t0ken" {
			return &engine.HTTPError{Status: 401, Body: "no token\n"}
		}
		sess, _ := r.Cookie("session")
		other, _ := r.Cookie("theme")
		if r.HasProtocol("chat.v2") {
			resp.Protocol = "chat.v2"
		}
		resp.Value = string(sess) + "/" + string(other) + "/" + string(r.RawQuery)
		return nil
	}
	_, addr := startServer(t, cfg, engine.Handlers{
		Open: func(c *engine.Conn) { _ = c.WriteText([]byte(c.Value().(string))) },
	})
	cl := newClient(t)
	tests := []struct {
		name     string
		d        func() *Dialer
		status   int    // expected HandshakeError status, 0: success
		wantMsg  string // first message on success
		wantBody string
		protocol string
	}{
		{name: "no token", status: 401, wantBody: "no token\n"},
		{name: "token, cookies, subprotocol",
			d: func() *Dialer {
				return &Dialer{Header: http.Header{"Authorization": {"Bearer t0ken"}},
					Cookies:      []*http.Cookie{{Name: "session", Value: "abc"}, {Name: "theme", Value: "dark"}},
					Subprotocols: []string{"chat.v1", "chat.v2"}}
			},
			wantMsg: "abc/dark/x=1", protocol: "chat.v2"},
		{name: "no subprotocol agreed",
			d: func() *Dialer {
				return &Dialer{Header: http.Header{"Authorization": {"Bearer t0ken"}}, Subprotocols: []string{"chat.v1"}}
			},
			wantMsg: "//x=1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &Dialer{}
			if tc.d != nil {
				d = tc.d()
			}
			d.Client = cl
			rec := newRecorder()
			c, err := d.Dial(ctx10(t), "ws://"+addr+"/path?x=1", rec)
			if tc.status != 0 {
				var he *HandshakeError
				if !errors.As(err, &he) || he.Status != tc.status || string(he.Body) != tc.wantBody {
					t.Fatalf("err = %#v, want HandshakeError %d %q", err, tc.status, tc.wantBody)
				}
				if he.Header.Get("Content-Type") == "" {
					t.Fatal("headers of the refusal not kept")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := rec.next(t); got != tc.wantMsg {
				t.Fatalf("server saw %q, want %q", got, tc.wantMsg)
			}
			if c.Protocol() != tc.protocol {
				t.Fatalf("protocol %q, want %q", c.Protocol(), tc.protocol)
			}
			_ = c.Close(codec.CloseNormal, "")
			rec.closed(t)
		})
	}
}

func TestDialerRejectsReservedHeaders(t *testing.T) {
	for _, h := range []string{"Host", "Sec-WebSocket-Key", "Upgrade", "Sec-WebSocket-Extensions"} {
		d := Dialer{Header: http.Header{h: {"x"}}}
		if _, err := d.Dial(context.Background(), "ws://127.0.0.1:1/", nil); err == nil || !strings.Contains(err.Error(), "set by the Dialer") {
			t.Fatalf("%s: err = %v", h, err)
		}
	}
	d := Dialer{Header: http.Header{"X-Evil": {"a\r\nInjected: 1"}}}
	if _, err := d.Dial(context.Background(), "ws://127.0.0.1:1/", nil); err == nil {
		t.Fatal("header injection accepted")
	}
}

// rawServer accepts one connection at a time and runs fn on it.
func rawServer(t *testing.T, fn func(c net.Conn, r *bufio.Reader, key string)) string {
	t.Helper()
	return rawServerReq(t, func(c net.Conn, r *bufio.Reader, req *http.Request) {
		fn(c, r, req.Header.Get("Sec-WebSocket-Key"))
	})
}

// rawServerReq is rawServer handing fn the whole request.
func rawServerReq(t *testing.T, fn func(c net.Conn, r *bufio.Reader, req *http.Request)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				req, err := http.ReadRequest(r)
				if err != nil {
					return
				}
				fn(c, r, req)
			}()
		}
	}()
	return ln.Addr().String()
}

func accept(key string) string {
	var b [codec.AcceptKeySize]byte
	codec.PutAcceptKey(b[:], []byte(key))
	return string(b[:])
}

func TestHandshakeBadResponses(t *testing.T) {
	cl := newClient(t)
	tests := []struct {
		name   string
		resp   func(key string) string
		reason string
		status int
	}{
		{"bad accept", func(string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAA\r\n\r\n"
		}, "bad Sec-WebSocket-Accept", 101},
		{"no upgrade", func(k string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept(k) + "\r\n\r\n"
		}, "missing Upgrade: websocket", 101},
		{"unoffered subprotocol", func(k string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept(k) + "\r\nSec-WebSocket-Protocol: evil\r\n\r\n"
		}, "server chose a subprotocol we did not offer", 101},
		{"unoffered extension", func(k string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept(k) + "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
		}, "server answered permessage-deflate we did not offer (or twice)", 101},
		{"503 with body", func(string) string {
			return "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 5\r\n\r\nbusy!"
		}, "unexpected status", 503},
		{"body until EOF", func(string) string {
			return "HTTP/1.0 403 Forbidden\r\n\r\ngo away"
		}, "unexpected status", 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := rawServer(t, func(c net.Conn, _ *bufio.Reader, key string) {
				_, _ = c.Write([]byte(tc.resp(key)))
			})
			_, err := (&Dialer{Client: cl}).Dial(ctx10(t), "ws://"+addr+"/", nil)
			var he *HandshakeError
			if !errors.As(err, &he) || he.Status != tc.status || he.Reason != tc.reason {
				t.Fatalf("err = %v, want status %d reason %q", err, tc.status, tc.reason)
			}
			if tc.status == 503 && (string(he.Body) != "busy!" || he.Header.Get("Retry-After") != "1") {
				t.Fatalf("body %q header %v", he.Body, he.Header)
			}
			if tc.status == 403 && string(he.Body) != "go away" {
				t.Fatalf("body %q", he.Body)
			}
		})
	}
}

func TestHandshakeTimeout(t *testing.T) {
	addr := rawServer(t, func(c net.Conn, _ *bufio.Reader, _ string) { time.Sleep(3 * time.Second) })
	start := time.Now()
	_, err := (&Dialer{Client: newClient(t), HandshakeTimeout: 300 * time.Millisecond}).Dial(context.Background(), "ws://"+addr+"/", nil)
	if err == nil || time.Since(start) > 2500*time.Millisecond {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}

// Frames that arrive in the same packet as the 101 are delivered.
func TestFramesRightAfterUpgrade(t *testing.T) {
	addr := rawServer(t, func(c net.Conn, _ *bufio.Reader, key string) {
		resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept(key) + "\r\n\r\n"
		b := append([]byte(resp), codec.AppendFrame(nil, codec.OpText, []byte("first"))...)
		b = codec.AppendFrame(b, codec.OpText, []byte("second"))
		third := codec.AppendFrame(nil, codec.OpText, []byte("third"))
		b = append(b, third[:1]...) // a header split across reads
		_, _ = c.Write(b)
		time.Sleep(100 * time.Millisecond)
		_, _ = c.Write(third[1:])
		time.Sleep(2 * time.Second)
	})
	rec := newRecorder()
	c, err := (&Dialer{Client: newClient(t)}).Dial(ctx10(t), "ws://"+addr+"/", rec)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Abort()
	for _, want := range []string{"first", "second", "third"} {
		if got := rec.next(t); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}
