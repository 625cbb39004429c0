package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/engine"
)

func echoServer(t *testing.T, mod func(*engine.Config)) string {
	cfg := engine.DefaultConfig("127.0.0.1:0")
	cfg.EventLoops = 1
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if mod != nil {
		mod(&cfg)
	}
	srv, err := engine.New(cfg, engine.Handlers{
		Message: func(c *engine.Conn, typ engine.MessageType, data []byte) { _ = c.WriteMessage(typ, data) },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-srv.Done() })
	return srv.Addr()
}

// syncBuffer is a bytes.Buffer safe for the loop and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// slowReader yields its lines one at a time, then EOF after a pause, so
// the echoes arrive before stdin ends.
type slowReader struct {
	lines []string
}

func (r *slowReader) Read(p []byte) (int, error) {
	time.Sleep(100 * time.Millisecond)
	if len(r.lines) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.lines[0]+"\n")
	r.lines = r.lines[1:]
	return n, nil
}

func TestInteractive(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		mod  func(*engine.Config)
		want []string // in stderr
	}{
		{"plain", nil, nil, []string{"connected to"}},
		{"headers and compression", []string{"-H", "X-Test: 1", "-H", "Authorization: Bearer t", "-compression", "no-context-takeover"},
			func(c *engine.Config) {
				c.Upgrade = func(r *engine.UpgradeRequest, resp *engine.UpgradeResponse) error {
					if string(r.Header("X-Test")) != "1" || string(r.Header("Authorization")) != "Bearer t" {
						return &engine.HTTPError{Status: 400, Body: "headers missing"}
					}
					return nil
				}
			}, []string{"(permessage-deflate)"}},
		{"subprotocol", []string{"-subprotocol", "a.v1, b.v2"},
			func(c *engine.Config) {
				c.Upgrade = func(r *engine.UpgradeRequest, resp *engine.UpgradeResponse) error {
					resp.Protocol = "b.v2"
					return nil
				}
			}, []string{"(subprotocol b.v2)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := echoServer(t, func(c *engine.Config) {
				c.Deflate.Mode = 1
				if tc.mod != nil {
					tc.mod(c)
				}
			})
			var out, errOut syncBuffer
			args := append(append([]string{}, tc.args...), "ws://"+addr+"/")
			code := run(context.Background(), args, &slowReader{lines: []string{"hello", "world"}}, &out, &errOut)
			if code != 0 {
				t.Fatalf("exit %d, stderr %s", code, errOut.String())
			}
			if out.String() != "< hello\n< world\n" {
				t.Fatalf("stdout %q", out.String())
			}
			for _, w := range append(tc.want, "websocket closed by client: 1000") {
				if !strings.Contains(errOut.String(), w) {
					t.Fatalf("stderr %q lacks %q", errOut.String(), w)
				}
			}
		})
	}
}

func TestHandshakeRefused(t *testing.T) {
	addr := echoServer(t, func(c *engine.Config) {
		c.Upgrade = func(*engine.UpgradeRequest, *engine.UpgradeResponse) error {
			return &engine.HTTPError{Status: 401, Body: "who are you"}
		}
	})
	var out, errOut syncBuffer
	if code := run(context.Background(), []string{"ws://" + addr + "/"}, strings.NewReader(""), &out, &errOut); code != 1 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(errOut.String(), "HTTP 401: who are you") {
		t.Fatalf("stderr %q", errOut.String())
	}
}

func TestMany(t *testing.T) {
	addr := echoServer(t, nil)
	var out, errOut syncBuffer
	code := run(context.Background(), []string{"-n", "300", "-c", "16", "-hold", "200ms", "ws://" + addr + "/"}, nil, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
	}
	for _, w := range []string{"connected 300, failed 0 of 300", "handshake latency p50", "still open after 200ms: 300"} {
		if !strings.Contains(out.String(), w) {
			t.Fatalf("summary %q lacks %q", out.String(), w)
		}
	}
	// Against a closed port every dial fails and the summary says why.
	out = syncBuffer{}
	code = run(context.Background(), []string{"-n", "3", "ws://127.0.0.1:1/"}, nil, &out, &errOut)
	if code != 1 || !strings.Contains(out.String(), "failed: 3 × connection refused") {
		t.Fatalf("exit %d, summary %q", code, out.String())
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{}, {"-H", "nocolon", "ws://x/"}, {"-compression", "zip", "ws://x/"}} {
		var out, errOut syncBuffer
		if code := run(context.Background(), args, nil, &out, &errOut); code != 2 {
			t.Fatalf("%q: exit %d", args, code)
		}
	}
}
